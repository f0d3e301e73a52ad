// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks a test that needs Debian's stock kernel, which {@code scripts/fetch-test-kernel} downloads (it is never
 * committed). Skipped with the reason where it is absent, unless {@code -Dvmm4j.requireTestKernel=true} (as CI sets
 * it), where the test runs and fails.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(RequiresTestKernel.Condition.class)
public @interface RequiresTestKernel {
    public final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Path kernel = TestKernel.path();
            if (Files.isRegularFile(kernel) || Boolean.getBoolean("vmm4j.requireTestKernel")) {
                return ConditionEvaluationResult.enabled("test kernel at " + kernel);
            }
            return ConditionEvaluationResult.disabled(
                    "no test kernel at " + kernel + ": run scripts/fetch-test-kernel");
        }
    }
}
