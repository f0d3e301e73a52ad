// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parser's rules, on a command made for them: every kind of option and parameter. */
class CommandLineParserTest {
    /** {@code copy [OPTIONS] SOURCE [TARGET]}: a value with a default, a repeatable, a negatable and a flag. */
    static class Copy implements Command {
        int count;
        final List<String> order = new ArrayList<>();
        boolean verify;
        boolean force;
        Path source;
        Path target;

        @Override
        public String name() {
            return "copy";
        }

        @Override
        public List<String> description() {
            return List.of("Copies SOURCE.", "A second paragraph.");
        }

        @Override
        public List<Option> options() {
            return List.of(
                    Option.value("-n, --count", "N", "How many copies.", n -> count = Values.toInt(n))
                            .withDefault("1"),
                    Option.repeatable("-x, --exclude", "GLOB", "Leave GLOB out.", glob -> order.add("x:" + glob)),
                    Option.repeatable(
                            "--include, --include_also", "GLOB", "Keep GLOB.", glob -> order.add("i:" + glob)),
                    Option.negatable("--verify", true, "Read the copy back.", on -> verify = on),
                    Option.flag("-f, --force", "Overwrite TARGET.", () -> force = true));
        }

        @Override
        public List<Parameter> parameters() {
            return List.of(
                    Parameter.required("SOURCE", "What to copy.", path -> source = Values.toPath(path)),
                    Parameter.optional("TARGET", "Where to.", path -> target = Values.toPath(path)));
        }

        @Override
        public int call(PrintStream out, PrintStream err) {
            return 0;
        }
    }

    private static Copy parse(String... args) {
        Copy copy = new Copy();
        assertEquals(CommandLineParser.Request.RUN, CommandLineParser.parse(copy, List.of(args)));
        return copy;
    }

    private static String error(String... args) {
        UsageException e = assertThrows(
                UsageException.class,
                () -> CommandLineParser.parse(new Copy(), List.of(args)),
                List.of(args)::toString);
        assertEquals(0, e.getStackTrace().length, "a usage error carries no stack trace");
        return e.getMessage();
    }

    @Test
    void defaultsApplyWhenAnOptionIsNotGiven() {
        Copy copy = parse("a");
        assertEquals(1, copy.count);
        assertTrue(copy.verify);
        assertFalse(copy.force);
        assertEquals(Path.of("a"), copy.source);
        assertEquals(null, copy.target);
    }

    @Test
    void aValueIsTheNextArgumentOrFollowsAnEqualsSignOrAShortName() {
        assertEquals(3, parse("--count", "3", "a").count);
        assertEquals(4, parse("--count=4", "a").count);
        assertEquals(5, parse("-n", "5", "a").count);
        assertEquals(6, parse("-n6", "a").count);
        assertEquals(7, parse("-n=7", "a").count);
        assertEquals(List.of("x:a=b"), parse("--exclude=a=b", "a").order, "only the first = splits");
        assertEquals(List.of("x:"), parse("--exclude=", "a").order, "an empty value is a value");
        assertEquals(-2, parse("a", "--count", "-2").count, "a negative number is a value, not an option");
    }

    @Test
    void optionsAndParametersMixAndDoubleDashEndsTheOptions() {
        Copy copy = parse("a", "-f", "b", "--no-verify");
        assertEquals(Path.of("a"), copy.source);
        assertEquals(Path.of("b"), copy.target);
        assertTrue(copy.force);
        assertFalse(copy.verify);
        Copy dashed = parse("--", "-f", "-");
        assertEquals(Path.of("-f"), dashed.source);
        assertEquals(Path.of("-"), dashed.target);
        assertFalse(dashed.force);
    }

    @Test
    void repeatableOptionsKeepCommandLineOrderAcrossOptionsAndAliases() {
        assertEquals(
                List.of("x:1", "i:2", "x:3", "i:4"),
                parse("-x", "1", "--include", "2", "--exclude=3", "--include_also", "4", "a").order);
    }

    @Test
    void aNegatableOptionIsOnOrOffOnceAtMost() {
        assertTrue(parse("--verify", "a").verify);
        assertFalse(parse("--no-verify", "a").verify);
        assertEquals("--[no-]verify may be given only once", error("--verify", "--no-verify", "a"));
        assertEquals("--[no-]verify may be given only once", error("--no-verify", "--no-verify", "a"));
    }

    @Test
    void aSingleValueOptionGivenTwiceIsAnErrorNotAnOverride() {
        assertEquals("--count may be given only once", error("-n", "2", "--count", "3", "a"));
        assertEquals("--force may be given only once", error("-f", "--force", "a"));
    }

    @Test
    void unknownOptionsAreNamed() {
        assertEquals("unknown option '--frobnicate'", error("--frobnicate", "a"));
        assertEquals("unknown option '--frobnicate'", error("a", "--frobnicate=3"), "the value is not part of it");
        assertEquals("unknown option '-q'", error("-q", "a"));
        assertEquals("unknown option '-fx'", error("-fx", "a"), "flags do not cluster");
        assertEquals("unknown option '--no-force'", error("--no-force", "a"), "only negatable options have --no-");
    }

    @Test
    void aMissingValueIsNamedWithWhatItShouldBe() {
        assertEquals("--count needs a value (N)", error("a", "--count"));
        assertEquals("-x needs a value (GLOB)", error("-x", "--no-verify", "a"), "an option is not a value");
        assertEquals("-x needs a value (GLOB)", error("-x", "-n3", "a"));
        assertEquals(List.of("x:--no-verify"), parse("-x=--no-verify", "a").order, "unless given with =");
    }

