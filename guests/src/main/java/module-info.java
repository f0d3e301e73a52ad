// SPDX-License-Identifier: Apache-2.0
/**
 * vmm4j's test guests: small freestanding C programs for x86_64 (see {@code src/main/c}), built with the system gcc
 * as ELF executables and reachable through {@link dev.vmm4j.guests.Guests}.
 */
module dev.vmm4j.guests {
    exports dev.vmm4j.guests;
}
