// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import java.nio.file.Path;

/** Where the tests find Debian's stock kernel (see {@link RequiresTestKernel}). */
public final class TestKernel {
    private TestKernel() {}

    /** {@return {@code -Dvmm4j.testKernel}, or else ~/.cache/vmm4j/vmlinuz-debian-amd64} */
    public static Path path() {
        String configured = System.getProperty("vmm4j.testKernel", "");
        return configured.isBlank()
                ? Path.of(System.getProperty("user.home"), ".cache", "vmm4j", "vmlinuz-debian-amd64")
                : Path.of(configured);
    }
}
