/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one header jextract reads for vmm4j: the KVM userspace API, tap and vhost for virtio devices, and the
 * few libc calls a VMM needs.
 * What is generated from it is chosen by jextract-includes.txt; see regenerate.
 */
#define _GNU_SOURCE
#include <linux/kvm.h>
#include <linux/version.h>
#include <asm/bootparam.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <errno.h>
#include <sched.h>
/* Networking: tap and vhost(-net, -vsock) from the kernel headers; struct ifreq, sockets and the ARPHRD_
 * values from glibc's (<net/if.h> and <linux/if.h> both define struct ifreq: only glibc's is included). */
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
/* Shared directories (virtio-9p): openat2 (through syscall, glibc 2.36 has no wrapper) and the *at calls the
 * confined 9P2000.L server resolves every path with (renameat is in <stdio.h>), struct stat/statfs, getdents64. */
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <dirent.h>
#include <linux/openat2.h>
/* Device jails: no_new_privs, seccomp BPF filters, Landlock rulesets, memfd seals, poll. */
#include <sys/prctl.h>
#include <poll.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/audit.h>
#include <linux/landlock.h>
