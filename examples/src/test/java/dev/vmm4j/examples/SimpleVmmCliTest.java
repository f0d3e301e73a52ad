// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.examples.cli.CommandLineParser;
import dev.vmm4j.virtio.net.MacAddress;
import dev.vmm4j.virtio.net.NetConfig;
import dev.vmm4j.virtio.vsock.VhostVsockDevice;
import dev.vmm4j.virtio.vsock.VsockConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** simple-vmm's command line: parsing, and the errors a user gets (none of these tests needs KVM). */
class SimpleVmmCliTest {
    @TempDir
    Path dir;

    /** What one run of simple-vmm printed and returned. */
    record Result(int status, String out, String err) {}

    private static Result execute(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = SimpleVmm.execute(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** {@return {@code run} filled in from {@code args}, which start with "run"; nothing is checked or run yet} */
    private static RunCommand parseRun(String... args) {
        assertEquals("run", args[0]);
        RunCommand run = new RunCommand();
        assertEquals(
                CommandLineParser.Request.RUN,
                CommandLineParser.parse(run, Arrays.asList(args).subList(1, args.length)));
        return run;
    }

    @Test
    void runHasCrosvmsDefaults() {
        RunCommand run = parseRun("run");
        assertEquals(256, run.memoryMib);
        assertEquals(1, run.cpus);
        assertTrue(run.rng && run.balloon && run.acpi);
        assertFalse(run.serialInput);
        assertEquals(null, run.kernel, "no kernel: the demo guest");
        assertEquals("", run.commandLine());
    }

    @Test
    void disksKeepTheirCommandLineOrderAndRootGetsItsLetter() {
        RunCommand run = parseRun(
                "run",
                "--disk",
                "a.img",
                "--rwdisk",
                "b.img",
                "--root",
                "root.img",
                "-p",
                "quiet",
                "--params",
                "init=/bin/sh",
                "--mem",
                "512",
                "--cpus",
                "2",
                "--no-rng",
                "--no-balloon",
                "vmlinux");
        assertEquals(
                List.of(
                        new RunCommand.Disk(Path.of("a.img"), false, false),
                        new RunCommand.Disk(Path.of("b.img"), true, false),
                        new RunCommand.Disk(Path.of("root.img"), false, true)),
                run.disks);
        assertEquals("root=/dev/vdc ro quiet init=/bin/sh", run.commandLine());
        assertEquals(512, run.memoryMib);
        assertEquals(2, run.cpus);
        assertFalse(run.rng || run.balloon);
        assertEquals(Path.of("vmlinux"), run.kernel);
    }

    @Test
    void networkFlagsAreCrosvmsAndGoTogether() {
        RunCommand run = parseRun(
                "run",
                "--host_ip",
                "10.0.2.1",
                "--netmask",
                "255.255.255.0",
                "--mac",
                "52:54:00:12:34:56",
                "--tap-fd",
                "5",
                "--tap-fd",
                "6",
                "--vhost-net");
        List<NetConfig> networks = run.networks();
        assertEquals(3, networks.size(), "the new tap, then each inherited one");
        assertEquals(
                NetConfig.newTap((Inet4Address) InetAddress.ofLiteral("10.0.2.1"), (Inet4Address)
                                InetAddress.ofLiteral("255.255.255.0"))
                        .withTapMac(MacAddress.parse("52:54:00:12:34:56"))
                        .withVhost(true),
                networks.get(0));
        assertEquals(NetConfig.inheritedTap(6).withVhost(true), networks.get(2));
        assertTrue(parseRun("run").networks().isEmpty(), "no network unless asked");

        Result partial = execute("run", "--host-ip", "10.0.2.1", "--netmask", "255.255.255.0");
        assertEquals(2, partial.status());
        assertTrue(partial.err().contains("--host-ip, --netmask and --mac go together"), partial.err());
        Result badIp =
                execute("run", "--host-ip", "10.0.2", "--netmask", "255.255.255.0", "--mac", "52:54:00:12:34:56");
        assertEquals(2, badIp.status());
        assertTrue(badIp.err().contains("--host-ip: '10.0.2' is not an IPv4 address"), badIp.err());
        Result badMask =
                execute("run", "--host-ip", "10.0.2.1", "--netmask", "255.0.255.0", "--mac", "52:54:00:12:34:56");
        assertEquals(2, badMask.status());
        assertTrue(badMask.err().contains("255.0.255.0 is not a netmask"), badMask.err());
        Result badMac =
                execute("run", "--host-ip", "10.0.2.1", "--netmask", "255.255.255.0", "--mac", "01:00:5e:00:00:01");
        assertEquals(2, badMac.status());
        assertTrue(badMac.err().contains("--mac: '01:00:5e:00:00:01' is a multicast address"), badMac.err());
        Result notLiteral =
                execute("run", "--host-ip", "300.1.1.1", "--netmask", "255.255.255.0", "--mac", "02:00:00:00:00:01");
        assertEquals(2, notLiteral.status());
        assertTrue(notLiteral.err().contains("--host-ip: '300.1.1.1' is not an IPv4 address"), notLiteral.err());
        Result twice = execute("run", "--tap-fd", "5", "--tap-fd", "5");
        assertEquals(2, twice.status());
        assertTrue(twice.err().contains("names a tap twice"), twice.err());
        Result vhostAlone = execute("run", "--vhost-net");
        assertEquals(2, vhostAlone.status());
        assertTrue(vhostAlone.err().contains("--vhost-net needs a network"), vhostAlone.err());
    }

    @Test
    void sharedDirectoriesAreSrcTagAndOptionallyReadOnly() {
        RunCommand run = parseRun("run", "--shared-dir", "/srv/a:one", "--shared-dir", "/srv/with:colon:two:ro");
        assertEquals(
                List.of(
                        new RunCommand.SharedDirectory(Path.of("/srv/a"), "one", false),
                        new RunCommand.SharedDirectory(Path.of("/srv/with:colon"), "two", true)),
                run.sharedDirectories());
        Result noTag = execute("run", "--shared-dir", "/srv/a");
        assertEquals(2, noTag.status());
        assertTrue(noTag.err().contains("--shared-dir takes SRC:TAG"), noTag.err());
        Result twice = execute("run", "--shared-dir", "/srv/a:same", "--shared-dir", "/srv/b:same");
        assertEquals(2, twice.status());
        assertTrue(twice.err().contains("the tag same is given twice"), twice.err());
        Result missing = execute("run", "--shared-dir", dir.resolve("nowhere") + ":tag", "--no-rng", "--no-balloon");
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("nowhere"), missing.err());
    }

    @Test
    void cidIsVhostVsockAndVsockSocketIsVmm4jsOwn() {
        assertEquals(Optional.empty(), parseRun("run").vsock());
        assertEquals(
                Optional.of(VsockConfig.of(7).withVhost(true)),
                parseRun("run", "--cid", "7").vsock());
        assertEquals(
                Optional.of(VsockConfig.of(3).withUnixSocket(Path.of("/run/v.sock"))),
                parseRun("run", "--vsock-socket", "/run/v.sock").vsock());
        assertEquals(
                Optional.of(VsockConfig.of(9).withUnixSocket(Path.of("/run/v.sock"))),
                parseRun("run", "--cid", "9", "--vsock_socket", "/run/v.sock").vsock());
        Result reserved = execute("run", "--cid", "2");
        assertEquals(2, reserved.status());
        assertTrue(reserved.err().contains("--cid: a guest CID must be 3 to"), reserved.err());
        if (!Files.exists(VhostVsockDevice.VHOST_VSOCK)) {
            Result noVhost = execute("run", "--cid", "5", "--no-rng", "--no-balloon");
            assertEquals(1, noVhost.status());
            assertTrue(noVhost.err().contains("needs /dev/vhost-vsock"), noVhost.err());
        }
    }

    @Test
    void aSocketDirectoryGetsAPidName() {
        RunCommand run = parseRun("run", "--socket", dir.toString());
        assertEquals(dir.resolve("vmm4j-" + ProcessHandle.current().pid() + ".sock"), run.socketPath());
        assertEquals(
                dir.resolve("my.sock"),
                parseRun("run", "-s", dir.resolve("my.sock").toString()).socketPath());
    }

    @Test
    void badFlagsExitWith2AndSayWhy() {
        Result unknown = execute("run", "--frobnicate");
        assertEquals(2, unknown.status());
        assertEquals(
                "simple-vmm: unknown option '--frobnicate'\n" + "Try 'simple-vmm run --help' for more information.\n",
                unknown.err());
        assertFalse(unknown.err().contains("\tat "), "no stack trace");
        Result memory = execute("run", "--mem", "8");
        assertEquals(2, memory.status());
        assertTrue(memory.err().contains("--mem is in MiB, from 16 to 1048576, not 8"), memory.err());
        Result notANumber = execute("run", "--cpus", "many");
        assertEquals(2, notANumber.status());
        assertTrue(notANumber.err().contains("--cpus: 'many' is not a whole number"), notANumber.err());
        Result twoRoots = execute("run", "--root", "a", "--root", "b");
        assertEquals(2, twoRoots.status());
        assertTrue(twoRoots.err().contains("--root may be given only once"), twoRoots.err());
        Result noCommand = execute();
        assertEquals(2, noCommand.status());
        assertTrue(
                noCommand.err().contains("name a command: run, stop, balloon, status or create-qcow2"),
                noCommand.err());
        Result size = execute("balloon", "1X", "/tmp/x.sock");
        assertEquals(2, size.status());
        assertTrue(size.err().contains("\"1X\" is not a size"), size.err());
    }

    @Test
    void valuesFollowAsTheNextArgumentOrAnEqualsSignAndAliasesAreCrosvms() {
        assertEquals(512, parseRun("run", "--mem=512").memoryMib);
        assertEquals(512, parseRun("run", "-m", "512").memoryMib);
        assertEquals(512, parseRun("run", "-m512").memoryMib);
        assertEquals(4, parseRun("run", "-c=4").cpus);
        RunCommand aliases = parseRun(
                "run",
                "--host_ip=10.0.2.1",
                "--tap_fd",
                "7",
                "--vhost_net",
                "--disable_sandbox",
                "--shared_dir",
                "/srv:tag",
                "--vsock_socket=/run/v.sock");
        assertEquals(InetAddress.ofLiteral("10.0.2.1"), aliases.hostIp);
        assertEquals(List.of(7), aliases.tapFds);
        assertTrue(aliases.vhostNet && aliases.disableSandbox);
        assertEquals(List.of("/srv:tag"), aliases.sharedDirArguments);
        assertEquals(Path.of("/run/v.sock"), aliases.vsockSocket);
        RunCommand off = parseRun("run", "--no-acpi", "--no-rng", "--no-balloon", "--serial-input");
        assertFalse(off.acpi || off.rng || off.balloon);
        assertTrue(off.serialInput);
        assertTrue(parseRun("run", "--acpi", "--rng", "--balloon").acpi);
    }

    @Test
    void everyBadCommandLineIsStatus2WithTheReasonAndAHint() {
        String[][] cases = {
            {"--socket needs a value (PATH|DIR)", "run", "--socket", "--no-rng"},
            {"--mem needs a value (MiB)", "run", "--mem"},
            {"--mem may be given only once", "run", "--mem", "512", "-m", "256"},
            {"--[no-]rng may be given only once", "run", "--rng", "--no-rng"},
            {"--host-ip may be given only once", "run", "--host-ip", "10.0.0.1", "--host_ip", "10.0.0.2"},
            {"--mem: 'lots' is not a whole number", "run", "--mem=lots"},
            {"--tap-fd: 'x' is not a whole number", "run", "--tap-fd", "x"},
            {"--serial-input takes no value, but was given 'true'", "run", "--serial-input=true"},
            {"unexpected argument 'b' after KERNEL", "run", "a", "b"},
            {"unknown command 'frob'", "frob"},
            {"unknown option '--frob'", "--frob"},
            {"missing SOCKET (one or more)", "stop"},
            {"missing SOCKET (one or more)", "balloon", "1M"},
            {"missing PATH", "create-qcow2"},
            {"SIZE: \"1X\" is not a size", "create-qcow2", "x.qcow2", "1X"},
        };
        for (String[] bad : cases) {
            String[] args = Arrays.copyOfRange(bad, 1, bad.length);
            Result result = execute(args);
            assertEquals(2, result.status(), String.join(" ", args));
            List<String> lines = result.err().lines().toList();
            assertEquals(2, lines.size(), result.err());
            assertTrue(lines.get(0).startsWith("simple-vmm: " + bad[0]), result.err());
            String command = args[0].startsWith("-") || args[0].equals("frob") ? "" : " " + args[0];
            assertEquals("Try 'simple-vmm" + command + " --help' for more information.", lines.get(1));
            assertEquals("", result.out());
        }
    }

    @Test
    void versionIsPrintedForTheProgramAndForEachCommand() {
        for (String[] args : new String[][] {{"--version"}, {"-V"}, {"run", "--version"}, {"stop", "-V"}}) {
            Result version = execute(args);
            assertEquals(0, version.status());
            assertEquals("simple-vmm (vmm4j) 0.1.0\n", version.out());
            assertEquals("", version.err());
        }
    }

    @Test
    void runHelpListsEveryOptionWithItsDefault() {
        String help = execute("run", "--help").out();
        assertTrue(help.startsWith("Usage: simple-vmm run [OPTIONS] [KERNEL]\n"), help);
        for (String option : new String[] {
            "-m, --mem MiB",
            "-c, --cpus N",
            "-p, --params TEXT",
            "-r, --root PATH",
            "-d, --disk PATH",
            "--rwdisk PATH",
            "--qcow PATH",
            "--rwqcow PATH",
            "-i, --initrd PATH",
            "-s, --socket PATH|DIR",
            "--[no-]rng",
            "--[no-]balloon",
            "--serial-input",
            "--host-ip, --host_ip IPV4",
            "--netmask IPV4",
            "--mac MAC",
            "--tap-fd, --tap_fd FD",
            "--vhost-net, --vhost_net",
            "--shared-dir, --shared_dir SRC:TAG[:ro]",
            "--cid N",
            "--vsock-socket, --vsock_socket PATH",
            "--[no-]acpi",
            "--disable-sandbox, --disable_sandbox",
            "-h, --help",
            "-V, --version",
            "[KERNEL]"
        }) {
            assertTrue(help.contains("  " + option + " ") || help.contains("  " + option + "\n"), option + "\n" + help);
        }
        String flat = help.replaceAll("\\s+", " ");
        assertTrue(flat.contains("Guest memory in MiB. Default: 256."), help);
        assertTrue(flat.contains("Number of vCPUs. Default: 1."), help);
        assertTrue(flat.contains("A virtio entropy device. Default: on."), help);
        assertTrue(flat.contains("host memory pressure. Default: on."), help);
        assertTrue(flat.contains("kernels built without ACPI. Default: on."), help);
        assertTrue(flat.contains("Kernel command-line parameters. May be repeated."), help);
        assertTrue(flat.contains("write 'CONNECT <port>\\n'"), help);
        for (String line : help.lines().toList()) {
            assertTrue(line.length() <= 80, line);
        }
    }

    @Test
    void aMissingKernelIsOneLineAndStatus1() {
        Result result = execute("run", dir.resolve("vmlinux").toString());
        assertEquals(1, result.status());
        assertEquals(
                "simple-vmm: cannot build the VM: kernel " + dir.resolve("vmlinux") + " is not a readable file\n",
                result.err());
    }

    @Test
    void aMissingDiskIsOneLineAndStatus1() throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinux"), new byte[] {0x7f});
        Result result = execute("run", "--rwdisk", dir.resolve("none.img").toString(), kernel.toString());
        assertEquals(1, result.status());
        assertTrue(
                result.err().startsWith("simple-vmm: cannot build the VM: disk image " + dir.resolve("none.img")),
                result.err());
        assertEquals(1, result.err().lines().count());
    }

