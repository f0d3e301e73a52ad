// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.aarch64.fdt;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes a flattened device tree blob, version 17 (the Devicetree Specification v0.4, chapter 5), as the arm64 boot
 * protocol hands it to the kernel: a header, the memory reservation map, the structure block and the strings block,
 * all big-endian.
 *
 * <pre>{@code
 * FdtWriter fdt = new FdtWriter();
 * fdt.beginNode("");                                  // the root
 * fdt.property("compatible", "linux,dummy-virt");
 * fdt.property("#address-cells", 2);
 * fdt.beginNode("chosen");
 * fdt.property("bootargs", "console=ttyS0");
 * fdt.endNode();
 * fdt.endNode();
 * byte[] dtb = fdt.finish();
 * }</pre>
 *
 * It checks what a kernel would trip over: node and property names as the specification allows them, properties before
 * the node's subnodes, no property twice in a node, one root, every node closed; each mistake is an
 * {@link IllegalStateException} or {@link IllegalArgumentException} naming the node and what is wrong.
 *
 * <p><b>Thread safety:</b> not thread-safe.
 */
public final class FdtWriter {
    /** The header's {@code magic}, which starts every blob. */
    public static final int MAGIC = 0xd00dfeed;
    /** The header's {@code version}: the format version this writer produces. */
    public static final int VERSION = 17;
    /** The header's {@code last_comp_version}: the lowest version this blob is backwards compatible with. */
    public static final int LAST_COMPATIBLE_VERSION = 16;

    static final int FDT_BEGIN_NODE = 1;
    static final int FDT_END_NODE = 2;
    static final int FDT_PROP = 3;
    static final int FDT_END = 9;
    private static final int HEADER_SIZE = 40;
    private static final Pattern NODE_NAME = Pattern.compile("[0-9a-zA-Z,._+-]{1,31}(@[0-9a-zA-Z,._+-]+)?");
    private static final Pattern PROPERTY_NAME = Pattern.compile("[0-9a-zA-Z,._+?#-]{1,31}");

    /** One open node: its path, the properties it has, whether it has a subnode yet. */
    private record Open(String path, Set<String> properties, boolean[] hasChild) {}

    private final ByteArrayOutputStream structure = new ByteArrayOutputStream();
    private final ByteArrayOutputStream strings = new ByteArrayOutputStream();
    private final Map<String, Integer> stringOffsets = new HashMap<>();
    private final List<long[]> reservations = new ArrayList<>();
    private final Deque<Open> open = new ArrayDeque<>();
    private boolean rootDone;
    private int nextPhandle = 1;

    /** An empty tree: begin with the root, {@code beginNode("")}. */
    public FdtWriter() {}

