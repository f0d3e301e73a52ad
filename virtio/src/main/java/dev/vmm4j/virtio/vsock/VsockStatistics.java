// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

/**
 * What a virtio-vsock device has done and refused since it was made (across driver resets).
 *
 * @param connectionsOpened connections established, either way
 * @param connectionsRefused connection attempts refused: nothing listening on the host port, the guest answering a
 *     request with RST, a malformed {@code CONNECT} line, or the connection limit reached
 * @param activeConnections connections open now, those still writing the guest's last bytes to the host included
 * @param bytesToHost payload bytes the guest sent that reached the host sockets
 * @param bytesToGuest payload bytes from the host sockets put in the guest's buffers
 * @param resetsSent RST packets sent to the guest
 * @param resetsDropped RST packets not sent: hundreds of connections ended on the host's side while the guest took no
 *     packets (its own packets never overflow the resets; its transmit queue waits instead)
 * @param badPackets packets refused: a header the device cannot take (unknown op or type, a length past the buffer or
 *     over 64 KiB, a source or destination CID that is not the guest's and the host's), or an op the connection's state
 *     does not allow; each costs its connection, if it had one, a reset
 * @param creditViolations RW packets with more bytes than the credit the device had granted: the connection is reset
 * @param malformedChains chains returned unused: malformed, in the wrong direction, or too small for a header
 */
public record VsockStatistics(
        long connectionsOpened,
        long connectionsRefused,
        long activeConnections,
        long bytesToHost,
        long bytesToGuest,
        long resetsSent,
        long resetsDropped,
        long badPackets,
        long creditViolations,
        long malformedChains) {}
