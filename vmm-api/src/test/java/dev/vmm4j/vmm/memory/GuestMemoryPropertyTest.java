// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * For random region layouts (including one that ends at the top of the 64-bit space) and random accesses near and
 * across their edges, an access either succeeds and touches exactly the bytes asked for, or fails with a
 * {@link GuestMemoryException} having touched nothing outside them; nothing else ever happens, and the guard bytes
 * around every region stay as they were.
 */
class GuestMemoryPropertyTest {
    private static final long PAGE = GuestMemoryMmap.PAGE_SIZE;
    private static final byte GUARD = (byte) 0xa5;
    private static final byte FILL = (byte) 0x3c;

    /** A region layout: page counts of regions and of the gaps before them, and whether the last one ends at 2^64. */
    record Layout(long basePages, List<Integer> regionPages, List<Integer> gapPages, boolean atTop) {
        List<long[]> ranges() { // [start, size] pairs
            List<long[]> ranges = new ArrayList<>();
            long total = 0;
            for (int i = 0; i < regionPages.size(); i++) {
                total += (gapPages.get(i) + regionPages.get(i)) * PAGE;
            }
            long cursor = atTop ? -total : basePages * PAGE;
            for (int i = 0; i < regionPages.size(); i++) {
                cursor += gapPages.get(i) * PAGE;
                long size = regionPages.get(i) * PAGE;
                ranges.add(new long[] {cursor, size});
                cursor += size;
            }
            return ranges;
        }
    }

    /** An access: an anchor (a region edge, or anywhere), a small offset from it, a length and a value. */
    record Access(int anchorRegion, boolean atEnd, long offset, long length, long anywhere, boolean useAnywhere) {}

    @Provide
    Arbitrary<Layout> layouts() {
        Arbitrary<Integer> count = Arbitraries.integers().between(1, 4);
        return count.flatMap(n -> Combinators.combine(
                        Arbitraries.longs().between(0, 64),
                        Arbitraries.integers().between(1, 3).list().ofSize(n),
                        Arbitraries.integers().between(0, 2).list().ofSize(n),
                        Arbitraries.of(true, false))
                .as(Layout::new));
    }

