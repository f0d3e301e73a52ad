/* Prints a line and ends the VM: the smallest guest. */
#include "kit.h"

int main(u64 boot_params) {
    (void) boot_params;
    puts("hello from a vmm4j guest\n");
    return 0;
}
