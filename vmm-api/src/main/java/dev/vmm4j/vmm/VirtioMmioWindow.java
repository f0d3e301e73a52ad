package dev.vmm4j.vmm;

import java.util.Locale;

/**
 * A virtio-mmio device's register window and interrupt line, as the guest kernel must learn of it: on x86 a
 * {@code virtio_mmio.device=<size>@<base>:<irq>} command-line parameter, on aarch64 a {@code virtio,mmio} node in the
 * device tree.
 */
public record VirtioMmioWindow(long base, long size, int irq) {
    /** Checks that the window is page-aligned and not empty, and that the line is a valid interrupt number. */
    public VirtioMmioWindow {
        if (size <= 0 || (base & 0xfff) != 0 || (size & 0xfff) != 0 || irq < 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "a virtio-mmio window needs a page-aligned base and size and an irq >= 0: %#x+%#x irq %d", base, size, irq));
        }
    }

    /** {@return the Linux command-line parameter that announces this window, such as {@code virtio_mmio.device=4K@0xd0000000:5}} */
    public String commandLineParameter() {
        String sizeText = size % (1L << 20) == 0 ? (size >> 20) + "M" : (size >> 10) + "K";
        return String.format(Locale.ROOT, "virtio_mmio.device=%s@%#x:%d", sizeText, base, irq);
    }
}
