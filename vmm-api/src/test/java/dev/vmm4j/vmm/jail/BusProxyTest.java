// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmm4j.kvm.bindings.LinuxHeaders;
import dev.vmm4j.kvm.bindings.pollfd;
import dev.vmm4j.vmm.bus.BusDevice;
import dev.vmm4j.vmm.sys.Libc;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A {@link BusProxy} over one end of a socket pair and a {@link BusProxyServer} over the other, on its own thread, as
 * the VMM and a device process hold them.
 */
class BusProxyTest {
    /** Long enough never to run out on a loaded machine when the server does answer. */
    private static final Duration ANSWERED = Duration.ofSeconds(30);

    /** For the servers that never answer: the outcome is asserted, never the time taken. */
    private static final Duration UNANSWERED = Duration.ofMillis(200);

    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * A 16-byte register file that records each access. Control 1 adds its argument to the 8-byte register 0 and
     * returns the sum; control 2 returns twice its argument; any other is refused.
     */
    static final class RegisterFile implements BusDevice, DeviceControl {
        record Access(String kind, long offset, int length) {}

        private final byte[] registers = new byte[16];
        private final List<Access> accesses = new ArrayList<>();

        @Override
        public synchronized void read(long offset, MemorySegment data) {
            accesses.add(new Access("read", offset, (int) data.byteSize()));
            MemorySegment.copy(MemorySegment.ofArray(registers), offset, data, 0, data.byteSize());
        }

        @Override
        public synchronized void write(long offset, MemorySegment data) {
            accesses.add(new Access("write", offset, (int) data.byteSize()));
            MemorySegment.copy(data, 0, MemorySegment.ofArray(registers), offset, data.byteSize());
        }

        @Override
        public synchronized long call(int selector, long argument) {
            if (selector == 2) {
                return 2 * argument;
            }
            if (selector != 1) {
                throw new IllegalArgumentException("no operation " + selector);
            }
            long value = MemorySegment.ofArray(registers).get(LONG_LE, 0) + argument;
            MemorySegment.ofArray(registers).set(LONG_LE, 0, value);
            return value;
        }

        synchronized byte[] registers() {
            return registers.clone();
        }

        synchronized void set(int offset, byte... values) {
            System.arraycopy(values, 0, registers, offset, values.length);
        }

        synchronized List<Access> accesses() {
            return List.copyOf(accesses);
        }
    }

    private final List<FdSocket> vmmEnds = new ArrayList<>();
    private final List<FdSocket> deviceEnds = new ArrayList<>();
    private final List<Thread> servers = new ArrayList<>();
    private final List<Throwable> serverErrors = new CopyOnWriteArrayList<>();
    private final List<DeviceProcessException> failures = new CopyOnWriteArrayList<>();

    /** Hangs up the VMM's ends first, so that each server sees the end of its stream and returns. */
    @AfterEach
    void hangUp() throws InterruptedException {
        vmmEnds.forEach(FdSocket::close);
        for (Thread server : servers) {
            server.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(server.isAlive(), server.getName() + " ends when the VMM hangs up");
        }
        deviceEnds.forEach(FdSocket::close);
        assertEquals(List.of(), serverErrors);
    }

    /** {@return the VMM's end and the device's end of a new socket pair, both closed after the test} */
    private FdSocket[] pair() {
        FdSocket[] pair = FdSocket.pair();
        vmmEnds.add(pair[0]);
        deviceEnds.add(pair[1]);
        return pair;
    }

    /** Runs {@code body} as the device process's side, on a thread of its own. */
    private void onThread(String name, DeviceSide body) {
        servers.add(Thread.ofPlatform().daemon().name(name).start(() -> {
            try {
                body.run();
            } catch (Throwable t) {
                serverErrors.add(t);
            }
        }));
    }

    @FunctionalInterface
    private interface DeviceSide {
        void run() throws IOException;
    }

    /** {@return a proxy named "rtc" served by {@code device} on a thread of its own} */
    private BusProxy served(RegisterFile device) {
        FdSocket[] pair = pair();
        BusProxyServer server = new BusProxyServer(pair[1], device, device);
        onThread("bus-proxy-server", server::serve);
        return new BusProxy("rtc", pair[0], ANSWERED, failures::add);
    }

