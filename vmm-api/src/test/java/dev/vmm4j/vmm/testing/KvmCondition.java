// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import dev.vmm4j.vmm.kvm.Kvm;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The extension behind {@link RequiresKvm}. */
public final class KvmCondition implements ExecutionCondition, BeforeAllCallback {
    /** Set by CI: a kvm test must then run, and fails where KVM is missing. */
    public static final String REQUIRE_KVM = "vmm4j.requireKvm";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (Kvm.isAvailable()) {
            return ConditionEvaluationResult.enabled("KVM is available");
        }
        if (Boolean.getBoolean(REQUIRE_KVM)) {
            return ConditionEvaluationResult.enabled(
                    "KVM is required (-D" + REQUIRE_KVM + "=true): the test will fail");
        }
        return ConditionEvaluationResult.disabled("needs /dev/kvm: "
                + Kvm.unavailabilityCause().map(Throwable::getMessage).orElse("unknown reason"));
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (Boolean.getBoolean(REQUIRE_KVM)) {
            Kvm.ensureAvailable();
        }
    }
}
