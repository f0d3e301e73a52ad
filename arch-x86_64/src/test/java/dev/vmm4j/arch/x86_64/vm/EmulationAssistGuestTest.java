// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.arch.x86_64.X86_64Arch;
import dev.vmm4j.arch.x86_64.assist.EmulationAssists;
import dev.vmm4j.guests.Guests;
import dev.vmm4j.vmm.ExitStatus;
import dev.vmm4j.vmm.VirtualMachine;
import dev.vmm4j.vmm.VirtualMachineBuilder;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * int3 and fwait in a guest kernel, on KVM: with the standard assists the guest's own breakpoint handler runs and fwait
 * passes, whether KVM ran them (hardware) or vmm4j completed them (an emulating KVM, where the counts say so); without
 * assists an emulating KVM's failure ends the VM as before, naming the instruction.
 */
@RequiresKvm
class EmulationAssistGuestTest {
    @TempDir
    Path dir;

    private ExitStatus run(EmulationAssists assists, ByteArrayOutputStream console) throws Exception {
        Path guest = Files.write(dir.resolve("assists.elf"), Guests.ASSISTS.elf());
        try (VirtualMachine vm = VirtualMachine.builder()
                .memory(VirtualMachineBuilder.MiB(16))
                .kernel(guest)
                .serial(console)
                .arch(new X86_64Arch(assists))
                .build()) {
            return vm.run();
        }
    }

    @Test
    void theGuestsBreakpointHandlerRunsAndFwaitPasses() throws Exception {
        EmulationAssists assists = EmulationAssists.standard();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        assertInstanceOf(ExitStatus.GuestReset.class, run(assists, console), console.toString());
        assertTrue(
                console.toString().contains("assists: int3 trapped to the guest's handler 1 time(s)\n"),
                console.toString());
        assertTrue(console.toString().contains("assists: fwait passed\n"), console.toString());
        long int3 = assists.counts().get("int3");
        long fwait = assists.counts().get("fwait");
        assertTrue(
                (int3 == 1 && fwait == 1) || (int3 == 0 && fwait == 0),
                "each was completed by vmm4j once (emulating KVM) or never (hardware KVM): " + assists.counts());
    }

    @Test
    void withoutAssistsAnEmulatingKvmEndsTheVmAtTheInt3() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        ExitStatus status = run(EmulationAssists.none(), console);
        if (status instanceof ExitStatus.InternalError error) {
            assertEquals(1, error.suberror(), "an emulation failure");
            assertEquals((byte) 0xcc, error.instruction()[0], "at the int3: " + status.description());
            assertTrue(
                    status.description().startsWith("KVM internal error 1 on vcpu 0 at rip 0x"), status.description());
        } else {
            // Hardware KVM runs both: the guest ends as with the assists.
            assertInstanceOf(ExitStatus.GuestReset.class, status, console.toString());
            assertTrue(console.toString().contains("assists: fwait passed"), console.toString());
        }
    }
}
