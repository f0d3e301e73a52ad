// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR: a {@link BalloonDevice}'s target or actual size changed: the host set a new target, or the guest's driver wrote
 * a new {@code actual}.
 */
@Name("dev.vmm4j.BalloonChange")
@Label("Balloon Change")
@Category({"vmm4j", "virtio", "Balloon"})
@Description("The balloon's target (set by the host) or actual size (written by the guest's driver) changed")
@StackTrace(false)
final class BalloonChangeEvent extends jdk.jfr.Event {
    @Label("Changed")
    @Description("target: the host asked for a new size; actual: the guest's driver reported a new size")
    String changed;

    @Label("Target")
    @Description("The memory the host asks the guest to give back")
    @DataAmount
    long targetBytes;

    @Label("Actual")
    @Description("The memory the guest's driver says the balloon holds")
    @DataAmount
    long actualBytes;

    @Label("Previous")
    @Description("The changed value's value before")
    @DataAmount
    long previousBytes;
}