    /**
     * Reserves {@code [address, address + size)} from the kernel's use (the memory reservation map).
     *
     * @param address the range's guest-physical start
     * @param size the range's size in bytes, positive
     * @throws IllegalArgumentException if {@code size} is not positive
     */
    public void reserveMemory(long address, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("a memory reservation needs a positive size, not " + size);
        }
        reservations.add(new long[] {address, size});
    }

    /** {@return a fresh phandle, 1, 2, ..., for a node that others refer to} */
    public int allocatePhandle() {
        return nextPhandle++;
    }

    /**
     * Opens node {@code name} ("" for the root) inside the node that is open.
     *
     * @param name "" for the root, and only for it; else 1 to 31 of {@code [0-9a-zA-Z,._+-]}, then optionally
     *     {@code @} and a unit address, such as {@code memory@80000000}
     * @throws IllegalStateException if no node is open and either the root was closed already (a tree has one root) or
     *     {@code name} is not ""
     * @throws IllegalArgumentException if {@code name} is not a node name
     */
    public void beginNode(String name) {
        if (open.isEmpty()) {
            if (rootDone || !name.isEmpty()) {
                throw new IllegalStateException(
                        rootDone
                                ? "the tree has one root, and it was closed"
                                : "the first node is the root, named \"\", not \"" + name + "\"");
            }
        } else if (!NODE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "\"" + name + "\" is not a node name (1-31 of [0-9a-zA-Z,._+-], then @unit)");
        }
        Open parent = open.peek();
        if (parent != null) {
            parent.hasChild()[0] = true;
        }
        token(FDT_BEGIN_NODE);
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        structure.writeBytes(bytes);
        structure.write(0);
        pad(structure);
        open.push(new Open(
                parent == null ? "/" : parent.path().equals("/") ? "/" + name : parent.path() + "/" + name,
                new HashSet<>(),
                new boolean[1]));
    }

    /**
     * Closes the node that is open.
     *
     * @throws IllegalStateException if no node is open
     */
    public void endNode() {
        if (open.isEmpty()) {
            throw new IllegalStateException("no node is open");
        }
        open.pop();
        token(FDT_END_NODE);
        if (open.isEmpty()) {
            rootDone = true;
        }
    }

    /**
     * An empty property: a flag, such as {@code interrupt-controller}.
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     */
    public void property(String name) {
        property(name, new byte[0]);
    }

    /**
     * A 32-bit cell.
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     * @param value the cell, such as a phandle or a count; written big-endian
     */
    public void property(String name, int value) {
        property(name, ByteBuffer.allocate(4).putInt(value).array());
    }

    /**
     * A 64-bit value, as two cells.
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     * @param value written big-endian, the high cell first
     */
    public void property(String name, long value) {
        property(name, ByteBuffer.allocate(8).putLong(value).array());
    }

    /**
     * Cells.
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     * @param cells the cells in order, each written big-endian; copied, so the caller may reuse the array
     */
    public void property(String name, int[] cells) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * cells.length);
        for (int cell : cells) {
            bytes.putInt(cell);
        }
        property(name, bytes.array());
    }

    /**
     * 64-bit values, two cells each (a {@code reg} with #address-cells = #size-cells = 2).
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     * @param values the values in order, each written big-endian, high cell first; copied, so the caller may reuse the
     *     array
     */
    public void property(String name, long[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(8 * values.length);
        for (long value : values) {
            bytes.putLong(value);
        }
        property(name, bytes.array());
    }

    /**
     * A string.
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     * @param value written in UTF-8 with a terminating NUL
     * @throws IllegalArgumentException if {@code value} contains NUL
     */
    public void property(String name, String value) {
        propertyStrings(name, value);
    }

    /**
     * A string list, such as {@code compatible = "arm,pl031", "arm,primecell"}.
     *
     * @param name the property's name, checked as {@link #property(String, byte[])} says
     * @param values the strings in order, each written in UTF-8 with a terminating NUL
     * @throws IllegalArgumentException if a string contains NUL
     */
    public void propertyStrings(String name, String... values) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String value : values) {
            if (value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("property " + name + ": a string may not contain NUL");
            }
            bytes.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            bytes.write(0);
        }
        property(name, bytes.toByteArray());
    }

    /**
     * Raw bytes.
     *
     * @param name 1 to 31 of {@code [0-9a-zA-Z,._+?#-]}, such as {@code #address-cells}; each name is stored once, in
     *     the strings block
     * @param value the value as it goes into the blob, padded to 4 bytes; copied, so the caller may reuse the array
     * @throws IllegalStateException if no node is open, the node already has a subnode or already has this property
     * @throws IllegalArgumentException if {@code name} is not a property name
     */
    public void property(String name, byte[] value) {
        Open node = open.peek();
        if (node == null) {
            throw new IllegalStateException("property " + name + " outside any node");
        }
        if (!PROPERTY_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("\"" + name + "\" is not a property name (1-31 of [0-9a-zA-Z,._+?#-])");
        }
        if (node.hasChild()[0]) {
            throw new IllegalStateException("node " + node.path() + ": property " + name + " comes after a subnode");
        }
        if (!node.properties().add(name)) {
            throw new IllegalStateException("node " + node.path() + " already has property " + name);
        }
        token(FDT_PROP);
        putInt(structure, value.length);
        putInt(structure, stringOffset(name));
        structure.writeBytes(value);
        pad(structure);
    }

    /**
     * {@return the blob, with {@code bootCpuId} as the boot CPU's physical id}
     *
     * @param bootCpuId the header's {@code boot_cpuid_phys}: the {@code reg} of the boot CPU's node
     * @throws IllegalStateException if a node is still open or there is no root
     */
    public byte[] finish(int bootCpuId) {
        if (!open.isEmpty() || !rootDone) {
            throw new IllegalStateException(
                    open.isEmpty()
                            ? "the tree has no root"
                            : "node " + open.peek().path() + " is still open");
        }
        ByteArrayOutputStream struct = new ByteArrayOutputStream();
        struct.writeBytes(structure.toByteArray());
        putInt(struct, FDT_END);
        int reservationOffset = HEADER_SIZE; // already 8-byte aligned
        int structOffset = reservationOffset + 16 * (reservations.size() + 1);
        int stringsOffset = structOffset + struct.size();
        int total = stringsOffset + strings.size();
        ByteBuffer blob = ByteBuffer.allocate(total);
        blob.putInt(MAGIC)
                .putInt(total)
                .putInt(structOffset)
                .putInt(stringsOffset)
                .putInt(reservationOffset)
                .putInt(VERSION)
                .putInt(LAST_COMPATIBLE_VERSION)
                .putInt(bootCpuId)
                .putInt(strings.size())
                .putInt(struct.size());
        for (long[] reservation : reservations) {
            blob.putLong(reservation[0]).putLong(reservation[1]);
        }
        blob.putLong(0).putLong(0);
        blob.put(struct.toByteArray()).put(strings.toByteArray());
        return blob.array();
    }

    /** {@return the blob, with CPU 0 booting} */
    public byte[] finish() {
        return finish(0);
    }

    private int stringOffset(String name) {
        return stringOffsets.computeIfAbsent(name, n -> {
            int offset = strings.size();
            strings.writeBytes(n.getBytes(StandardCharsets.US_ASCII));
            strings.write(0);
            return offset;
        });
    }

    private void token(int token) {
        putInt(structure, token);
    }

    private static void putInt(ByteArrayOutputStream out, int value) {
        out.write(value >>> 24);
        out.write(value >>> 16);
        out.write(value >>> 8);
        out.write(value);
    }

    private static void pad(ByteArrayOutputStream out) {
        while (out.size() % 4 != 0) {
            out.write(0);
        }
    }
}
