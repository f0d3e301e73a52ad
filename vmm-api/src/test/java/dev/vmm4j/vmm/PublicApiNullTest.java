// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.vmm.arch.MachineContext;
import dev.vmm4j.vmm.jail.DeviceLaunch;
import dev.vmm4j.vmm.jail.DeviceSandbox;
import dev.vmm4j.vmm.jail.FdSocket;
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
 * The one class whose constructor takes KVM handles is checked where KVM is, with real ones.
 */
class PublicApiNullTest {
    private static final Path CLASSES = Path.of("target/classes");

    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() {
        FdSocket[] sockets = FdSocket.pair();
        try {
            NullPointerTester tester = new NullPointerTester()
                    .setDefault(SystemAllocator.class, SystemAllocator.builder().build())
                    .setDefault(FdSocket.class, sockets[0])
                    .setDefault(DeviceSandbox.class, DeviceSandbox.bubblewrap())
                    .setDefault(DeviceLaunch.class, new DeviceLaunch("device", "Main", List.of(), List.of()));
            List<Class<?>> checked =
                    PublicApi.checkNulls(tester, PublicApi.classes(CLASSES), Set.of(MachineContext.class.getName()));
            assertTrue(checked.size() > 50, "checked " + checked.size() + " classes: " + checked);
        } finally {
            sockets[0].close();
            sockets[1].close();
        }
    }

    @Test
    @RequiresKvm
    void theMachineContextChecksForNullToo() {
        try (Kvm kvm = Kvm.open();
                Vm vm = kvm.createVm()) {
            NullPointerTester tester =
                    new NullPointerTester().setDefault(Kvm.class, kvm).setDefault(Vm.class, vm);
            PublicApi.checkNulls(tester, List.of(MachineContext.class), Set.of());
        }
    }
}