    @Provide
    Arbitrary<Access> accesses() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, 3),
                        Arbitraries.of(true, false),
                        Arbitraries.longs().between(-40, 40),
                        Arbitraries.oneOf(
                                Arbitraries.longs().between(0, 20),
                                Arbitraries.longs().between(0, 3 * PAGE + 16),
                                Arbitraries.just(Long.MAX_VALUE),
                                Arbitraries.just(-1L)),
                        Arbitraries.longs(),
                        Arbitraries.of(false, false, false, true))
                .as(Access::new);
    }

    /** The memory under test, with a reference copy of what each region should hold. */
    private static final class Fixture implements AutoCloseable {
        final Arena arena = Arena.ofConfined();
        final List<long[]> ranges;
        final List<MemorySegment> backing = new ArrayList<>(); // region plus a guard page on each side
        final List<byte[]> model = new ArrayList<>();
        final GuestMemoryMmap memory;

        Fixture(Layout layout) {
            ranges = layout.ranges();
            GuestMemoryMmap.Builder builder = GuestMemoryMmap.builder();
            for (long[] range : ranges) {
                MemorySegment withGuards = arena.allocate(range[1] + 2 * PAGE, PAGE);
                withGuards.fill(GUARD);
                MemorySegment region = withGuards.asSlice(PAGE, range[1]);
                region.fill(FILL);
                byte[] expected = new byte[(int) range[1]];
                Arrays.fill(expected, FILL);
                backing.add(withGuards);
                model.add(expected);
                builder.borrowed(range[0], region);
            }
            memory = builder.build();
        }

        long address(Access access) {
            if (access.useAnywhere()) {
                return access.anywhere();
            }
            long[] range = ranges.get(access.anchorRegion() % ranges.size());
            return (access.atEnd() ? range[0] + range[1] : range[0]) + access.offset();
        }

        /** {@return the region holding gpa in the model, or -1} */
        int regionOf(long gpa) {
            for (int i = 0; i < ranges.size(); i++) {
                if (Long.compareUnsigned(gpa - ranges.get(i)[0], ranges.get(i)[1]) < 0) {
                    return i;
                }
            }
            return -1;
        }

        /** {@return how many bytes from gpa on are in guest memory, up to length} */
        long validPrefix(long gpa, long length) {
            long n = 0;
            while (n < length && n <= PAGE * 16 && regionOf(gpa + n) >= 0 && (n == 0 || gpa + n != 0)) {
                n++;
            }
            return n;
        }

        boolean wraps(long gpa, long length) {
            return length != 0 && (length < 0 || Long.compareUnsigned(gpa + length - 1, gpa) < 0);
        }

        void modelWrite(long gpa, byte[] data, long count) {
            for (int i = 0; i < count; i++) {
                int r = regionOf(gpa + i);
                model.get(r)[(int) (gpa + i - ranges.get(r)[0])] = data[i];
            }
        }

        /** Every region byte is what the model says, and every guard byte is untouched. */
        void verify() {
            for (int i = 0; i < ranges.size(); i++) {
                byte[] actual = backing.get(i).toArray(ValueLayout.JAVA_BYTE);
                int size = (int) ranges.get(i)[1];
                assertArrayEquals(
                        model.get(i), Arrays.copyOfRange(actual, (int) PAGE, (int) PAGE + size), "region " + i);
                for (int g = 0; g < PAGE; g++) {
                    assertEquals(GUARD, actual[g], "guard byte before region " + i);
                    assertEquals(GUARD, actual[(int) PAGE + size + g], "guard byte after region " + i);
                }
            }
        }

        @Override
        public void close() {
            memory.close();
            arena.close();
        }
    }

    @Property(tries = 10_000)
    void writeFullyTouchesExactlyTheBytesAskedForOrFails(
            @ForAll("layouts") Layout layout, @ForAll("accesses") Access access) {
        try (Fixture f = new Fixture(layout)) {
            long gpa = f.address(access);
            long length = access.length() < 0 ? 4 * PAGE : Math.min(access.length(), 4 * PAGE);
            byte[] data = new byte[(int) length];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 31 + 7);
            }
            long valid = f.validPrefix(gpa, length);
            try {
                f.memory.writeFully(gpa, data);
                assertFalse(f.wraps(gpa, length), "a wrapping write must fail");
                assertEquals(length, valid, "the write succeeded, so every byte must be guest memory");
                f.modelWrite(gpa, data, length);
                assertTrue(f.memory.isValidRange(gpa, length));
            } catch (GuestMemoryException e) {
                assertEquals(gpa, e.address());
                assertEquals(length, e.length());
                assertFalse(f.memory.isValidRange(gpa, length));
                if (e instanceof GuestMemoryException.PartialAccess partial) {
                    assertEquals(valid, partial.completed(), "the part before the gap is written");
                    f.modelWrite(gpa, data, partial.completed());
                } else if (e instanceof GuestMemoryException.InvalidAddress invalid) {
                    assertEquals(0, valid, "nothing is written when the first byte is missing");
                    assertEquals(gpa, invalid.missing());
                } else {
                    assertInstanceOf(GuestMemoryException.AddressOverflow.class, e);
                    assertTrue(f.wraps(gpa, length));
                }
            }
            f.verify();
        }
    }

    @Property(tries = 10_000)
    void scalarAccessesSucceedExactlyWhenAllTheirBytesAreGuestMemory(
            @ForAll("layouts") Layout layout, @ForAll("accesses") Access access) {
        try (Fixture f = new Fixture(layout)) {
            long gpa = f.address(access);
            int size = new int[] {1, 2, 4, 8}[Math.floorMod(access.offset(), 4)];
            long value = 0x0102_0304_0506_0708L * (access.anchorRegion() + 1);
            boolean valid = !f.wraps(gpa, size) && f.validPrefix(gpa, size) == size;
            try {
                switch (size) {
                    case 1 -> f.memory.putByte(gpa, (byte) value);
                    case 2 -> f.memory.putShort(gpa, (short) value);
                    case 4 -> f.memory.putInt(gpa, (int) value);
                    default -> f.memory.putLong(gpa, value);
                }
                assertTrue(valid, "a put outside guest memory must fail");
                byte[] bytes = new byte[size];
                for (int i = 0; i < size; i++) {
                    bytes[i] = (byte) (value >>> (8 * i));
                }
                f.modelWrite(gpa, bytes, size);
                long read = switch (size) {
                    case 1 -> f.memory.getByte(gpa) & 0xffL;
                    case 2 -> f.memory.getShort(gpa) & 0xffffL;
                    case 4 -> f.memory.getInt(gpa) & 0xffff_ffffL;
                    default -> f.memory.getLong(gpa);
                };
                assertEquals(size == 8 ? value : value & ((1L << (8 * size)) - 1), read);
            } catch (GuestMemoryException e) {
                assertFalse(valid, "a put inside guest memory must succeed: " + e.getMessage());
            }
            f.verify();
        }
    }

    @Property(tries = 2_000)
    void readFullyReturnsWhatTheModelHolds(@ForAll("layouts") Layout layout, @ForAll("accesses") Access access) {
        try (Fixture f = new Fixture(layout)) {
            long gpa = f.address(access);
            long length = access.length() < 0 ? 4 * PAGE : Math.min(access.length(), 4 * PAGE);
            byte[] buffer = new byte[(int) length];
            boolean valid = !f.wraps(gpa, length) && f.validPrefix(gpa, length) == length;
            try {
                f.memory.readFully(gpa, buffer);
                assertTrue(valid);
                for (int i = 0; i < length; i++) {
                    int r = f.regionOf(gpa + i);
                    assertEquals(f.model.get(r)[(int) (gpa + i - f.ranges.get(r)[0])], buffer[i]);
                }
            } catch (GuestMemoryException e) {
                assertFalse(valid, e.getMessage());
            }
        }
    }
}