    @Test
    void controlCommandsSayWhenNoVmListens() {
        Result stop = execute("stop", dir.resolve("gone.sock").toString());
        assertEquals(1, stop.status());
        assertTrue(stop.err().startsWith("simple-vmm: no VM listens on " + dir.resolve("gone.sock")), stop.err());
        assertEquals(1, stop.err().lines().count());
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : new String[] {"run", "stop", "balloon", "status", "create-qcow2"}) {
            Result help = execute(command, "--help");
            assertEquals(0, help.status(), command);
            assertTrue(help.out().startsWith("Usage: simple-vmm " + command), help.out());
        }
        Result top = execute("--help");
        assertEquals(0, top.status());
        assertTrue(top.out().startsWith("Usage: simple-vmm COMMAND"), top.out());
        for (String command : new String[] {"run", "stop", "balloon", "status", "create-qcow2"}) {
            assertTrue(top.out().contains("\n  " + command + " "), command + "\n" + top.out());
        }
        Result stopHelp = execute("stop", "-h");
        assertTrue(stopHelp.out().contains("SOCKET... ") && stopHelp.out().contains("Control sockets"), stopHelp.out());
        Result qcowHelp = execute("create-qcow2", "--help");
        assertTrue(qcowHelp.out().startsWith("Usage: simple-vmm create-qcow2 [OPTIONS] PATH [SIZE]\n"), qcowHelp.out());
        assertTrue(qcowHelp.out().contains("-b, --backing FILE"), qcowHelp.out());
    }

    @Test
    void qcowDisksKeepTheirPlace() {
        RunCommand run = parseRun("run", "--qcow", "a.qcow2", "--rwdisk", "b.img", "--rwqcow", "c.qcow2");
        assertEquals(
                List.of(
                        new RunCommand.Disk(Path.of("a.qcow2"), false, false, true),
                        new RunCommand.Disk(Path.of("b.img"), true, false),
                        new RunCommand.Disk(Path.of("c.qcow2"), true, false, true)),
                run.disks);
    }

    @Test
    void createQcow2MakesAnImageWithOrWithoutBacking() throws Exception {
        Result created = execute("create-qcow2", dir.resolve("new.qcow2").toString(), "64M");
        assertEquals(0, created.status(), created.err());
        assertEquals(dir.resolve("new.qcow2") + ": qcow2, 67108864 bytes\n", created.out());
        try (var image = dev.vmm4j.virtio.block.Qcow2Image.open(dir.resolve("new.qcow2"), true)) {
            assertEquals(64L << 20, image.sizeBytes());
        }
        Files.write(dir.resolve("base.raw"), new byte[1 << 20]);
        Result overlay = execute(
                "create-qcow2",
                "--backing",
                "base.raw",
                dir.resolve("overlay.qcow2").toString());
        assertEquals(0, overlay.status(), overlay.err());
        assertTrue(overlay.out().endsWith("1048576 bytes, over base.raw (raw)\n"), overlay.out());
        Result exists = execute("create-qcow2", dir.resolve("new.qcow2").toString(), "1M");
        assertEquals(1, exists.status());
        assertEquals("simple-vmm: " + dir.resolve("new.qcow2") + " already exists\n", exists.err());
        Result noSize = execute("create-qcow2", dir.resolve("other.qcow2").toString());
        assertEquals(2, noSize.status());
        assertTrue(noSize.err().contains("give a SIZE"), noSize.err());
    }

    @Test
    void sizesTakeSuffixes() {
        assertEquals(4096, ByteSize.parse("4096"));
        assertEquals(1024, ByteSize.parse("1K"));
        assertEquals(3L << 20, ByteSize.parse("3m"));
        assertEquals(2L << 30, ByteSize.parse("2G"));
        for (String bad : new String[] {"", "G", "-1", "1.5G", "99999999999G", "12T"}) {
            assertThrows(IllegalArgumentException.class, () -> ByteSize.parse(bad), bad);
        }
    }
}
