// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vm;

import dev.vmm4j.virtio.block.DiskImage;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A disk image whose first read stops half way: it counts {@link #entered} down, runs {@link #onEntered}, then waits
 * until {@link #mayProceed} says so before it reads from the image underneath, and records how that read went. A disk
 * that answers slowly, on demand.
 */
final class BlockingImage implements DiskImage {
    private final DiskImage delegate;
    private final BooleanSupplier mayProceed;
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch finished = new CountDownLatch(1);
    volatile Runnable onEntered = () -> {};
    volatile Throwable failure;
    private boolean first = true;

    BlockingImage(DiskImage delegate, BooleanSupplier mayProceed) {
        this.delegate = delegate;
        this.mayProceed = mayProceed;
    }

    @Override
    public long sizeBytes() {
        return delegate.sizeBytes();
    }

    @Override
    public boolean isReadOnly() {
        return delegate.isReadOnly();
    }

    @Override
    public void read(long position, MemorySegment dst, long offset, long length) throws IOException {
        boolean stop;
        synchronized (this) {
            stop = first;
            first = false;
        }
        if (!stop) {
            delegate.read(position, dst, offset, length);
            return;
        }
        entered.countDown();
        onEntered.run();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!mayProceed.getAsBoolean() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        try {
            delegate.read(position, dst, offset, length);
        } catch (IOException | RuntimeException e) {
            failure = e;
            throw e;
        } finally {
            finished.countDown();
        }
    }

    @Override
    public void write(long position, MemorySegment src, long offset, long length) throws IOException {
        delegate.write(position, src, offset, length);
    }

    @Override
    public void flush() throws IOException {
        delegate.flush();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
