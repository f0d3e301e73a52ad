package dev.vmm4j.virtio;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.common.testing.NullPointerTester;
import dev.vmm4j.virtio.balloon.BalloonPolicy;
import dev.vmm4j.virtio.queue.SplitQueue;
import dev.vmm4j.virtio.testing.GuestAllocator;
import dev.vmm4j.vmm.event.EventFd;
import dev.vmm4j.vmm.event.EventLoop;
import dev.vmm4j.vmm.memory.GuestMemoryMmap;
import dev.vmm4j.vmm.testing.PublicApi;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every public constructor and static method of this module's exported packages refuses null with a NullPointerException. */
class PublicApiNullTest {
    @Test
    void everyPublicConstructorAndStaticMethodChecksForNull() {
        try (EventLoop loop = EventLoop.create("null-test");
                EventFd event = EventFd.createNonBlocking();
                GuestMemoryMmap memory =
                        GuestMemoryMmap.builder().anonymous(0, 4096).build()) {
            SplitQueue queue = new SplitQueue(8);
            DeviceActivation activation =
                    new DeviceActivation(memory, 0, List.of(queue), List.of(event), new SilentInterrupt(), loop);
            NullPointerTester tester = new NullPointerTester()
                    .setDefault(DeviceActivation.class, activation)
                    .setDefault(EventLoop.class, loop)
                    .setDefault(EventFd.class, event)
                    .setDefault(SplitQueue.class, queue)
                    .setDefault(GuestAllocator.class, new GuestAllocator(0x1000, 0x1000))
                    .setDefault(BalloonPolicy.Parameters.class, BalloonPolicy.Parameters.crosvm(2L << 30));
            List<Class<?>> checked =
                    PublicApi.checkNulls(tester, PublicApi.classes(Path.of("target/classes")), Set.of());
            assertFalse(checked.isEmpty());
        }
    }

    private static final class SilentInterrupt implements VirtioInterrupt {
        @Override
        public void signalUsed(int queueIndex) {}

        @Override
        public void signalConfigChange() {}

        @Override
        public void signalNeedsReset(String reason) {}
    }
}
