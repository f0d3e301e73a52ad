// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The floor under a Java VMM's start-up, for {@code benchmarks/measure-startup}: a JVM that does only what any of them
 * must, through the FFM API and nothing of vmm4j's: {@code open("/dev/kvm")} and {@code KVM_CREATE_VM}, two downcall
 * handles. With {@code shapes N} it also makes N downcall handles of different signatures and prints how long they
 * took: each signature costs the JVM a generated class and its method-handle adapters, which an AOT cache of JDK 25
 * does not keep.
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar dev.vmm4j.benchmarks.FfmKvmFloor
 * [shapes N]}. Exit status 0 when KVM made a VM, 1 otherwise.
 */
public final class FfmKvmFloor {
    private static final long KVM_CREATE_VM = 0xae01;
    private static final int O_RDWR_CLOEXEC = 0x2 | 0x80000;

    private FfmKvmFloor() {}

    /**
     * Opens KVM and makes a VM; with {@code shapes N}, first makes N downcall handles of distinct signatures.
     *
     * @param args nothing, or {@code shapes N}
     * @throws Throwable if a downcall fails to link or throws
     */
    public static void main(String[] args) throws Throwable {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        if (args.length == 2 && args[0].equals("shapes")) {
            int shapes = Integer.parseInt(args[1]);
            long start = System.nanoTime();
            makeShapes(linker, libc.findOrThrow("getpid"), shapes);
            System.out.printf("%d downcall signatures: %.1f ms%n", shapes, (System.nanoTime() - start) / 1e6);
        }
        Linker.Option errno = Linker.Option.captureCallState("errno");
        MethodHandle open = linker.downcallHandle(
                libc.findOrThrow("open"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                errno,
                Linker.Option.firstVariadicArg(2));
        MethodHandle ioctl = linker.downcallHandle(
                libc.findOrThrow("ioctl"),
                FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                errno,
                Linker.Option.firstVariadicArg(2));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
            int kvm = (int) open.invokeExact(state, arena.allocateFrom("/dev/kvm"), O_RDWR_CLOEXEC);
            int vm = kvm < 0 ? -1 : (int) ioctl.invokeExact(state, kvm, KVM_CREATE_VM, 0L);
            if (vm < 0) {
                System.err.println("FfmKvmFloor: could not open /dev/kvm and create a VM");
                System.exit(1);
            }
        }
    }

    /** Makes {@code count} handles, each with its own signature: three arguments, each an int, a long or a pointer. */
    private static void makeShapes(Linker linker, MemorySegment function, int count) {
        MemoryLayout[] kinds = {ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS};
        if (count < 0 || count > kinds.length * kinds.length * kinds.length) {
            throw new IllegalArgumentException("shapes: 0 to 27, not " + count);
        }
        for (int i = 0; i < count; i++) {
            linker.downcallHandle(
                    function,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, kinds[i % 3], kinds[i / 3 % 3], kinds[i / 9]),
                    Linker.Option.captureCallState("errno"));
        }
    }
}
