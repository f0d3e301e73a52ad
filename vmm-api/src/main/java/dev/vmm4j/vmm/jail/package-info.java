// SPDX-License-Identifier: Apache-2.0
/**
 * Jails for devices that run in their own processes, as crosvm's do: a seccomp filter generated from a per-device
 * {@code SyscallPolicy}, Landlock rules where the kernel has them, and the child process that serves one device
 * behind a proxy. The parent keeps KVM and the vCPUs; a child gets guest memory, its queue eventfds and its irqfd,
 * and nothing else.
 */
package dev.vmm4j.vmm.jail;
