/*
 * The one header jextract reads for vmm4j: the KVM userspace API and the few libc calls a VMM needs.
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
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <errno.h>
