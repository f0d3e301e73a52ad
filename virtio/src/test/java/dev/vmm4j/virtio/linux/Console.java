// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.linux;

import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A guest's serial console as the test sees it: everything written so far, and a way to wait for a line. The Linux
 * suite's, and other VM tests' too.
 */
public final class Console extends OutputStream {
    private final StringBuilder text = new StringBuilder();
    private final StringBuilder line = new StringBuilder();

    @Override
    public synchronized void write(int b) {
        char c = (char) (b & 0xff);
        text.append(c);
        if (c == '\n') {
            line.setLength(0);
            notifyAll();
        } else {
            line.append(c);
        }
    }

    @Override
    public void write(byte[] b, int off, int len) {
        for (int i = 0; i < len; i++) {
            write(b[off + i]);
        }
    }

    /** {@return everything written so far} */
    public synchronized String text() {
        return text.toString();
    }

    /**
     * Waits until a complete line holds {@code needle}. {@return whether it came within {@code timeout}}
     */
    public synchronized boolean await(String needle, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!completeLines().contains(needle)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    private String completeLines() {
        return text.substring(0, text.length() - line.length());
    }

    @Override
    public String toString() {
        return text();
    }
}
