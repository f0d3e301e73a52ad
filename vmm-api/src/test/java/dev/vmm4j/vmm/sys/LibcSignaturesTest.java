// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link Libc} writes each C signature out, as asking jextract for its descriptor would make a second, unused
 * downcall handle per function (the calls every VM makes go through {@code syscall(2)} instead). These tests hold
 * those signatures to jextract's, which come from the headers: each holder class named after a function
 * ({@code EpollCtl} is {@code epoll_ctl}) must take and return what jextract's handle does, after the call state.
 */
class LibcSignaturesTest {
    /**
     * Holders that differ from jextract on purpose: a buffer passed as a plain address (no slice object on the hot
     * path), and variadic functions and ones whose jextract signature takes a union, which jextract gives no plain
     * handle for.
     */
    private static final Set<String> DIFFERENT_ON_PURPOSE = Set.of(
            "PreadAtAddress",
            "PwriteAtAddress",
            "ReadAtAddress",
            "SendAtAddress",
            "Fcntl",
            "Bind",
            "Connect",
            "Accept4");

    @Test
    void everyHolderTakesAndReturnsWhatTheHeadersDeclare() throws Throwable {
        List<String> checked = new ArrayList<>();
        for (Class<?> holder : Libc.class.getDeclaredClasses()) {
            Field field = handleField(holder);
            if (field == null || DIFFERENT_ON_PURPOSE.contains(holder.getSimpleName())) {
                continue;
            }
            String function = cName(holder.getSimpleName());
            // Through LinuxHeaders: jextract declares the method in a package-private superclass.
            MethodHandle jextract = MethodHandles.publicLookup()
                    .findStatic(LinuxHeaders.class, function + "$handle", MethodType.methodType(MethodHandle.class));
            MethodType declared = ((MethodHandle) jextract.invoke()).type();
            field.setAccessible(true);
            MethodType ours = ((MethodHandle) field.get(null)).type();
            assertEquals(MemorySegment.class, ours.parameterType(0), holder.getSimpleName() + ": the call state first");
            assertEquals(declared, ours.dropParameterTypes(0, 1), "the signature of " + function);
            checked.add(function);
        }
        assertTrue(checked.size() >= 20, "checked only " + checked);
        assertTrue(checked.contains("epoll_ctl") && checked.contains("memfd_create"), "names map: " + checked);
    }

    @Test
    void theHoldersThatDifferOnPurposeStillExist() {
        List<String> holders = new ArrayList<>();
        for (Class<?> holder : Libc.class.getDeclaredClasses()) {
            if (handleField(holder) != null) {
                holders.add(holder.getSimpleName());
            }
        }
        assertTrue(holders.containsAll(DIFFERENT_ON_PURPOSE), "a stale exception in this test: " + holders);
    }

    private static Field handleField(Class<?> holder) {
        try {
            Field field = holder.getDeclaredField("HANDLE");
            return Modifier.isStatic(field.getModifiers()) && field.getType() == MethodHandle.class ? field : null;
        } catch (NoSuchFieldException e) {
            return null;
        }
    }

    /** {@code MemfdCreate} to {@code memfd_create}, {@code EpollCreate1} to {@code epoll_create1}. */
    private static String cName(String holder) {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < holder.length(); i++) {
            char c = holder.charAt(i);
            if (Character.isUpperCase(c)) {
                if (i > 0) {
                    name.append('_');
                }
                name.append(Character.toLowerCase(c));
            } else {
                name.append(c);
            }
        }
        return name.toString();
    }
}
