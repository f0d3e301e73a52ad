// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.arch.x86_64.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The few ACPI Machine Language terms a VMM's DSDT needs (ACPI 6.5, section 20.2), each encoding itself: scopes,
 * devices, named objects, integers, strings, EISA ids, packages and resource templates ({@link AmlResource}). A tree of
 * these is the DSDT's body:
 *
 * <pre>{@code
 * Aml.scope("\\_SB_", Aml.device("COM1",
 *         Aml.name("_HID", Aml.eisaId("PNP0501")),
 *         Aml.name("_CRS", Aml.resources(AmlResource.io(0x3f8, 8), AmlResource.irq(4)))))
 * }</pre>
 */
public sealed interface Aml {
    /** Appends this term's encoding to {@code out}. */
    void encode(ByteArrayOutputStream out);

    /** {@return this term's encoding} */
    default byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        encode(out);
        return out.toByteArray();
    }

    /** {@code Scope(path) { terms }}. */
    static Aml scope(String path, Aml... terms) {
        return new Block(new byte[] {0x10}, path, List.of(terms));
    }

    /** {@code Device(name) { terms }}. */
    static Aml device(String name, Aml... terms) {
        return new Block(new byte[] {0x5b, (byte) 0x82}, name, List.of(terms));
    }

    /** {@code Name(name, value)}. */
    static Aml name(String name, Aml value) {
        return new Name(name, value);
    }

    /** An integer in its shortest encoding (Zero, One, or a byte, word, dword or qword constant). */
    static Aml integer(long value) {
        return new IntegerConstant(value);
    }

    /** A string constant (printable ASCII). */
    static Aml string(String value) {
        return new StringConstant(value);
    }

    /** {@code EISAID("PNP0501")}: three letters and four hex digits, compressed into a dword. */
    static Aml eisaId(String id) {
        return new IntegerConstant(Encoding.eisaId(id));
    }

    /** {@code Package() { elements }}. */
    static Aml pkg(Aml... elements) {
        return new Package(List.of(elements));
    }

    /** {@code ResourceTemplate() { resources }}: a buffer of resource descriptors closed by an end tag. */
    static Aml resources(AmlResource... resources) {
        return new ResourceTemplate(List.of(resources));
    }

    /** A scope or device: an opcode, a package length, a name, and the terms inside. */
    record Block(byte[] opcode, String name, List<Aml> terms) implements Aml {
        /** Checks the name. */
        public Block {
            opcode = Objects.requireNonNull(opcode, "opcode").clone();
            Objects.requireNonNull(name, "name");
            terms = List.copyOf(terms);
            Encoding.nameString(name); // fail early on a bad name
        }

        @Override
        public void encode(ByteArrayOutputStream out) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(Encoding.nameString(name));
            terms.forEach(term -> term.encode(body));
            out.writeBytes(opcode);
            Encoding.withPackageLength(out, body.toByteArray());
        }
    }

    /** {@code Name(name, value)}. */
    record Name(String name, Aml value) implements Aml {
        /** Checks the arguments. */
        public Name {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            Encoding.nameString(name);
        }

        @Override
        public void encode(ByteArrayOutputStream out) {
            out.write(0x08);
            out.writeBytes(Encoding.nameString(name));
            value.encode(out);
        }
    }

    /** An integer constant. */
    record IntegerConstant(long value) implements Aml {
        @Override
        public void encode(ByteArrayOutputStream out) {
            if (value == 0 || value == 1) {
                out.write((int) value); // ZeroOp, OneOp
            } else if ((value & ~0xffL) == 0) {
                out.write(0x0a);
                Encoding.littleEndian(out, value, 1);
            } else if ((value & ~0xffffL) == 0) {
                out.write(0x0b);
                Encoding.littleEndian(out, value, 2);
            } else if ((value & ~0xffff_ffffL) == 0) {
                out.write(0x0c);
                Encoding.littleEndian(out, value, 4);
            } else {
                out.write(0x0e);
                Encoding.littleEndian(out, value, 8);
            }
        }
    }

    /** A string constant. */
    record StringConstant(String value) implements Aml {
        /** Checks that the string is printable ASCII (AML strings are ASCII and NUL-terminated). */
        public StringConstant {
            Objects.requireNonNull(value, "value");
            if (!value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("an AML string is printable ASCII: \"" + value + "\"");
            }
        }

        @Override
        public void encode(ByteArrayOutputStream out) {
            out.write(0x0d);
            out.writeBytes(value.getBytes(StandardCharsets.US_ASCII));
            out.write(0);
        }
    }

    /** A package of up to 255 elements. */
    record Package(List<Aml> elements) implements Aml {
        /** Checks the count. */
        public Package {
            elements = List.copyOf(elements);
            if (elements.size() > 255) {
                throw new IllegalArgumentException("a package holds at most 255 elements, not " + elements.size());
            }
        }

        @Override
        public void encode(ByteArrayOutputStream out) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(elements.size());
            elements.forEach(element -> element.encode(body));
            out.write(0x12);
            Encoding.withPackageLength(out, body.toByteArray());
        }
    }

    /** A buffer holding resource descriptors and the end tag. */
    record ResourceTemplate(List<AmlResource> resources) implements Aml {
        /** Copies the list. */
        public ResourceTemplate {
            resources = List.copyOf(resources);
        }

        @Override
        public void encode(ByteArrayOutputStream out) {
            ByteArrayOutputStream descriptors = new ByteArrayOutputStream();
            resources.forEach(resource -> descriptors.writeBytes(resource.bytes()));
            descriptors.write(0x79); // end tag
            descriptors.write(0); // checksum 0: "the descriptors are not checksummed"
            byte[] data = descriptors.toByteArray();
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            new IntegerConstant(data.length).encode(body);
            body.writeBytes(data);
            out.write(0x11);
            Encoding.withPackageLength(out, body.toByteArray());
        }
    }

    /** The encodings the terms share. */
    final class Encoding {
        // Compiled once: every VM's DSDT names dozens of objects.
        private static final Pattern NAME_SEGMENT = Pattern.compile("[A-Z_][A-Z0-9_]{0,3}");
        private static final Pattern EISA_ID = Pattern.compile("[A-Z]{3}[0-9A-F]{4}");
        private static final Pattern DOT = Pattern.compile("\\.");

        private Encoding() {}

        /**
         * {@return a name string: an optional root prefix {@code \}, then 1 to 255 dot-separated segments of up to 4
         * characters, each padded with {@code _}}
         */
        static byte[] nameString(String path) {
            Objects.requireNonNull(path, "path");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            String rest = path;
            if (rest.startsWith("\\")) {
                out.write('\\');
                rest = rest.substring(1);
            }
            String[] segments = DOT.split(rest, -1);
            if (rest.isEmpty() || segments.length > 255) {
                throw new IllegalArgumentException("not an AML name: \"" + path + "\"");
            }
            if (segments.length == 2) {
                out.write(0x2e); // DualNamePrefix
            } else if (segments.length > 2) {
                out.write(0x2f); // MultiNamePrefix
                out.write(segments.length);
            }
            for (String segment : segments) {
                if (!NAME_SEGMENT.matcher(segment).matches()) {
                    throw new IllegalArgumentException(
                            "not an AML name segment: \"" + segment + "\" in \"" + path + "\"");
                }
                out.writeBytes((segment + "___").substring(0, 4).getBytes(StandardCharsets.US_ASCII));
            }
            return out.toByteArray();
        }

        /** Writes a PkgLength for {@code body} (the length counts its own bytes too), then the body. */
        static void withPackageLength(ByteArrayOutputStream out, byte[] body) {
            int length = body.length + 1;
            if (length < 0x40) {
                out.write(length);
            } else {
                int extra = body.length + 2 < 1 << 12 ? 1 : body.length + 3 < 1 << 20 ? 2 : 3;
                length = body.length + 1 + extra;
                if (length >= 1 << 28) {
                    throw new IllegalArgumentException("an AML package of " + body.length + " bytes is too long");
                }
                out.write((extra << 6) | (length & 0x0f));
                for (int i = 0; i < extra; i++) {
                    out.write((length >>> (4 + 8 * i)) & 0xff);
                }
            }
            out.writeBytes(body);
        }

        static void littleEndian(ByteArrayOutputStream out, long value, int bytes) {
            for (int i = 0; i < bytes; i++) {
                out.write((int) (value >>> (8 * i)) & 0xff);
            }
        }

        /** {@return the dword of an EISA id such as {@code PNP0501}} */
        static long eisaId(String id) {
            if (!EISA_ID.matcher(id).matches()) {
                throw new IllegalArgumentException(
                        "an EISA id is three capitals and four hex digits, not \"" + id + "\"");
            }
            int c0 = id.charAt(0) - 0x40;
            int c1 = id.charAt(1) - 0x40;
            int c2 = id.charAt(2) - 0x40;
            int product = java.lang.Integer.parseInt(id.substring(3), 16);
            int b0 = (c0 << 2) | (c1 >> 3);
            int b1 = ((c1 & 7) << 5) | c2;
            int b2 = product >> 8;
            int b3 = product & 0xff;
            return b0 | (b1 << 8) | (b2 << 16) | ((long) b3 << 24);
        }
    }
}
