// SPDX-License-Identifier: Apache-2.0
/**
 * The architecture SPI: {@link dev.vmm4j.vmm.arch.LinuxArch} (found with {@link java.util.ServiceLoader}) lays a VM out
 * and makes its {@link dev.vmm4j.vmm.arch.ArchMachine}, which sets up the interrupt controller and platform devices
 * and boots the kernel on every vCPU. {@code dev.vmm4j.arch.x86_64} and {@code dev.vmm4j.arch.aarch64} implement it.
 */
package dev.vmm4j.vmm.arch;
