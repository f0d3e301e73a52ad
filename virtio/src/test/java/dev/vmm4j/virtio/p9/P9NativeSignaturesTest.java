// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

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
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link P9Native} writes its C signatures out (asking jextract for them would make a second, unused downcall handle
 * per function): each handle named after a function ({@code FSTATAT} is {@code fstatat}) must take and return what
 * jextract's handle for it does, after the call state.
 */
class P9NativeSignaturesTest {
    /** openat is variadic, and openat2 is made through syscall(2): jextract has no plain handle for either. */
    private static final Set<String> NOT_PLAIN = Set.of("OPENAT", "SYSCALL_OPENAT2");

    @Test
    void everyHandleTakesAndReturnsWhatTheHeadersDeclare() throws Throwable {
        List<String> checked = new ArrayList<>();
        for (Field field : P9Native.class.getDeclaredFields()) {
            if (!Modifier.isStatic(field.getModifiers())
                    || field.getType() != MethodHandle.class
                    || NOT_PLAIN.contains(field.getName())) {
                continue;
            }
            String function = field.getName().toLowerCase(Locale.ROOT);
            MethodType declared = ((MethodHandle) MethodHandles.publicLookup()
                            .findStatic(
                                    LinuxHeaders.class, function + "$handle", MethodType.methodType(MethodHandle.class))
                            .invoke())
                    .type();
            field.setAccessible(true);
            MethodType ours = ((MethodHandle) field.get(null)).type();
            assertEquals(MemorySegment.class, ours.parameterType(0), field.getName() + ": the call state first");
            assertEquals(declared, ours.dropParameterTypes(0, 1), "the signature of " + function);
            checked.add(function);
        }
        assertTrue(checked.size() >= 15 && checked.contains("fstatat"), "checked only " + checked);
    }
}
