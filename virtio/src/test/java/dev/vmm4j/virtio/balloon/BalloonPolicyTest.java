// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.balloon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** crosvm's balloon policy with a fake clock (the ticks' times), a fake host and a fake balloon. */
class BalloonPolicyTest {
    private static final long MIB = 1L << 20;
    private static final long SECOND = 1_000_000_000L;

    /** A balloon that records every target it is given. */
    static final class RecordingBalloon implements Balloon {
        final List<Long> targets = new ArrayList<>();

        @Override
        public void setTargetBytes(long bytes) {
            targets.add(bytes);
        }

        @Override
        public long targetBytes() {
            return targets.isEmpty() ? 0 : targets.getLast();
        }

        @Override
        public long actualBytes() {
            return targetBytes();
        }
    }

    /** A host whose pressure the test sets. */
    static final class FakeHost implements MemoryPressureSource {
        boolean low;
        long available = 4096 * MIB;
        boolean broken;

        @Override
        public MemoryPressure sample() throws IOException {
            if (broken) {
                throw new IOException("no /proc here");
            }
            return new MemoryPressure(low, available, 256 * MIB);
        }
    }

    /** Jitter that is always half its bound, so mute times are exact. */
    private static final RandomGenerator HALF = new RandomGenerator() {
        @Override
        public long nextLong() {
            return 0;
        }

        @Override
        public long nextLong(long bound) {
            return bound / 2;
        }
    };

    private final RecordingBalloon balloon = new RecordingBalloon();
    private final FakeHost host = new FakeHost();

    @Test
    void crosvmParametersDependOnGuestSize() {
        assertEquals(
                1024 * MIB, BalloonPolicy.Parameters.crosvm(2048 * MIB).maxBytes(), "all but 1 GiB from 1.5 GiB up");
        assertEquals(64 * MIB, BalloonPolicy.Parameters.crosvm(2048 * MIB).stepBytes(), "a sixteenth of the maximum");
        assertEquals(512 * MIB, BalloonPolicy.Parameters.crosvm(1024 * MIB).maxBytes(), "half from 512 MiB up");
        assertEquals(0, BalloonPolicy.Parameters.crosvm(256 * MIB).maxBytes(), "nothing below 512 MiB");
        assertEquals(
                Duration.ofSeconds(60),
                BalloonPolicy.Parameters.crosvm(2048 * MIB).reclaimDelay());
    }

    @Test
    void pressureGrowsTheBalloonOneStepPerMutePeriodUpToTheMaximum() {
        BalloonPolicy policy = new BalloonPolicy(balloon, host, BalloonPolicy.Parameters.crosvm(1024 * MIB), HALF);
        long step = 32 * MIB;
        host.low = true;
        assertEquals(step, policy.tick(0));
        assertEquals(step, policy.tick(SECOND), "muted for 1 s + 0.5 s of jitter");
        assertEquals(2 * step, policy.tick(3 * SECOND / 2));
        long now = 3 * SECOND / 2;
        for (int i = 0; i < 40; i++) {
            now += 2 * SECOND;
            policy.tick(now);
        }
        assertEquals(512 * MIB, policy.currentBytes(), "never past the maximum");
        assertEquals(16, balloon.targets.size(), "one target per step, none repeated");
    }

    @Test
    void memoryComesBackAfterTheReclaimDelayOneStepPerInterval() {
        BalloonPolicy policy = new BalloonPolicy(balloon, host, BalloonPolicy.Parameters.crosvm(1024 * MIB), HALF);
        long step = 32 * MIB;
        host.low = true;
        policy.tick(0);
        policy.tick(2 * SECOND);
        assertEquals(2 * step, policy.currentBytes());
        host.low = false;
        assertEquals(2 * step, policy.tick(61 * SECOND), "the delay counts from the last growth (2 s)");
        assertEquals(step, policy.tick(62 * SECOND));
        assertEquals(step, policy.tick(70 * SECOND), "then one step per 10 s");
        assertEquals(0, policy.tick(72 * SECOND));
        assertEquals(List.of(step, 2 * step, step, 0L), balloon.targets);
    }

    @Test
    void nothingComesBackWhileTheHostIsShortOfMargin() {
        BalloonPolicy policy = new BalloonPolicy(balloon, host, BalloonPolicy.Parameters.crosvm(1024 * MIB), HALF);
        host.low = true;
        policy.tick(0);
        host.low = false;
        host.available = 256 * MIB + 63 * MIB; // margin + less than two steps
        assertEquals(32 * MIB, policy.tick(60 * SECOND));
        assertEquals(32 * MIB, policy.tick(70 * SECOND));
        host.available = 256 * MIB + 64 * MIB;
        assertEquals(0, policy.tick(80 * SECOND));
    }

    @Test
    void aSmallGuestIsLeftAlone() {
        BalloonPolicy policy = new BalloonPolicy(balloon, host, BalloonPolicy.Parameters.crosvm(256 * MIB), HALF);
        host.low = true;
        assertEquals(0, policy.tick(0));
        assertEquals(List.of(), balloon.targets);
    }

    @Test
    void anUnreadableHostLeavesTheBalloonAlone() {
        BalloonPolicy policy = new BalloonPolicy(balloon, host, BalloonPolicy.Parameters.crosvm(1024 * MIB), HALF);
        host.broken = true;
        host.low = true;
        assertEquals(0, policy.tick(0));
        host.broken = false;
        assertEquals(32 * MIB, policy.tick(SECOND));
    }

    @Test
    void badParametersAreRefused() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new BalloonPolicy.Parameters(
                        MIB, 0, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(1)));
        assertThrows(
                IllegalArgumentException.class,
                () -> new BalloonPolicy.Parameters(
                        MIB, MIB, Duration.ofSeconds(-1), Duration.ZERO, Duration.ZERO, Duration.ofSeconds(1)));
    }

    @Test
    void aTargetSetByHandIsWhereThePolicyGoesOnFrom() {
        BalloonPolicy policy = new BalloonPolicy(balloon, host, BalloonPolicy.Parameters.crosvm(1024 * MIB), HALF);
        assertEquals(0, policy.tick(0));
        balloon.setTargetBytes(100 * MIB); // a user's balloon command
        assertEquals(100 * MIB, policy.tick(SECOND));
        assertEquals(
                100 * MIB, policy.tick(30 * SECOND), "no reclaim before the delay, counted from the tick that saw it");
        assertEquals(68 * MIB, policy.tick(61 * SECOND));
        host.low = true;
        assertEquals(100 * MIB, policy.tick(62 * SECOND));
    }
}
