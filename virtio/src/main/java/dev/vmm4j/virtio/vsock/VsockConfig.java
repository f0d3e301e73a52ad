// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.vsock;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A guest's vsock device: its CID (the guest's address), and where the host ends of its connections are, as
 * crosvm's and Firecracker's flags say it:
 * <ul>
 *   <li>a unix socket ({@code --vsock-socket PATH}, Firecracker's convention: see {@link #withUnixSocket}),
 *   <li>the embedding Java program ({@link #withHost}: {@link VsockChannel}s, no socket in between), or both;
 *   <li>or the kernel's vhost-vsock ({@code --cid}, as crosvm: the guest is then reached with {@code AF_VSOCK} on the
 *       host, and needs /dev/vhost-vsock).
 * </ul>
 *
 * <pre>{@code
 * VsockHost host = new VsockHost();
 * VsockConfig.of(3).withUnixSocket(Path.of("/run/vm.vsock")).withHost(host)
 * }</pre>
 *
 * Immutable: each {@code with} method returns a changed copy.
 *
 * @param guestCid the guest's context ID: 3 to 4294967294 (0-2 are the hypervisor's, the local and the host's, and
 *     4294967295 means "any")
 * @param unixSocket where the device listens for host processes, and the prefix of the sockets the guest's
 *     connections go to
 * @param host the Java program's side, if it has one
 * @param vhost whether the kernel's vhost-vsock serves the device instead
 */
public record VsockConfig(long guestCid, Optional<Path> unixSocket, Optional<VsockHost> host, boolean vhost) {
    /** The largest CID a guest may have. */
    public static final long MAX_GUEST_CID = 0xFFFF_FFFEL;

    /** The longest unix socket path: 107 bytes, less an underscore and ten digits for a port. */
    public static final int MAX_SOCKET_PATH_BYTES = 107 - 11;

    /**
     * Checks the arguments; only the CID's range is checked here, the rest by {@link #problems()}.
     *
     * @throws IllegalArgumentException for a CID outside 3 to {@link #MAX_GUEST_CID}
     */
    public VsockConfig {
        Objects.requireNonNull(unixSocket, "unixSocket");
        Objects.requireNonNull(host, "host");
        if (guestCid < 3 || guestCid > MAX_GUEST_CID) {
            throw new IllegalArgumentException(
                    "a guest CID must be 3 to " + MAX_GUEST_CID + ", not " + Long.toUnsignedString(guestCid)
                            + " (0, 1 and 2 are reserved for the hypervisor, local and host)");
        }
    }

    /**
     * {@return a device for guest CID {@code guestCid}, with no host end yet}
     *
     * @param guestCid the guest's context ID, 3 to {@link #MAX_GUEST_CID}
     * @throws IllegalArgumentException if {@code guestCid} is reserved or too large
     */
    public static VsockConfig of(long guestCid) {
        return new VsockConfig(guestCid, Optional.empty(), Optional.empty(), false);
    }

    /**
     * {@return a copy whose host processes use the unix socket at {@code path}} A host process connects there and
     * writes {@code CONNECT <guest port>\n}; it is answered {@code OK <host port>\n} once the guest accepts, and the
     * stream follows (the guest refusing closes the socket). A guest connection to host port {@code P} goes to the unix
     * socket {@code <path>_<P>}, if something listens there, and is refused otherwise. A socket a VMM that is gone left
     * at {@code path} is replaced; anything else there is refused when the VM is built.
     *
     * @param path the socket's path, at most {@link #MAX_SOCKET_PATH_BYTES} bytes in a directory that exists (both
     *     checked by {@link #problems()}, not here); a relative path is resolved against the working directory
     */
    public VsockConfig withUnixSocket(Path path) {
        return new VsockConfig(guestCid, Optional.of(path), host, vhost);
    }

    /**
     * {@return a copy whose host end includes {@code javaHost}}
     *
     * @param javaHost the embedding program's side; it can serve one device at a time
     */
    public VsockConfig withHost(VsockHost javaHost) {
        return new VsockConfig(guestCid, unixSocket, Optional.of(javaHost), vhost);
    }

    /**
     * {@return a copy served by the kernel's vhost-vsock, or not}
     *
     * @param useVhost true for vhost-vsock (needs /dev/vhost-vsock, and neither a unix socket nor a {@link VsockHost});
     *     false, the default, for vmm4j's own device
     */
    public VsockConfig withVhost(boolean useVhost) {
        return new VsockConfig(guestCid, unixSocket, host, useVhost);
    }

    /** {@return what is wrong with this configuration, in words a user can act on; empty if nothing} */
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (vhost && (unixSocket.isPresent() || host.isPresent())) {
            problems.add("a vhost-vsock device has the host kernel's AF_VSOCK as its host end: drop the unix socket"
                    + " and the VsockHost, or leave vhost off");
        }
        if (!vhost && unixSocket.isEmpty() && host.isEmpty()) {
            problems.add("a vsock device needs a host end: a unix socket path (--vsock-socket), a VsockHost, or"
                    + " vhost-vsock (--cid)");
        }
        unixSocket.ifPresent(path -> {
            int bytes = path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes > MAX_SOCKET_PATH_BYTES) {
                problems.add("the vsock socket path " + path + " has " + bytes + " bytes; at most "
                        + MAX_SOCKET_PATH_BYTES + " leave room for the _<port> of the guest's connections in a unix"
                        + " socket address (107 bytes): use a shorter or relative path");
            }
            Path parent = path.toAbsolutePath().getParent();
            if (parent != null && !java.nio.file.Files.isDirectory(parent)) {
                problems.add("the vsock socket's directory " + parent + " does not exist");
            }
        });
        return problems;
    }
}