    @Test
    void aBadValueIsNamedWithTheReason() {
        assertEquals("--count: 'many' is not a whole number", error("--count", "many", "a"));
        assertEquals("-n: '' is not a whole number", error("-n=", "a"), "named as written");
        assertEquals(
                "--count: '99999999999' is out of range (-2147483648 to 2147483647)",
                error("--count=99999999999", "a"));
        assertEquals("SOURCE: a path cannot be empty", error(""));
        assertEquals("SOURCE: 'a\0b' is not a path: Nul character not allowed", error("a\0b"));
    }

    @Test
    void aFlagTakesNoValue() {
        assertEquals("--force takes no value, but was given 'yes'", error("--force=yes", "a"));
        assertEquals("--no-verify takes no value, but was given 'true'", error("--no-verify=true", "a"));
    }

    @Test
    void parametersAreCountedAndNamed() {
        assertEquals("missing SOURCE", error());
        assertEquals("missing SOURCE", error("-f"));
        assertEquals("unexpected argument 'c' after TARGET", error("a", "b", "c"));
    }

    @Test
    void aRepeatedParameterTakesTheRestAndNeedsOne() {
        List<String> sockets = new ArrayList<>();
        Command many = new Copy() {
            @Override
            public List<Parameter> parameters() {
                return List.of(
                        Parameter.required("SIZE", "A size.", size -> {}),
                        Parameter.oneOrMore("SOCKET", "Sockets.", sockets::add));
            }
        };
        assertEquals(CommandLineParser.Request.RUN, CommandLineParser.parse(many, List.of("1", "a", "-f", "b")));
        assertEquals(List.of("a", "b"), sockets);
        UsageException e = assertThrows(UsageException.class, () -> CommandLineParser.parse(many, List.of("1")));
        assertEquals("missing SOCKET (one or more)", e.getMessage());
    }

    @Test
    void helpAndVersionWinOverTheRest() {
        assertEquals(CommandLineParser.Request.HELP, CommandLineParser.parse(new Copy(), List.of("--help")));
        assertEquals(CommandLineParser.Request.HELP, CommandLineParser.parse(new Copy(), List.of("-n", "2", "-h")));
        assertEquals(
                CommandLineParser.Request.VERSION, CommandLineParser.parse(new Copy(), List.of("--version", "-q")));
        assertEquals(CommandLineParser.Request.VERSION, CommandLineParser.parse(new Copy(), List.of("-V")));
    }

    @Test
    void aCommandCannotUseANameTwice() {
        Command clash = new Copy() {
            @Override
            public List<Option> options() {
                return List.of(Option.flag("-f", "One.", () -> {}), Option.flag("-f, --fast", "Two.", () -> {}));
            }
        };
        assertThrows(IllegalStateException.class, () -> CommandLineParser.parse(clash, List.of()));
        Command help = new Copy() {
            @Override
            public List<Option> options() {
                return List.of(Option.flag("-h, --human", "Reserved name.", () -> {}));
            }
        };
        assertThrows(IllegalStateException.class, () -> CommandLineParser.parse(help, List.of()));
    }

    @Test
    void optionNamesAreCheckedWhereTheyAreDefined() {
        for (String bad : new String[] {"mem", "-mem", "---mem", "--", "-", "--mem,--m", "--mem x", "-m, "}) {
            assertThrows(IllegalArgumentException.class, () -> Option.flag(bad, "", () -> {}), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> Option.negatable("-r", true, "", on -> {}));
        assertThrows(IllegalArgumentException.class, () -> Option.negatable("--rng, --random", true, "", on -> {}));
        assertThrows(
                IllegalStateException.class,
                () -> Option.flag("--on", "", () -> {}).withDefault("x"));
        assertEquals(
                List.of("-m", "--mem", "--m_em"),
                Option.flag("-m, --mem, --m_em", "", () -> {}).names());
    }

    @Test
    void helpListsEveryOptionWithItsDefaultAndEveryParameter() {
        String help = Help.of("tool", new Copy());
        assertEquals("""
                Usage: tool copy [OPTIONS] SOURCE [TARGET]
                Copies SOURCE.
                A second paragraph.

                Parameters:
                      SOURCE          What to copy.
                      [TARGET]        Where to.

                Options:
                  -n, --count N       How many copies. Default: 1.
                  -x, --exclude GLOB  Leave GLOB out. May be repeated.
                      --include, --include_also GLOB
                                      Keep GLOB. May be repeated.
                      --[no-]verify   Read the copy back. Default: on.
                  -f, --force         Overwrite TARGET.
                  -h, --help          Show this help and exit.
                  -V, --version       Print the version and exit.
                """, help);
    }

    @Test
    void helpWrapsLongDescriptionsTo80Columns() {
        String words = "word ".repeat(40).strip();
        Command wordy = new Copy() {
            @Override
            public List<Option> options() {
                return List.of(Option.flag("--wordy", words, () -> {}));
            }
        };
        String help = Help.of("tool", wordy);
        for (String line : help.lines().toList()) {
            assertTrue(line.length() <= Help.WIDTH, line);
        }
        assertEquals(
                words,
                help.substring(help.indexOf("--wordy") + 7, help.indexOf("  -h, --help"))
                        .strip()
                        .replaceAll("\\s+", " "));
    }
}
