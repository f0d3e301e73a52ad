// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.guests;

/**
 * Linux user programs for the Linux guest suite's root file systems, built from {@code guests/src/main/c/linux}: static
 * ELF executables without libc that make no system call, so that they run even where KVM cannot run a system call
 * from user space.
 */
public enum LinuxInits {
    /** Spins forever: the kernel stays up. */
    SPIN("init-spin"),
    /** Stores to address 0: the kernel kills init, panics, and (with panic=-1 reboot=k) resets the machine. */
    FAULT("init-fault");

    private final String file;

    LinuxInits(String file) {
        this.file = "linux/" + file;
    }

    /** {@return the program's ELF image} */
    public byte[] elf() {
        return Guests.resource(file);
    }
}
