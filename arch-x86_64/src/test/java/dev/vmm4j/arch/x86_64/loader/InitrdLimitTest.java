// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.boot.X86Layout;
import dev.vmm4j.kvm.bindings.boot_params;
import dev.vmm4j.kvm.bindings.setup_header;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bzImage's initrd_addr_max bounds where X86_64Arch puts the initrd, whatever RAM lies above. */
@RequiresKvm
class InitrdLimitTest {
    @Test
    void initrdEndsBelowTheKernelsCeiling(@TempDir Path dir) throws Exception {
        byte[] image = TestImages.bzImage(TestImages.gzip(TestImages.elf()));
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(0x22c, 0x2ff_ffff); // initrd_addr_max: 48 MiB - 1
        Path kernel = Files.write(dir.resolve("bzImage"), image);
        Path initrd = Files.write(dir.resolve("initrd"), new byte[8192]);
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(64))
                .kernel(kernel)
                .initrd(initrd)
                .serial(new ByteArrayOutputStream())
                .build()) {
            long hdr = X86Layout.ZERO_PAGE + boot_params.hdr$offset();
            long address = Integer.toUnsignedLong(vm.memory().getInt(hdr + setup_header.ramdisk_image$offset()));
            assertEquals(0x300_0000L - 8192, address, "as high as the kernel allows, not at the top of RAM");
            assertTrue(address >= TestImages.DATA_ADDRESS + TestImages.DATA_MEMSZ);
        }
    }
}
