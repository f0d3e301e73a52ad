// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.block;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The metadata cluster set against java.util's, under random adds and removes (clustered keys collide often). */
class ClusterSetTest {
    @Test
    void behavesLikeAHashSet() {
        SplittableRandom random = new SplittableRandom(11);
        ClusterSet set = new ClusterSet();
        Set<Long> model = new HashSet<>();
        for (int i = 0; i < 200_000; i++) {
            long cluster = random.nextInt(4) == 0 ? random.nextLong(Long.MAX_VALUE) : random.nextInt(3000);
            switch (random.nextInt(3)) {
                case 0 -> {
                    set.add(cluster);
                    model.add(cluster);
                }
                case 1 -> {
                    set.remove(cluster);
                    model.remove(cluster);
                }
                default -> assertEquals(model.contains(cluster), set.contains(cluster), "cluster " + cluster);
            }
        }
        for (long cluster = 0; cluster < 3000; cluster++) {
            assertEquals(model.contains(cluster), set.contains(cluster), "cluster " + cluster);
        }
    }
}
