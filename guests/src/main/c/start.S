/* SPDX-License-Identifier: Apache-2.0 */
/* Entry of every test guest: a stack, then main(boot_params); main's return value ends the VM through the i8042. */
    /* Names this file in the symbol table: without it the assembler names it after gcc's temporary object file
       (/tmp/ccXXXXXX.o), a random name that would make every build of the guests differ. */
    .file "start.S"
    .section .text.start, "ax"
    .globl _start
    .code64
_start:
    mov $stack_top, %rsp
    mov %rsi, %rdi
    call main
    mov $0xfe, %al
    out %al, $0x64
1:  hlt
    jmp 1b

    .section .bss
    .balign 16
    .space 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
