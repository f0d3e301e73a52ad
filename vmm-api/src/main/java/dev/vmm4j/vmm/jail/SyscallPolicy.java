// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.jail;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedSet;

/**
 * The system calls a jailed process may make, by x86_64 name: the input of a {@link SeccompFilter}. Every call a
 * policy does not allow fails with {@code EPERM}.
 *
 * <pre>{@code
 * SyscallPolicy policy = SyscallPolicy.jvm().with(SyscallPolicy.blockDevice());
 * SeccompFilter.compile(policy).install();   // in the device's child process, before it touches guest data
 * }</pre>
 *
 * <h2>Rules</h2>
 * Each syscall gets one rule, made of what the builder was told about it:
 * <ul>
 *   <li>{@link Builder#allow allow}: allowed whatever its arguments;</li>
 *   <li>{@link Builder#allowIf allowIf} and {@link Builder#allowIfMaskedEquals allowIfMaskedEquals}: allowed when
 *       one argument has a value (on all 64 bits); several such checks for one syscall are alternatives, any one of
 *       which allows the call;</li>
 *   <li>{@link Builder#fail fail}: the call fails with that errno instead of {@code EPERM} when no check allows it
 *       ({@code clone3} fails with {@code ENOSYS}, so glibc falls back to {@code clone}, whose flags a filter can
 *       see: {@code clone3} passes them in memory, which seccomp cannot read).</li>
 * </ul>
 * Policies combine with {@link #with}: what either allows is allowed. Allowing a call whatever its arguments and making
 * it fail at the same time is a contradiction, refused when the policy is built or combined.
 *
 * <p>Arguments are compared as the registers hold them. An {@code int} parameter is usually zero- or sign-extended to
 * 64 bits by the caller (glibc's syscall wrappers cast to {@code long}), but the ABI does not promise it: to test
 * only the low half, use {@link Builder#allowIfMaskedEquals} with mask {@code 0xffffffffL}.
 *
 * <p>Names are x86_64's ({@code newfstatat}, {@code pread64}); a name the platform lacks is refused when the rule is
 * added. The order of the rules is the order of first mention, and the filter tests them in that order: put hot calls
 * first.
 *
 * <p><b>Thread safety:</b> policies are immutable and safe for concurrent use; a {@link Builder} is not thread-safe.
 */
public final class SyscallPolicy {
    private final String name;
    private final Map<String, SyscallRule> rules;

    private SyscallPolicy(String name, Map<String, SyscallRule> rules) {
        this.name = name;
        this.rules = Collections.unmodifiableMap(new LinkedHashMap<>(rules));
    }

    /**
     * {@return a builder for a policy called {@code name}, such as {@code virtio-blk}}
     *
     * @param name names the policy in errors and in {@link #toString()}; not blank
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /**
     * {@return what a HotSpot JVM needs to keep running once it is jailed}: threads, GC, the JIT, class loading from
     * jars it already has open and from the module image, virtual threads, FFM downcalls, epoll/eventfd/timerfd event
     * loops, I/O and {@code sendmsg}/{@code recvmsg} on fds it already holds, memory mapping, signals to its own
     * threads. It opens no path, creates no socket, starts no process and changes no namespace.
     *
     * <p>Signals go only to this process: {@code tgkill} is allowed when its first argument is this process's pid,
     * read when this method runs, so build the policy in the process that installs it (a pid namespace changes
     * nothing: the filter compares the pid the process itself passes).
     *
     * <p>What the JVM must have done before the filter goes on, since afterwards it cannot: load every class that
     * comes from a directory on the class path (each is a file to open; classes in jars and the module image load
     * from fds already open), make its {@code SecureRandom} (which opens {@code /dev/urandom}), and open every file
     * and socket it will use. Run it with {@code -XX:-UsePerfData}: at exit the JVM would unlink its
     * {@code hsperfdata} file, which fails (harmlessly) and leaves the file behind.
     */
    public static SyscallPolicy jvm() {
        return StandardPolicies.jvm(ProcessHandle.current().pid());
    }

    /** {@return what a block device adds to {@link #jvm()}}: syncing and sizing its image file. */
    public static SyscallPolicy blockDevice() {
        return StandardPolicies.blockDevice();
    }

