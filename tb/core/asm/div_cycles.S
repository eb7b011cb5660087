/* Cycles of 16 back-to-back divisions between two mcycle reads, for four kinds of operands;
 * the counts go to the signature (tb/core/test_core_compact.py). */
    .option norvc

/* End of a timed sequence: store mcycle - t0 at s1 and advance s1. */
.macro record_cycles
    csrr t1, mcycle
    sub t1, t1, t0
    sw t1, 0(s1)
    addi s1, s1, 4
.endm
    .option norelax
    .section .text.init, "ax"
    .globl _start
_start:
    la s1, begin_signature
    /* small: 3 / 7 */
    li a2, 0x3
    li a3, 0x7
    csrr t0, mcycle
    .rept 16
    div a0, a2, a3
    .endr
    record_cycles
    /* large: 0xFFFFFFFF / 1 */
    li a2, 0xffffffff
    li a3, 0x1
    csrr t0, mcycle
    .rept 16
    divu a0, a2, a3
    .endr
    record_cycles
    /* by zero */
    li a2, 0x3039
    li a3, 0x0
    csrr t0, mcycle
    .rept 16
    rem a0, a2, a3
    .endr
    record_cycles
    /* overflow: -2^31 / -1 */
    li a2, 0x80000000
    li a3, 0xffffffff
    csrr t0, mcycle
    .rept 16
    div a0, a2, a3
    .endr
    record_cycles
    la t0, tohost
    li t1, 1
    sw t1, 0(t0)
1:  j 1b
    .section .data
    .balign 16
    .globl begin_signature
begin_signature:
    .fill 4, 4, 0
    .globl end_signature
end_signature:
    .section .tohost, "aw", @progbits
    .balign 8
    .globl tohost
tohost: .dword 0
