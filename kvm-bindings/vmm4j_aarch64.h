/* SPDX-License-Identifier: Apache-2.0 */
/* The aarch64 half of vmm4j's bindings: <linux/kvm.h> as an arm64 build sees it (regenerate points the include
 * path at the arm64 asm headers first). */
#include <linux/kvm.h>
