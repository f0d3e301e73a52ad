// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.NativeCallException;
import dev.vmm4j.vmm.memory.GuestMemoryMmap.SharedRegion;
import dev.vmm4j.vmm.sys.Libc;
import dev.vmm4j.vmm.sys.OwnedFd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest memory shared with another process, as a jailed device gets it: the VMM's memfd regions, passed on as
 * duplicated fds and mapped again with {@link GuestMemoryMmap.Builder#shared}. The second mapping here stands for the
 * device process's.
 */
class SharedGuestMemoryTest {
    private static final long PAGE = GuestMemoryMmap.PAGE_SIZE;
    private static final long GPA = 0x10_0000;
    private static final int SEALS =
            LinuxHeaders.F_SEAL_SHRINK() | LinuxHeaders.F_SEAL_GROW() | LinuxHeaders.F_SEAL_SEAL();

    @TempDir
    Path dir;

    private static GuestMemoryMmap vmmMemory() {
        return GuestMemoryMmap.builder().memfd(GPA, 4 * PAGE, "shared-test").build();
    }

    /** {@return guest memory over a duplicate of {@code region}'s fd, as the device process maps it} */
    private static GuestMemoryMmap deviceMemory(SharedRegion region) {
        return GuestMemoryMmap.builder()
                .shared(region.gpa(), region.size(), new OwnedFd(dup(region.fd()), "duplicated memfd"))
                .build();
    }

    private static int dup(int fd) {
        int copy = Libc.fcntl(fd, LinuxHeaders.F_DUPFD_CLOEXEC(), 0);
        assertTrue(copy >= 0, "F_DUPFD_CLOEXEC: " + copy);
        return copy;
    }

    /** {@return a new memfd of {@code size} bytes that allows sealing, with {@code seals} added} */
    private static OwnedFd memfd(long size, int seals) {
        OwnedFd fd = new OwnedFd(Libc.memfdCreate("shared-test", LinuxHeaders.MFD_ALLOW_SEALING()), "test memfd");
        Libc.ftruncate(fd.get(), size);
        if (seals != 0) {
            assertEquals(0, Libc.fcntl(fd.get(), LinuxHeaders.F_ADD_SEALS(), seals));
        }
        return fd;
    }

    @Test
    void aMemfdRegionIsSharedWithItsFdGpaAndSize() {
        try (GuestMemoryMmap memory = vmmMemory()) {
            List<SharedRegion> shared = memory.sharedRegions();
            assertEquals(1, shared.size());
            assertEquals(GPA, shared.getFirst().gpa());
            assertEquals(4 * PAGE, shared.getFirst().size());
            assertEquals(
                    4 * PAGE,
                    Libc.lseek(shared.getFirst().fd(), 0, LinuxHeaders.SEEK_END()),
                    "the fd holds the region's bytes");
        }
    }

    @Test
    void writesThroughEitherMappingAreReadThroughTheOther() throws GuestMemoryException {
        try (GuestMemoryMmap vmm = vmmMemory();
                GuestMemoryMmap device = deviceMemory(vmm.sharedRegions().getFirst())) {
            vmm.putLong(GPA + 0x18, 0x1122_3344_5566_7788L);
            assertEquals(0x1122_3344_5566_7788L, device.getLong(GPA + 0x18));

            device.putInt(GPA + 3 * PAGE + 0x40, 0xcafe_f00d);
            assertEquals(0xcafe_f00d, vmm.getInt(GPA + 3 * PAGE + 0x40));

            assertEquals(1, device.sharedRegions().size(), "a shared region can be passed on again");
        }
    }

    @Test
    void theDeviceMappingOutlivesTheVmmMemory() throws GuestMemoryException {
        GuestMemoryMmap vmm = vmmMemory();
        vmm.putLong(GPA, 42);
        try (GuestMemoryMmap device = deviceMemory(vmm.sharedRegions().getFirst())) {
            vmm.close();
            assertEquals(42, device.getLong(GPA), "the duplicated fd keeps the memfd alive");
        }
    }

    @Test
    void theMemfdIsSealedAgainstShrinkingGrowingAndNewSeals() {
        try (GuestMemoryMmap memory = vmmMemory()) {
            int fd = memory.sharedRegions().getFirst().fd();
            int seals = Libc.fcntl(fd, LinuxHeaders.F_GET_SEALS(), 0);
            assertEquals(SEALS, seals & SEALS, "F_GET_SEALS " + seals);

            assertThrows(NativeCallException.class, () -> Libc.ftruncate(fd, PAGE));
            assertThrows(NativeCallException.class, () -> Libc.ftruncate(fd, 8 * PAGE));
            assertEquals(
                    -LinuxHeaders.EPERM(),
                    Libc.fcntl(fd, LinuxHeaders.F_ADD_SEALS(), LinuxHeaders.F_SEAL_WRITE()),
                    "no one can add a seal that would fault the guest's writes");
            assertEquals(4 * PAGE, Libc.lseek(fd, 0, LinuxHeaders.SEEK_END()));
        }
    }

    @Test
    void sharedRefusesAMemfdNotSealedAgainstShrinkingAndClosesIt() {
        OwnedFd unsealed = memfd(PAGE, 0);
        GuestMemoryMmap.Builder builder = GuestMemoryMmap.builder().shared(0, PAGE, unsealed);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

        assertTrue(e.getMessage().contains("not a memfd sealed against shrinking"), e.getMessage());
        assertTrue(unsealed.isClosed(), "the memory owned the fd it was given, and closed it");
    }

    @Test
    void sharedRefusesAMemfdThatCannotBeSealed() {
        // memfd_create without MFD_ALLOW_SEALING: the kernel seals it with F_SEAL_SEAL alone.
        OwnedFd plain = new OwnedFd(Libc.memfdCreate("unsealable", 0), "plain memfd");
        Libc.ftruncate(plain.get(), PAGE);
        GuestMemoryMmap.Builder builder = GuestMemoryMmap.builder().shared(0, PAGE, plain);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

        assertTrue(e.getMessage().contains("sealed against shrinking"), e.getMessage());
        assertTrue(plain.isClosed());
    }

    @Test
    void sharedRefusesAnFdThatIsNoMemfd() {
        OwnedFd notMemory = new OwnedFd(Libc.eventfd(0, 0), "an eventfd");
        GuestMemoryMmap.Builder builder = GuestMemoryMmap.builder().shared(0, PAGE, notMemory);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

        assertTrue(e.getMessage().contains("not a memfd"), e.getMessage());
        assertTrue(notMemory.isClosed());
    }

    @Test
    void sharedRefusesAMemfdSmallerThanTheRegionAndClosesIt() {
        OwnedFd small = memfd(PAGE, SEALS);
        GuestMemoryMmap.Builder builder = GuestMemoryMmap.builder().shared(0, 2 * PAGE, small);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

        assertTrue(e.getMessage().contains("has " + PAGE + " bytes, not " + 2 * PAGE), e.getMessage());
        assertTrue(small.isClosed());
    }

    @Test
    void aLargerMemfdSharesItsFirstBytes() throws GuestMemoryException {
        OwnedFd large = memfd(4 * PAGE, SEALS);
        int vmmSide = dup(large.get());
        try (GuestMemoryMmap device =
                        GuestMemoryMmap.builder().shared(0, PAGE, large).build();
                GuestMemoryMmap vmm = GuestMemoryMmap.builder()
                        .shared(0, 4 * PAGE, new OwnedFd(vmmSide, "the whole memfd"))
                        .build()) {
            vmm.putByte(PAGE - 1, (byte) 7);
            assertEquals(7, device.getByte(PAGE - 1));
            assertEquals(PAGE, device.totalSize());
        }
    }

    @Test
    void aFailingRegionClosesTheFdsOfTheOthersToo() {
        OwnedFd good = memfd(PAGE, SEALS);
        OwnedFd small = memfd(PAGE, SEALS);
        GuestMemoryMmap.Builder builder =
                GuestMemoryMmap.builder().shared(0, PAGE, good).shared(PAGE, 2 * PAGE, small);

        assertThrows(IllegalArgumentException.class, builder::build);

        assertTrue(good.isClosed(), "the region mapped before the failing one");
        assertTrue(small.isClosed());
    }

    @Test
    void aBuilderBuildsOnceSoNoTwoMemoriesShareAnFd() throws GuestMemoryException {
        OwnedFd fd = memfd(PAGE, SEALS);
        GuestMemoryMmap.Builder builder = GuestMemoryMmap.builder().shared(0, PAGE, fd);
        try (GuestMemoryMmap memory = builder.build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, builder::build);
            assertTrue(e.getMessage().startsWith("this builder already built its guest memory"), e.getMessage());
            OwnedFd another = memfd(PAGE, SEALS);
            assertThrows(IllegalStateException.class, () -> builder.shared(PAGE, PAGE, another));
            assertFalse(another.isClosed(), "a region refused is the caller's still");
            another.close();
            assertFalse(fd.isClosed(), "the memory built first still owns its fd");
            memory.putByte(0, (byte) 7);
            assertEquals(7, memory.getByte(0));
        }
        assertTrue(fd.isClosed());
    }

    @Test
    void anonymousAndFileRegionsAreNotShared() throws IOException {
        Path file = Files.write(dir.resolve("memory.img"), new byte[(int) PAGE]);
        try (GuestMemoryMmap memory = GuestMemoryMmap.builder()
                .anonymous(0, PAGE)
                .file(0x30_0000, file, 0, PAGE)
                .memfd(0x10_0000, PAGE, "second")
                .anonymous(0x20_0000, PAGE)
                .memfd(0x8000, PAGE, "first")
                .build()) {
            assertEquals(
                    List.of(0x8000L, 0x10_0000L),
                    memory.sharedRegions().stream().map(SharedRegion::gpa).toList(),
                    "only the memfd regions, in address order");
        }
        try (GuestMemoryMmap anonymous =
                GuestMemoryMmap.builder().anonymous(0, PAGE).build()) {
            assertEquals(List.of(), anonymous.sharedRegions());
        }
    }

    @Test
    void discardingASharedPageFreesItForBothMappings() throws GuestMemoryException {
        try (GuestMemoryMmap vmm = vmmMemory();
                GuestMemoryMmap device = deviceMemory(vmm.sharedRegions().getFirst())) {
            vmm.putLong(GPA + PAGE, -1L);
            vmm.putLong(GPA + 2 * PAGE, -1L);

            assertEquals(PAGE, device.discard(GPA + PAGE, PAGE));

            assertEquals(0, vmm.getLong(GPA + PAGE), "the device's discard freed the VMM's page");
            assertEquals(0, device.getLong(GPA + PAGE));
            assertEquals(-1L, device.getLong(GPA + 2 * PAGE), "the next page is untouched");

            assertEquals(PAGE, vmm.discard(GPA + 2 * PAGE, PAGE));
            assertEquals(0, device.getLong(GPA + 2 * PAGE), "and the other way round");
        }
    }
}
