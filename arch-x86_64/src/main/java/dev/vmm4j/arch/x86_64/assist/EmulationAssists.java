// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.assist;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The assists an x86_64 machine tries, in order, when KVM's emulator fails on an instruction, and how often each
 * completed one. Each kind is logged once (at INFO) the first time it completes an instruction.
 *
 * <pre>{@code
 * VirtualMachine.builder().arch(new X86_64Arch(EmulationAssists.none()))          // no assists: fail as KVM does
 * VirtualMachine.builder().arch(new X86_64Arch(EmulationAssists.standard().with(myAssist)))
 * }</pre>
 *
 * <p><b>Thread safety:</b> safe for concurrent use; one instance may serve every vCPU of several VMs, and then counts
 * for all of them.
 */
public final class EmulationAssists {
    private static final System.Logger LOG = System.getLogger(EmulationAssists.class.getName());

    private final List<EmulationAssist> assists;
    private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();

    private EmulationAssists(List<EmulationAssist> assists) {
        this.assists = List.copyOf(assists);
    }

    /**
     * {@return the assists Linux needs on a KVM that emulates ring 0: {@link Int3Assist} and {@link FwaitAssist}}
     * Neither ever runs where KVM runs guest code in hardware, so they are the default everywhere.
     */
    public static EmulationAssists standard() {
        return new EmulationAssists(List.of(new Int3Assist(), new FwaitAssist()));
    }

    /** {@return no assists: every emulation failure ends the VM, as KVM reported it} */
    public static EmulationAssists none() {
        return new EmulationAssists(List.of());
    }

    /**
     * {@return these assists and then {@code assist}, counted afresh}
     *
     * @param assist tried after these, on the failures none of them completes
     */
    public EmulationAssists with(EmulationAssist assist) {
        Objects.requireNonNull(assist, "assist");
        List<EmulationAssist> more = new ArrayList<>(assists);
        more.add(assist);
        return new EmulationAssists(more);
    }

    /** {@return the assists, in the order they are tried} */
    public List<EmulationAssist> assists() {
        return assists;
    }

    /**
     * Tries each assist on {@code instruction} until one completes it, then does to {@code vcpu} what that one asked
     * for.
     * An assist's requests are held until it returns true, so one that refuses or throws
     * half way (a failure that is logged) leaves the vCPU untouched for the next.
     *
     * @param instruction the failure, shown to each assist in turn
     * @param vcpu the failing vCPU; only the assist that completes the instruction changes it, once it has returned
     * @return whether one did
     */
    public boolean complete(FailedInstruction instruction, VcpuControl vcpu) {
        Objects.requireNonNull(instruction, "instruction");
        Objects.requireNonNull(vcpu, "vcpu");
        for (EmulationAssist assist : assists) {
            Requests requests = new Requests();
            boolean completed;
            try {
                completed = assist.complete(instruction, requests);
            } catch (RuntimeException e) {
                LOG.log(
                        System.Logger.Level.WARNING,
                        "emulation assist " + assist.kind() + " failed on " + instruction,
                        e);
                continue;
            }
            if (completed) {
                requests.applyTo(vcpu);
                if (counts.computeIfAbsent(assist.kind(), kind -> new AtomicLong())
                                .getAndIncrement()
                        == 0) {
                    LOG.log(
                            System.Logger.Level.INFO,
                            () -> "KVM could not emulate " + assist.kind() + " (" + instruction
                                    + "); vmm4j completes it, here and from now on (logged once per kind)");
                }
                return true;
            }
        }
        return false;
    }

    /** What one assist asked of the vCPU, checked as it asks and done only once it has completed the instruction. */
    private static final class Requests implements VcpuControl {
        private int skipped;
        private int vector = -1;

        @Override
        public void skip(int length) {
            if (length < 1 || skipped + length > FailedInstruction.MAX_LENGTH) {
                throw new IllegalArgumentException(
                        "an assist may skip 1 to 15 bytes in all, not " + (skipped + length));
            }
            skipped += length;
        }

        @Override
        public void injectException(int vector) {
            if (vector < 0 || vector > 31 || this.vector >= 0) {
                throw new IllegalArgumentException(
                        "an assist may inject one exception, of vector 0 to 31, not " + vector);
            }
            this.vector = vector;
        }

        void applyTo(VcpuControl vcpu) {
            if (skipped > 0) {
                vcpu.skip(skipped);
            }
            if (vector >= 0) {
                vcpu.injectException(vector);
            }
        }
    }

    /** {@return how many instructions each kind of assist completed so far, by kind} */
    public Map<String, Long> counts() {
        Map<String, Long> snapshot = new LinkedHashMap<>();
        for (EmulationAssist assist : assists) {
            AtomicLong count = counts.get(assist.kind());
            snapshot.put(assist.kind(), count == null ? 0 : count.get());
        }
        return snapshot;
    }

    @Override
    public String toString() {
        return "EmulationAssists" + counts();
    }
}
