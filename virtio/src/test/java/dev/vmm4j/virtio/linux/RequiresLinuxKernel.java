// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import dev.vmm4j.vmm.testing.RequiresKvm;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks the Linux guest suite: tests that boot the microvm test kernel on KVM (tags {@code linux} and {@code kvm}).
 * Skipped with the reason where the kernel is missing or stale, unless {@code -Dvmm4j.requireLinuxKernel=true} (as CI
 * sets it), where they run and fail. {@code -DexcludedGroups=linux} leaves the suite out of a run.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("linux")
@RequiresKvm
@ExtendWith(RequiresLinuxKernel.Condition.class)
public @interface RequiresLinuxKernel {
    /** Enables the suite where the kernel is there and current, or where CI requires it. */
    final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Optional<String> problem = LinuxTestKernel.problem();
            if (problem.isEmpty()) {
                return ConditionEvaluationResult.enabled("Linux test kernel at " + LinuxTestKernel.path());
            }
            if (Boolean.getBoolean("vmm4j.requireLinuxKernel")) {
                return ConditionEvaluationResult.enabled(
                        "required (-Dvmm4j.requireLinuxKernel=true), so it fails: " + problem.get());
            }
            return ConditionEvaluationResult.disabled(problem.get());
        }
    }
}
