/* Hazard costs: each block is repeated 16 times between two mcycle reads; the cycle counts go to the signature (tb/core/test_core.py checks them against docs/core.md). */
    .option norvc

/* End of a timed sequence: store mcycle - t0 (the cycles since the start
 * mark) at s1 and advance s1 to the next signature word. */
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
    la s2, hz_data
    li a1, 3
    /* empty */
    csrr t0, mcycle
    record_cycles
    /* alu_chain */
    csrr t0, mcycle
    .rept 16
    addi a0, a0, 1
    .endr
    record_cycles
    /* load_use */
    csrr t0, mcycle
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    lw a1, 0(s2)
    addi a0, a1, 1
    record_cycles
    /* load_indep */
    csrr t0, mcycle
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    lw a1, 0(s2)
    addi a0, a0, 1
    record_cycles
    /* fwd_taken */
    csrr t0, mcycle
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    beq x0, x0, 1f
1:
    record_cycles
    /* fwd_not_taken */
    csrr t0, mcycle
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    bne x0, x0, hz_far
    record_cycles
    /* jal */
    csrr t0, mcycle
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    jal x0, 1f
1:
    record_cycles
    /* jalr */
    csrr t0, mcycle
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    auipc t3, 0
    jalr x0, 8(t3)
    record_cycles
    /* mul_chain */
    csrr t0, mcycle
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    mul a0, a0, a1
    record_cycles
    /* csr_use */
    csrr t0, mcycle
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    csrr a1, mscratch
    addi a0, a1, 1
    record_cycles
    /* compressed */
    csrr t0, mcycle
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    .option rvc
    c.addi a0, 1
    .option norvc
    record_cycles
    /* straddle: after one c.nop every addi straddles two words */
    csrr t0, mcycle
    .option rvc
    c.nop
    .option norvc
    .rept 16
    addi a0, a0, 1
    .endr
    record_cycles
    .option rvc
    .balign 4
    .option norvc
    /* loop16 */
    li t2, 16
    csrr t0, mcycle
2:  addi t2, t2, -1
    bnez t2, 2b
    record_cycles
    .option rvc
    .balign 4
    c.nop
    .option norvc
    /* loop16_odd: the loop starts at pc = 2 mod 4 */
    li t2, 16
    csrr t0, mcycle
4:  addi t2, t2, -1
    bnez t2, 4b
    record_cycles
    la t0, tohost
    li t1, 1
    sw t1, 0(t0)
hz_far:
3:  j 3b
    .section .data
    .balign 16
hz_data: .word 7, 0, 0, 0
    .balign 16
    .globl begin_signature
begin_signature:
    .fill 14, 4, 0
    .globl end_signature
end_signature:
    .section .tohost, "aw", @progbits
    .balign 8
    .globl tohost
tohost: .dword 0
