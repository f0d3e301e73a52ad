package dev.vmm4j.virtio.block.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs qemu-img and qemu-io, the real peer the qcow2 tests check against. */
final class QemuImg {
    /** What a command printed and returned. */
    record Result(int status, String out, String err) {
        Result expect(int expected) {
            if (status != expected) {
                throw new AssertionError("exit status " + status + ", expected " + expected + "\nstdout:\n" + out + "\nstderr:\n" + err);
            }
            return this;
        }
    }

    private QemuImg() {}

    static boolean available() {
        try {
            return run("qemu-img", "--version").status() == 0 && run("qemu-io", "--version").status() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    static Result img(Object... args) throws IOException {
        return run("qemu-img", args);
    }

    static Result io(Object... args) throws IOException {
        return run("qemu-io", args);
    }

    private static Result run(String tool, Object... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(tool);
        for (Object arg : args) {
            command.add(arg instanceof Path path ? path.toString() : String.valueOf(arg));
        }
        Process process = new ProcessBuilder(command).start();
        try {
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in 2 minutes");
            }
            return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + command, e);
        }
    }
}
