// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.bus;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The ranges of a {@link Bus} at one moment, with the indexes that make a lookup cheap; immutable, replaced whole.
 *
 * <p>Three ways to the device, fastest first, all allocation-free:
 * <ol>
 *   <li>a direct table, when every range lies below 0x10000 (the x86 port-I/O bus): one array load;</li>
 *   <li>a hash of the 4 KiB pages wholly covered by one range (MMIO windows): one multiply, one array load, and
 *       one entry that holds the device and its offset bias together;</li>
 *   <li>binary search over the sorted ranges, for pages several ranges share and for ranges too big to index.</li>
 * </ol>
 */
final class BusSnapshot {
    static final BusSnapshot EMPTY = of(List.of());

    /** A range's device, and what to subtract from an address to get the offset the device sees. */
    static class Target {
        final BusDevice device;
        final long bias;
        final int index;

        Target(BusDevice device, long bias, int index) {
            this.device = device;
            this.bias = bias;
            this.index = index;
        }
    }

    /**
     * One page in the page hash, holding a copy of the target of the range that wholly covers it (so a hit is one
     * object away), or no device when the page needs a search.
     */
    private static final class PageEntry extends Target {
        final long page;
        final PageEntry next;

        PageEntry(long page, Target target, PageEntry next) {
            super(
                    target == null ? null : target.device,
                    target == null ? 0 : target.bias,
                    target == null ? -1 : target.index);
            this.page = page;
            this.next = next;
        }
    }

    /** The port-I/O space a direct table covers. */
    private static final int DIRECT_LIMIT = 0x10000;

    private static final int PAGE_SHIFT = 12;
    /** Ranges of more pages than this are left to binary search, to bound the hash. */
    private static final long MAX_PAGES_PER_RANGE = 4096;

    private static final long MAX_INDEXED_PAGES = 1 << 16;

    final List<BusRange> ranges;
    private final long[] bases;
    private final long[] lasts;
    private final Target[] targets;

    /** Whether every range lies below DIRECT_LIMIT, so that lookups go through the direct table. */
    private final boolean allLow;
    /**
     * Range index + 1 for each address below DIRECT_LIMIT (0: none), made by the first lookup: a bus being filled makes
     * a snapshot per device and looks up in none of them but the last (128 KiB each). Published through the volatile,
     * so a vCPU that races another to make it sees a whole table; both make the same one.
     */
    private volatile char[] direct;
    /** Chained hash of page numbers, or null. */
    private final PageEntry[] pages;

    private final int pageShift;
    /** Whether some range is not in the page hash, so a page missing from it may still hold a device. */
    private final boolean searchMisses;

    private BusSnapshot(List<BusRange> sorted) {
        ranges = List.copyOf(sorted);
        int n = sorted.size();
        bases = new long[n];
        lasts = new long[n];
        targets = new Target[n];
        for (int i = 0; i < n; i++) {
            BusRange range = sorted.get(i);
            bases[i] = range.base();
            lasts[i] = range.last();
            targets[i] = new Target(range.device(), range.fullAddress() ? 0 : range.base(), i);
        }
        allLow = n > 0 && n < Character.MAX_VALUE && Long.compareUnsigned(lasts[n - 1], DIRECT_LIMIT) < 0;

        long indexedPages = 0;
        boolean unindexed = false;
        for (int i = 0; i < n && !allLow; i++) {
            if (indexable(i, indexedPages)) {
                indexedPages += pageCount(i);
            } else {
                unindexed = true;
            }
        }
        searchMisses = unindexed;
        if (allLow || indexedPages == 0) {
            pages = null;
            pageShift = 0;
        } else {
            int capacity = Integer.highestOneBit((int) indexedPages * 2 - 1) << 1;
            pages = new PageEntry[capacity];
            pageShift = 64 - Integer.numberOfTrailingZeros(capacity);
            buildPageHash();
        }
    }

    static BusSnapshot of(List<BusRange> ranges) {
        List<BusRange> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparing(BusRange::base, Long::compareUnsigned));
        return new BusSnapshot(sorted);
    }

    private char[] directTable() {
        char[] table = new char[DIRECT_LIMIT];
        for (int i = 0; i < bases.length; i++) {
            java.util.Arrays.fill(table, (int) bases[i], (int) lasts[i] + 1, (char) (i + 1));
        }
        return table;
    }

    private long pageCount(int i) {
        return (lasts[i] >>> PAGE_SHIFT) - (bases[i] >>> PAGE_SHIFT) + 1;
    }

    private boolean indexable(int i, long indexedSoFar) {
        long count = pageCount(i);
        return count <= MAX_PAGES_PER_RANGE && indexedSoFar + count <= MAX_INDEXED_PAGES;
    }

    private void buildPageHash() {
        long indexedPages = 0;
        for (int i = 0; i < bases.length; i++) {
            if (!indexable(i, indexedPages)) {
                continue;
            }
            indexedPages += pageCount(i);
            long firstPage = bases[i] >>> PAGE_SHIFT;
            long lastPage = lasts[i] >>> PAGE_SHIFT;
            for (long page = firstPage; ; page++) {
                long pageStart = page << PAGE_SHIFT;
                long pageLast = pageStart + (1L << PAGE_SHIFT) - 1;
                boolean whole =
                        Long.compareUnsigned(bases[i], pageStart) <= 0 && Long.compareUnsigned(lasts[i], pageLast) >= 0;
                int slot = slotOf(page);
                PageEntry entry = entry(page);
                if (entry == null) {
                    pages[slot] = new PageEntry(page, whole ? targets[i] : null, pages[slot]);
                } else if (entry.device != null) {
                    pages[slot] = withoutDevice(pages[slot], page); // a second range touches this page: search it
                }
                if (page == lastPage) {
                    break;
                }
            }
        }
    }

    /** {@return the chain {@code head} with the entry of {@code page} replaced by one that asks for a search} */
    private static PageEntry withoutDevice(PageEntry head, long page) {
        if (head.page == page) {
            return new PageEntry(page, null, head.next);
        }
        return new PageEntry(head.page, head.device == null ? null : head, withoutDevice(head.next, page));
    }

    private int slotOf(long page) {
        return (int) ((page * 0x9e37_79b9_7f4a_7c15L) >>> pageShift);
    }

    private PageEntry entry(long page) {
        for (PageEntry e = pages[slotOf(page)]; e != null; e = e.next) {
            if (e.page == page) {
                return e;
            }
        }
        return null;
    }

    /** {@return the device and bias for {@code address}, or null if no range holds it} */
    Target target(long address) {
        PageEntry[] table = pages;
        if (table != null) { // MMIO first: the common exit
            long page = address >>> PAGE_SHIFT;
            for (PageEntry e = table[(int) ((page * 0x9e37_79b9_7f4a_7c15L) >>> pageShift)]; e != null; e = e.next) {
                if (e.page == page) {
                    return e.device != null ? e : search(address);
                }
            }
            return searchMisses ? search(address) : null;
        }
        if (allLow) {
            char[] ports = direct;
            if (ports == null) {
                ports = directTable();
                direct = ports;
            }
            int index = Long.compareUnsigned(address, DIRECT_LIMIT) < 0 ? ports[(int) address] : 0;
            return index == 0 ? null : targets[index - 1];
        }
        return search(address);
    }

    private Target search(long address) {
        int lo = 0;
        int hi = bases.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(bases[mid], address) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        // hi is now the last range starting at or below the address.
        return hi >= 0 && Long.compareUnsigned(address, lasts[hi]) <= 0 ? targets[hi] : null;
    }
}