    private static byte[] read(BusProxy proxy, long offset, int length) {
        MemorySegment data = Arena.ofAuto().allocate(length);
        data.fill((byte) 0x5a);
        proxy.read(offset, data);
        return data.toArray(ValueLayout.JAVA_BYTE);
    }

    private static void write(BusProxy proxy, long offset, byte... bytes) {
        proxy.write(offset, MemorySegment.ofArray(bytes));
    }

    private static byte[] ascending(int from, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (from + i);
        }
        return bytes;
    }

    private static byte[] allOnes(int length) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) 0xff);
        return bytes;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 8})
    void aWriteReachesTheDeviceAtItsOffsetWithItsBytesInOrder(int length) {
        RegisterFile device = new RegisterFile();
        BusProxy proxy = served(device);
        int offset = 16 - length;

        write(proxy, offset, ascending(0xa1, length));

        byte[] expected = new byte[16];
        System.arraycopy(ascending(0xa1, length), 0, expected, offset, length);
        assertEquals(HexFormat.of().formatHex(expected), HexFormat.of().formatHex(device.registers()));
        assertEquals(List.of(new RegisterFile.Access("write", offset, length)), device.accesses());
        assertEquals(List.of(), failures);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4, 8})
    void aReadReturnsTheDevicesBytesAtItsOffset(int length) {
        RegisterFile device = new RegisterFile();
        device.set(0, ascending(0x10, 16));
        BusProxy proxy = served(device);

        assertArrayEquals(ascending(0x10 + 3, length), read(proxy, 3, length));
        assertEquals(List.of(new RegisterFile.Access("read", 3, length)), device.accesses());
    }

    @Test
    void anEightByteWriteIsLittleEndianOnTheDeviceSide() {
        RegisterFile device = new RegisterFile();
        BusProxy proxy = served(device);
        MemorySegment value = Arena.ofAuto().allocate(8);
        value.set(LONG_LE, 0, 0x0807_0605_0403_0201L);

        proxy.write(8, value);

        assertArrayEquals(ascending(1, 8), Arrays.copyOfRange(device.registers(), 8, 16));
    }

    @Test
    void anAccessLongerThanEightBytesIsAnsweredWithOnesWithoutARequest() {
        RegisterFile device = new RegisterFile();
        BusProxy proxy = served(device);

        assertArrayEquals(allOnes(16), read(proxy, 0, 16));
        write(proxy, 0, ascending(1, 16));

        assertEquals(List.of(), device.accesses());
        assertArrayEquals(new byte[16], device.registers());
        assertFalse(proxy.isBroken());
        assertArrayEquals(new byte[4], read(proxy, 0, 4), "the proxy still works");
    }

    @Test
    void aControlCallReturnsTheDevicesResult() {
        RegisterFile device = new RegisterFile();
        BusProxy proxy = served(device);

        assertEquals(40, proxy.control(1, 40));
        assertEquals(42, proxy.control(1, 2));
        assertEquals(-1, proxy.control(1, -43), "the result keeps all 64 bits");
    }

    @Test
    void aControlTheDeviceRefusesFailsTheCallerButNotTheProxy() {
        RegisterFile device = new RegisterFile();
        BusProxy proxy = served(device);

        DeviceProcessException e = assertThrows(DeviceProcessException.class, () -> proxy.control(9, 5));
        assertTrue(e.getMessage().contains("rtc"), e.getMessage());
        assertTrue(e.getMessage().contains("refused operation 9"), e.getMessage());

        assertFalse(proxy.isBroken());
        assertEquals(List.of(), failures, "a refusal is the caller's to handle, not the VM's end");
        assertEquals(7, proxy.control(1, 7));
        write(proxy, 8, (byte) 0x33);
        assertArrayEquals(new byte[] {0x33}, read(proxy, 8, 1));
    }

    @Test
    void aDeviceThatThrowsOnAnAccessLeavesTheProxyWorking() {
        RegisterFile registers = new RegisterFile();
        BusDevice throwing = new BusDevice() {
            @Override
            public void read(long offset, MemorySegment data) {
                if (offset == 15) {
                    throw new IllegalStateException("no register at 15");
                }
                registers.read(offset, data);
            }

            @Override
            public void write(long offset, MemorySegment data) {
                if (offset == 15) {
                    throw new IllegalStateException("no register at 15");
                }
                registers.write(offset, data);
            }
        };
        FdSocket[] pair = pair();
        BusProxyServer server = new BusProxyServer(pair[1], throwing, registers);
        onThread("throwing-device-server", server::serve);
        BusProxy proxy = new BusProxy("rtc", pair[0], ANSWERED, failures::add);

        read(proxy, 15, 1);
        write(proxy, 15, (byte) 1);

        assertFalse(proxy.isBroken(), "the device process answered: it is not broken");
        assertEquals(List.of(), failures);
        write(proxy, 0, (byte) 9);
        assertArrayEquals(new byte[] {9}, read(proxy, 0, 1));
    }

    @Test
    void concurrentAccessesAllGetTheirOwnAnswers() throws Exception {
        RegisterFile device = new RegisterFile();
        BusProxy proxy = served(device);
        int threads = 4;
        int rounds = 250;

        // Each thread owns one 4-byte register: if answers crossed between threads, one would read another's value.
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int register = 4 * t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < rounds; i++) {
                        byte[] value = ascending(register * 16 + i, 4);
                        write(proxy, register, value);
                        assertArrayEquals(value, read(proxy, register, 4), "register " + register + " round " + i);
                        assertArrayEquals(Arrays.copyOfRange(value, 1, 3), read(proxy, register + 1, 2));
                        long argument = ((long) register << 32) | i;
                        assertEquals(2 * argument, proxy.control(2, argument));
                    }
                    return null;
                }));
            }
            for (Future<?> future : done) {
                future.get(2, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(threads * rounds * 3, device.accesses().size(), "every access reached the device once");
        assertFalse(proxy.isBroken());
        assertEquals(List.of(), failures);
    }

    @Test
    void aServerThatNeverAnswersBreaksTheProxyOnce() throws Exception {
        FdSocket[] pair = pair();
        MemorySegment request = Arena.ofAuto().allocate(ProxyMessages.SIZE);
        onThread("silent-server", () -> {
            // Takes the one request and never answers it.
            Libc.read(pair[1].fd(), request, 0, ProxyMessages.SIZE);
        });
        BusProxy proxy = new BusProxy("rtc", pair[0], UNANSWERED, failures::add);

        byte[] first = read(proxy, 4, 4);

        assertArrayEquals(allOnes(4), first, "an unanswered read reads as absent hardware");
        assertTrue(proxy.isBroken());
        assertEquals(1, failures.size(), failures.toString());
        String message = failures.getFirst().getMessage();
        assertTrue(message.contains("rtc"), message);
        assertTrue(message.contains("did not answer"), message);
        assertTrue(message.contains("read at offset 0x4"), message);

        // From now on nothing is sent: a later read is all ones and a write reaches nobody.
        servers.getFirst().join(TimeUnit.SECONDS.toMillis(30));
        assertArrayEquals(allOnes(8), read(proxy, 0, 8));
        write(proxy, 0, ascending(1, 4));
        assertFalse(hasMessage(pair[1]), "no request went out after the failure");
        DeviceProcessException control = assertThrows(DeviceProcessException.class, () -> proxy.control(1, 1));
        assertTrue(control.getMessage().contains("rtc"), control.getMessage());
        assertEquals(1, failures.size(), "the failure handler is told once");
    }

    /** {@return whether a message waits at {@code socket}, without waiting for one} */
    private static boolean hasMessage(FdSocket socket) throws IOException {
        MemorySegment pollFd = Arena.ofAuto().allocate(pollfd.layout());
        pollfd.fd(pollFd, socket.fd());
        pollfd.events(pollFd, (short) LinuxHeaders.POLLIN());
        return FdSocket.poll(pollFd, 0);
    }

    @Test
    void aServerThatHangsUpMidRequestBreaksTheProxy() throws Exception {
        FdSocket[] pair = pair();
        MemorySegment request = Arena.ofAuto().allocate(ProxyMessages.SIZE);
        onThread("hanging-up-server", () -> {
            Libc.read(pair[1].fd(), request, 0, ProxyMessages.SIZE);
            pair[1].close();
        });
        BusProxy proxy = new BusProxy("rtc", pair[0], ANSWERED, failures::add);

        write(proxy, 2, (byte) 1);

        assertTrue(proxy.isBroken());
        assertEquals(1, failures.size(), failures.toString());
        String message = failures.getFirst().getMessage();
        assertTrue(message.contains("rtc"), message);
        assertTrue(message.contains("hung up"), message);
        assertTrue(message.contains("write at offset 0x2"), message);
        assertArrayEquals(allOnes(2), read(proxy, 0, 2));
        assertEquals(1, failures.size());
    }

    @Test
    void aServerThatIsAlreadyGoneBreaksTheProxyAtTheFirstAccess() {
        FdSocket[] pair = pair();
        pair[1].close();
        BusProxy proxy = new BusProxy("rtc", pair[0], ANSWERED, failures::add);

        assertArrayEquals(allOnes(1), read(proxy, 0, 1));

        assertTrue(proxy.isBroken());
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(
                failures.getFirst().getMessage().contains("rtc"),
                failures.getFirst().getMessage());
    }

    @Test
    void anAnswerThatIsNeitherOkNorFailedBreaksTheProxy() {
        FdSocket[] pair = pair();
        MemorySegment message = Arena.ofAuto().allocate(ProxyMessages.SIZE);
        onThread("nonsense-server", () -> {
            Libc.read(pair[1].fd(), message, 0, ProxyMessages.SIZE);
            short sequence = message.get(ProxyMessages.SHORT, ProxyMessages.SEQUENCE);
            message.fill((byte) 0);
            message.set(ProxyMessages.SHORT, ProxyMessages.SEQUENCE, sequence); // the right request, a wrong status
            message.set(ValueLayout.JAVA_BYTE, ProxyMessages.OP, (byte) 77);
            Libc.write(pair[1].fd(), message);
        });
        BusProxy proxy = new BusProxy("rtc", pair[0], ANSWERED, failures::add);

        assertArrayEquals(allOnes(4), read(proxy, 0, 4));

        assertTrue(proxy.isBroken());
        assertEquals(1, failures.size(), failures.toString());
        assertTrue(
                failures.getFirst().getMessage().contains("nonsense"),
                failures.getFirst().getMessage());
    }

    @Test
    void anAnswerToAnotherRequestBreaksTheProxy() {
        FdSocket[] pair = pair();
        MemorySegment message = Arena.ofAuto().allocate(ProxyMessages.SIZE);
        onThread("stale-server", () -> {
            Libc.read(pair[1].fd(), message, 0, ProxyMessages.SIZE);
            short sequence = message.get(ProxyMessages.SHORT, ProxyMessages.SEQUENCE);
            message.fill((byte) 0);
            message.set(ProxyMessages.SHORT, ProxyMessages.SEQUENCE, (short) (sequence + 1));
            message.set(ValueLayout.JAVA_BYTE, ProxyMessages.OP, ProxyMessages.OK);
            Libc.write(pair[1].fd(), message);
        });
        BusProxy proxy = new BusProxy("rtc", pair[0], ANSWERED, failures::add);

        assertArrayEquals(allOnes(4), read(proxy, 0, 4));

        assertTrue(proxy.isBroken());
        assertTrue(
                failures.getFirst().getMessage().contains("answers another request"),
                failures.getFirst().getMessage());
    }

    @Test
    void aProxyWhoseVmIsClosedAnswersNothingAndRefusesControlCalls() {
        FdSocket[] pair = pair();
        BusProxy proxy = new BusProxy("rtc", pair[0], ANSWERED, failures::add);
        proxy.close();

        assertArrayEquals(allOnes(4), read(proxy, 0, 4));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> proxy.control(1, 0));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertTrue(failures.isEmpty(), "a closed proxy is not a failed device: " + failures);
    }
}
