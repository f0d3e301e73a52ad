// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import java.util.Arrays;

/**
 * A set of cluster numbers (non-negative longs) with open addressing, so that asking about one boxes nothing: the
 * qcow2 write path asks on every in-place write whether the target cluster holds metadata.
 *
 * <p><b>Thread safety:</b> not thread-safe.
 */
final class ClusterSet {
    private static final long EMPTY = -1;
    private long[] slots = new long[64];
    private int size;

    ClusterSet() {
        Arrays.fill(slots, EMPTY);
    }

    boolean contains(long cluster) {
        for (int i = index(cluster, slots.length); ; i = (i + 1) & (slots.length - 1)) {
            if (slots[i] == cluster) {
                return true;
            }
            if (slots[i] == EMPTY) {
                return false;
            }
        }
    }

    void add(long cluster) {
        if (cluster < 0) {
            throw new IllegalArgumentException("cluster numbers are not negative: " + cluster);
        }
        if (2 * (size + 1) > slots.length) {
            long[] old = slots;
            slots = new long[old.length * 2];
            Arrays.fill(slots, EMPTY);
            size = 0;
            for (long value : old) {
                if (value != EMPTY) {
                    add(value);
                }
            }
        }
        int i = index(cluster, slots.length);
        while (slots[i] != EMPTY && slots[i] != cluster) {
            i = (i + 1) & (slots.length - 1);
        }
        if (slots[i] == EMPTY) {
            slots[i] = cluster;
            size++;
        }
    }

    /** Removes {@code cluster}, re-placing the entries after it so that lookups still find them. */
    void remove(long cluster) {
        int i = index(cluster, slots.length);
        while (slots[i] != cluster) {
            if (slots[i] == EMPTY) {
                return;
            }
            i = (i + 1) & (slots.length - 1);
        }
        slots[i] = EMPTY;
        size--;
        for (int j = (i + 1) & (slots.length - 1); slots[j] != EMPTY; j = (j + 1) & (slots.length - 1)) {
            long moved = slots[j];
            slots[j] = EMPTY;
            size--;
            add(moved);
        }
    }

    private static int index(long cluster, int length) {
        long mixed = cluster * 0x9E37_79B9_7F4A_7C15L;
        return (int) (mixed >>> 40) & (length - 1);
    }
}
