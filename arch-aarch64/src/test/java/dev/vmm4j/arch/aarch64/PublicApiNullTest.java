// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.vmm.testing.PublicApi;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every public constructor and static method of this module's exported packages refuses null with a NullPointerException. */
class PublicApiNullTest {
    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() {
        List<Class<?>> checked =
                PublicApi.checkNulls(new NullPointerTester(), PublicApi.classes(Path.of("target/classes")), Set.of());
        assertFalse(checked.isEmpty());
    }
}
