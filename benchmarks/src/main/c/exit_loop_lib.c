/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C side of ExitLoopBenchmark.cLoop, called through FFM from the same JMH fork as the Java loop, so both run
 * under the same conditions: sets the vCPU's registers, then KVM_RUN until HLT, looking only at exit_reason.
 * Returns the number of port-I/O exits, or -errno.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

long vmm4j_c_exit_loop(int vcpu, struct kvm_run *run, const struct kvm_regs *start) {
    long exits = 0;
    if (ioctl(vcpu, KVM_SET_REGS, start) < 0) return -errno;
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0UL) < 0) return -errno;
        if (run->exit_reason == KVM_EXIT_IO) {
            exits++;
        } else if (run->exit_reason == KVM_EXIT_HLT) {
            return exits;
        } else {
            return -EINVAL;
        }
    }
}