    /**
     * {@return what a network device adds to {@link #jvm()}}: nothing, as it reads and writes frames on a tap fd it
     * already holds with {@code readv}/{@code writev}; the policy exists so the device code names its needs.
     */
    public static SyscallPolicy networkDevice() {
        return StandardPolicies.networkDevice();
    }

    /**
     * {@return what a vsock device adds to {@link #jvm()}}: accepting on the listening socket the VMM gave it, data on
     * connected sockets, shutdown, socket errors and timers for its credit and retransmit logic. It creates no socket
     * and connects nowhere: the VMM makes its host connections ({@code VsockBroker}).
     */
    public static SyscallPolicy vsockDevice() {
        return StandardPolicies.vsockDevice();
    }

    /**
     * {@return what a shared directory (the 9P server) adds to {@link #jvm()}}: opening and resolving paths below its
     * root ({@code openat2} with {@code RESOLVE_BENEATH}, {@code openat} relative to a directory fd) and the {@code *at}
     * calls it changes the tree with. Keep the tree itself fenced with {@link Landlock}: seccomp cannot see paths.
     */
    public static SyscallPolicy sharedDirectory() {
        return StandardPolicies.sharedDirectory();
    }

    /** {@return what a balloon device adds to {@link #jvm()}}: nothing, as {@code madvise} is already there. */
    public static SyscallPolicy balloon() {
        return StandardPolicies.balloon();
    }

    /**
     * {@return what an entropy device adds to {@link #jvm()}}: {@code getrandom} (already there). A
     * {@code SecureRandom} that reads {@code /dev/urandom} must be made before the filter goes on.
     */
    public static SyscallPolicy entropy() {
        return StandardPolicies.entropy();
    }

    /** {@return the name of this policy; a combined one joins its parts' names with {@code +}} */
    public String name() {
        return name;
    }

    /** {@return the syscalls this policy says something about, allowed or failed, in the order of its rules} */
    public SequencedSet<String> syscalls() {
        return Collections.unmodifiableSequencedSet(new LinkedHashSet<>(rules.keySet()));
    }

    /**
     * {@return whether {@code syscall} is allowed whatever its arguments}
     *
     * @param syscall an x86_64 syscall name, such as {@code read}; a name the policy does not mention gives false
     */
    public boolean allowsAlways(String syscall) {
        SyscallRule rule = rules.get(Objects.requireNonNull(syscall, "syscall"));
        return rule != null && rule.always();
    }

    /**
     * {@return this policy and {@code other} together, called {@code name()+other.name()}}: a call is allowed if
     * either allows it.
     *
     * @param other the policy to add; its rules come after this one's, except for syscalls this one already mentions
     * @throws IllegalStateException if one allows a call whatever its arguments that the other makes fail, or the two
     *     make a call fail with different errnos
     */
    public SyscallPolicy with(SyscallPolicy other) {
        Objects.requireNonNull(other, "other");
        Builder combined = new Builder(name + "+" + other.name);
        combined.include(this);
        combined.include(other);
        return combined.build();
    }

    /** The rules in order, for the compiler. */
    Collection<SyscallRule> rules() {
        return rules.values();
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (SyscallRule rule : rules.values()) {
            parts.add(rule.toString());
        }
        return "SyscallPolicy[" + name + ": " + String.join(", ", parts) + "]";
    }

    /**
     * Builds a {@link SyscallPolicy}. Each method checks its arguments at once: an unknown syscall name, an argument
     * index outside 0 to 5, an errno outside 1 to 4095, or a contradiction with what was said before.
     *
     * <p><b>Thread safety:</b> not thread-safe.
     */
    public static final class Builder {
        private final String name;
        private final Map<String, SyscallRule> rules = new LinkedHashMap<>();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
            if (name.isBlank()) {
                throw new IllegalArgumentException("a policy needs a name, such as virtio-blk");
            }
        }

        /**
         * Allows each of {@code names} whatever its arguments.
         *
         * @param names x86_64 syscall names, such as {@code read}; each is checked as it is added, so those before a
         *     bad one stay added
         * @return this builder
         * @throws IllegalArgumentException if x86_64 has no syscall of one of the names
         * @throws IllegalStateException if one of them was made to {@link #fail} before
         */
        public Builder allow(String... names) {
            Objects.requireNonNull(names, "names");
            for (String syscall : names) {
                Objects.requireNonNull(syscall, "names[]");
                merge(new SyscallRule(syscall, SyscallTable.number(syscall), true, List.of(), 0));
            }
            return this;
        }

