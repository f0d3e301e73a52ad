// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.arch.x86_64.acpi.Aml;
import dev.vmm4j.vmm.kvm.Cpuid;
import dev.vmm4j.vmm.testing.PublicApi;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every public constructor and static method of this module's exported packages refuses null with a NullPointerException. */
class PublicApiNullTest {
    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() {
        NullPointerTester tester = new NullPointerTester()
                .setDefault(Cpuid.class, new Cpuid(List.of()))
                .setDefault(Aml.class, Aml.integer(0));
        List<Class<?>> checked = PublicApi.checkNulls(tester, PublicApi.classes(Path.of("target/classes")), Set.of());
        assertFalse(checked.isEmpty());
    }
}
