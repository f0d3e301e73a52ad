// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The assists decide from KVM's bytes and the privilege level only, and touch the vCPU only when they complete. */
class EmulationAssistsTest {
    /** Records what an assist does to the vCPU. */
    static final class RecordingVcpu implements VcpuControl {
        final List<String> actions = new ArrayList<>();

        @Override
        public void skip(int length) {
            actions.add("skip " + length);
        }

        @Override
        public void injectException(int vector) {
            actions.add("inject " + vector);
        }
    }

    private static FailedInstruction at(int cpl, int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return new FailedInstruction(0, 0xffff_ffff_8100_0000L, cpl, b);
    }

    @Test
    void int3InTheKernelMovesPastItAndDeliversABreakpoint() {
        EmulationAssists assists = EmulationAssists.standard();
        RecordingVcpu vcpu = new RecordingVcpu();
        // KVM reports a window of bytes: the int3, then whatever follows it.
        assertTrue(assists.complete(at(0, 0xcc, 0x48, 0x89, 0xe5), vcpu));
        assertEquals(List.of("skip 1", "inject 3"), vcpu.actions);
        assertEquals(Map.of("int3", 1L, "fwait", 0L), assists.counts());
    }

    @Test
    void fwaitInTheKernelIsSkipped() {
        EmulationAssists assists = EmulationAssists.standard();
        RecordingVcpu vcpu = new RecordingVcpu();
        assertTrue(assists.complete(at(0, 0x9b, 0xdb, 0xe3), vcpu)); // fwait, then fninit: only the fwait is done
        assertEquals(List.of("skip 1"), vcpu.actions);
        assertEquals(1L, assists.counts().get("fwait"));
    }

    @Test
    void anythingElseIsRefusedAndTheVcpuLeftAlone() {
        EmulationAssists assists = EmulationAssists.standard();
        RecordingVcpu vcpu = new RecordingVcpu();
        assertFalse(assists.complete(at(3, 0xcc), vcpu), "int3 in user mode");
        assertFalse(assists.complete(at(3, 0x9b), vcpu), "fwait in user mode");
        assertFalse(assists.complete(at(0), vcpu), "no bytes reported");
        assertFalse(assists.complete(at(0, 0x0f, 0x01, 0xd0), vcpu), "xgetbv");
        assertFalse(assists.complete(at(0, 0x66, 0xcc), vcpu), "a prefix before int3 is not decoded, so not done");
        assertFalse(assists.complete(at(0, 0xcd, 0x03), vcpu), "int 3 (two bytes) is another instruction");
        assertFalse(assists.complete(at(0, 0xf3, 0x0f, 0xb8, 0xc0), vcpu), "popcnt");
        assertEquals(List.of(), vcpu.actions);
        assertEquals(Map.of("int3", 0L, "fwait", 0L), assists.counts());
    }

    @Test
    void noneRefusesEverythingAndAnAssistOfYourOwnComesAfterTheStandardOnes() {
        RecordingVcpu vcpu = new RecordingVcpu();
        assertFalse(EmulationAssists.none().complete(at(0, 0xcc), vcpu));
        EmulationAssist hlt = new EmulationAssist() {
            @Override
            public String kind() {
                return "hlt";
            }

            @Override
            public boolean complete(FailedInstruction instruction, VcpuControl control) {
                if (!instruction.inKernel() || !instruction.startsWith(0xf4)) {
                    return false;
                }
                control.skip(1);
                return true;
            }
        };
        EmulationAssists mine = EmulationAssists.standard().with(hlt);
        assertTrue(mine.complete(at(0, 0xf4), vcpu));
        assertTrue(mine.complete(at(0, 0xcc), vcpu));
        assertEquals(List.of("skip 1", "skip 1", "inject 3"), vcpu.actions);
        assertEquals(List.of("int3", "fwait", "hlt"), List.copyOf(mine.counts().keySet()));
    }

    @Test
    void anAssistThatThrowsCountsAsRefusing() {
        EmulationAssist broken = new EmulationAssist() {
            @Override
            public String kind() {
                return "broken";
            }

            @Override
            public boolean complete(FailedInstruction instruction, VcpuControl control) {
                throw new IllegalStateException("bug in an assist");
            }
        };
        EmulationAssist halfWay = new EmulationAssist() {
            @Override
            public String kind() {
                return "half-way";
            }

            @Override
            public boolean complete(FailedInstruction instruction, VcpuControl control) {
                control.skip(1);
                throw new IllegalStateException("bug after moving RIP");
            }
        };
        RecordingVcpu vcpu = new RecordingVcpu();
        assertFalse(EmulationAssists.none().with(broken).complete(at(0, 0xcc), vcpu));
        assertFalse(EmulationAssists.none().with(halfWay).complete(at(0, 0xcc), vcpu));
        assertEquals(List.of(), vcpu.actions, "an assist that failed half way changed nothing");
        assertTrue(
                EmulationAssists.none().with(broken).with(new Int3Assist()).complete(at(0, 0xcc), vcpu),
                "the next one is tried");
    }

    @Test
    void aFailedInstructionIsAtMost15BytesAtAPrivilegeLevelOf0To3() {
        assertThrows(IllegalArgumentException.class, () -> new FailedInstruction(0, 0, 4, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> new FailedInstruction(0, 0, 0, new byte[16]));
        byte[] bytes = {(byte) 0xcc};
        FailedInstruction instruction = new FailedInstruction(0, 0, 0, bytes);
        bytes[0] = 0;
        assertTrue(instruction.startsWith(0xcc), "the bytes were copied");
    }

    /** Whatever KVM reports, an assist completes only a kernel int3 or fwait, and skips exactly its one byte. */
    @Property(tries = 2000)
    void onlyAKernelInt3OrFwaitIsEverCompleted(
            @ForAll @Size(max = 15) byte[] bytes, @ForAll @IntRange(max = 3) int cpl) {
        RecordingVcpu vcpu = new RecordingVcpu();
        boolean completed = EmulationAssists.standard().complete(new FailedInstruction(1, 0x1000, cpl, bytes), vcpu);
        int first = bytes.length == 0 ? -1 : bytes[0] & 0xff;
        boolean expected = cpl == 0 && (first == 0xcc || first == 0x9b);
        assertEquals(expected, completed);
        assertEquals(
                !completed ? List.of() : first == 0xcc ? List.of("skip 1", "inject 3") : List.of("skip 1"),
                vcpu.actions);
    }
}
