package dev.vmm4j.vmm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.vmm.kvm.Kvm;
import dev.vmm4j.vmm.kvm.Vm;
import dev.vmm4j.vmm.resources.SystemAllocator;
import dev.vmm4j.vmm.testing.PublicApi;
import dev.vmm4j.vmm.testing.RequiresKvm;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every public constructor and static method of vmm-api's exported packages refuses null with a NullPointerException.
 * KVM handles are among the parameter types, so the tester gets real ones.
 */
@RequiresKvm
class PublicApiNullTest {
    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            NullPointerTester tester = new NullPointerTester()
                    .setDefault(Kvm.class, kvm)
                    .setDefault(Vm.class, vm)
                    .setDefault(SystemAllocator.class, SystemAllocator.builder().build());
            List<Class<?>> checked =
                    PublicApi.checkNulls(tester, PublicApi.classes(Path.of("target/classes")), Set.of());
            assertTrue(checked.size() > 50, "checked " + checked.size() + " classes: " + checked);
        }
    }
}
