// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block.qemu;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Tests against qemu-img and qemu-io (Debian's qemu-utils, which .ci/run installs). Without them they are skipped
 * with the reason, unless {@code vmm4j.requireQemuImg} is true (CI): then they run and fail, naming what is missing.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("qemu")
@ExtendWith(RequiresQemuImg.Condition.class)
@interface RequiresQemuImg {
    /** Decides once per run. */
    final class Condition implements ExecutionCondition {
        private static final boolean AVAILABLE = QemuImg.available();

        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (AVAILABLE) {
                return ConditionEvaluationResult.enabled("qemu-img and qemu-io are installed");
            }
            if (Boolean.getBoolean("vmm4j.requireQemuImg")) {
                return ConditionEvaluationResult.enabled(
                        "qemu-img is required here (vmm4j.requireQemuImg) but missing: the test will fail");
            }
            return ConditionEvaluationResult.disabled(
                    "qemu-img and qemu-io are not installed (apt-get install qemu-utils)");
        }
    }
}
