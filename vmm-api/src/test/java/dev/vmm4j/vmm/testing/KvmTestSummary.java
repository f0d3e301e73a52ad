// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import java.util.HashSet;
import java.util.Set;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestTag;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints one line at the end of each test run that has {@code kvm}-tagged tests: how many ran, passed, failed and
 * were skipped, and why they were skipped. Registered through {@code META-INF/services}, so every module whose tests
 * see this class on their class path prints it.
 */
public final class KvmTestSummary implements TestExecutionListener {
    private static final TestTag KVM = TestTag.create("kvm");

    private TestPlan plan;
    private int passed;
    private int failed;
    private int aborted;
    private final Set<String> skipped = new HashSet<>();
    private String skipReason = "";

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        if (!isKvm(id)) {
            return;
        }
        if (id.isTest()) {
            skipped.add(id.getUniqueId());
        }
        plan.getDescendants(id).stream().filter(TestIdentifier::isTest).forEach(t -> skipped.add(t.getUniqueId()));
        skipReason = reason;
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (!id.isTest() || !isKvm(id)) {
            return;
        }
        switch (result.getStatus()) {
            case SUCCESSFUL -> passed++;
            case FAILED -> failed++;
            case ABORTED -> aborted++;
        }
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        int ran = passed + failed + aborted;
        if (ran == 0 && skipped.isEmpty()) {
            return;
        }
        String line = "vmm4j kvm tests: " + ran + " ran (" + passed + " passed, " + failed + " failed, " + aborted
                + " aborted), " + skipped.size() + " skipped" + (skipped.isEmpty() ? "" : ": " + skipReason);
        System.out.println(line);
    }

    private boolean isKvm(TestIdentifier id) {
        if (id.getTags().contains(KVM)) {
            return true;
        }
        return plan != null && plan.getParent(id).map(this::isKvm).orElse(false);
    }
}