        /**
         * Allows {@code name} when argument {@code argIndex} (0 to 5) equals {@code value} on all 64 bits.
         *
         * @param name an x86_64 syscall name
         * @param argIndex which argument, 0 for the first (x86_64's {@code rdi}) to 5
         * @param value what the whole 64-bit register must hold; an {@code int} argument is compared as its caller
         *     extended it (see the class comment)
         * @return this builder
         * @throws IllegalArgumentException if x86_64 has no syscall {@code name}, or {@code argIndex} is not 0 to 5
         */
        public Builder allowIf(String name, int argIndex, long value) {
            return allowIfMaskedEquals(name, argIndex, -1L, value);
        }

        /**
         * Allows {@code name} when argument {@code argIndex} (0 to 5), masked with {@code mask}, equals {@code value}:
         * with {@code mask == value == CLONE_THREAD}, a {@code clone} that starts a thread.
         *
         * @param name an x86_64 syscall name
         * @param argIndex which argument, 0 for the first (x86_64's {@code rdi}) to 5
         * @param mask the bits of the 64-bit register to compare; {@code 0xffffffffL} tests an {@code int}'s low half
         * @param value what the masked bits must equal; a subset of {@code mask}
         * @return this builder
         * @throws IllegalArgumentException if {@code value} has bits outside {@code mask} (the check could never
         *     hold), x86_64 has no syscall {@code name}, or {@code argIndex} is not 0 to 5
         */
        public Builder allowIfMaskedEquals(String name, int argIndex, long mask, long value) {
            Objects.requireNonNull(name, "name");
            if (argIndex < 0 || argIndex > 5) {
                throw new IllegalArgumentException(
                        "a syscall has arguments 0 to 5, not " + argIndex + " (rule for " + name + ")");
            }
            if ((value & ~mask) != 0) {
                throw new IllegalArgumentException(String.format(
                        Locale.ROOT,
                        "the check on %s's argument %d could never hold: value %#x has bits outside mask %#x",
                        name,
                        argIndex,
                        value,
                        mask));
            }
            merge(new SyscallRule(
                    name,
                    SyscallTable.number(name),
                    false,
                    List.of(new SyscallRule.ArgumentCheck(argIndex, mask, value)),
                    0));
            return this;
        }

        /**
         * Makes {@code name} fail with {@code errno} (1 to 4095) instead of {@code EPERM} when no argument check of
         * this policy allows it.
         *
         * @param name an x86_64 syscall name, such as {@code clone3}
         * @param errno the errno the call fails with, such as 38 for {@code ENOSYS}
         * @return this builder
         * @throws IllegalArgumentException if x86_64 has no syscall {@code name}, or {@code errno} is not 1 to 4095
         * @throws IllegalStateException if {@code name} is allowed whatever its arguments, or was made to fail with
         *     another errno
         */
        public Builder fail(String name, int errno) {
            Objects.requireNonNull(name, "name");
            if (errno < 1 || errno > SyscallRule.MAX_ERRNO) {
                throw new IllegalArgumentException(
                        "an errno is 1 to " + SyscallRule.MAX_ERRNO + ", not " + errno + " (rule for " + name + ")");
            }
            merge(new SyscallRule(name, SyscallTable.number(name), false, List.of(), errno));
            return this;
        }

        /**
         * Adds every rule of {@code policy}.
         *
         * @param policy whose rules are merged into this builder's, in its order
         * @return this builder
         * @throws IllegalStateException if one of its rules contradicts one said before (see {@link SyscallPolicy#with})
         */
        public Builder include(SyscallPolicy policy) {
            Objects.requireNonNull(policy, "policy");
            for (SyscallRule rule : policy.rules.values()) {
                merge(rule);
            }
            return this;
        }

        /** {@return the policy} */
        public SyscallPolicy build() {
            return new SyscallPolicy(name, rules);
        }

        private void merge(SyscallRule rule) {
            SyscallRule before = rules.get(rule.name());
            try {
                rules.put(rule.name(), before == null ? rule : before.merge(rule));
            } catch (IllegalStateException e) {
                throw new IllegalStateException("policy " + name + ": " + e.getMessage(), e);
            }
        }

        @Override
        public String toString() {
            return "SyscallPolicy.Builder[" + name + ", " + rules.size() + " rules]";
        }
    }
}
