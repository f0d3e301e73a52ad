// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/** What a test sees of another thread: proof that it waits where it should, instead of a sleep and a guess. */
public final class Threads {
    private Threads() {}

    /**
     * Waits until {@code thread} waits (state WAITING) inside {@code owner.method}; fails if it ends first, or never
     * waits there within 30 seconds. A thread not started yet is waited for.
     */
    public static void awaitWaitingIn(Thread thread, Class<?> owner, String method) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (thread.getState() == Thread.State.WAITING
                    && Arrays.stream(thread.getStackTrace())
                            .anyMatch(frame -> frame.getClassName().equals(owner.getName())
                                    && frame.getMethodName().equals(method))) {
                return;
            }
            if (!thread.isAlive() && thread.getState() != Thread.State.NEW) {
                throw new AssertionError(thread.getName() + " ended instead of waiting in " + method);
            }
            Thread.sleep(1);
        }
        throw new AssertionError(thread.getName() + " never waited in " + owner.getSimpleName() + "." + method + ": "
                + thread.getState() + " at " + Arrays.toString(thread.getStackTrace()));
    }
}
