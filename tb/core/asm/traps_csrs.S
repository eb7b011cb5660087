/* Directed test: every exception cause the core raises, and CSR behaviour.
 * The trap handler records {mcause, mepc, mtval, mstatus & 0x1888} per trap
 * into the signature and returns past the faulting instruction (to ra after
 * an instruction-fetch fault).  The CSR section then stores observed values.
 * tb/core/test_core.py holds the expected values (site labels are global). */
    .option norvc
    .option norelax

/* Read CSR `csr` into a3 and store it at byte `off` of the signature. */
.macro store_csr csr, off
    csrr    a3, \csr
    sw      a3, \off(s1)
.endm

    .section .text.init, "ax"
    .globl _start
_start:
    la      t0, handler
    csrw    mtvec, t0
    la      s1, begin_signature
    la      s2, data
    li      s3, 0x40000000          /* no device here: bus errors */
    csrsi   mstatus, 8              /* MIE = 1: the handler sees MPIE = 1 */

    .globl site_illegal32
site_illegal32:
    .word   0x04000033              /* OP with funct7 = 0000010 */
    .globl site_illegal_ones
site_illegal_ones:
    .word   0xffffffff
    .globl site_sret
site_sret:
    .word   0x10200073              /* sret: no S mode */
    .globl site_c_zero
site_c_zero:
    .half   0x0000                  /* all-zero halfword is illegal */
    .globl site_c_flw
site_c_flw:
    .half   0x6000                  /* c.flw: no F */
    .globl site_csr_unknown
site_csr_unknown:
    csrr    a0, 0x7c0
    .globl site_csr_readonly
site_csr_readonly:
    csrw    mhartid, a0
    .globl site_csr_cycle_write
site_csr_cycle_write:
    csrw    cycle, a0
    .globl site_ecall
site_ecall:
    ecall
    .globl site_ebreak
site_ebreak:
    ebreak
    .option rvc
    .globl site_c_ebreak
site_c_ebreak:
    c.ebreak
    .option norvc
    .globl site_lw_mis
site_lw_mis:
    lw      a0, 1(s2)
    .globl site_lh_mis
site_lh_mis:
    lh      a0, 3(s2)
    .globl site_lhu_mis
site_lhu_mis:
    lhu     a0, 5(s2)
    .globl site_sw_mis
site_sw_mis:
    sw      a0, 2(s2)
    .globl site_sh_mis
site_sh_mis:
    sh      a0, 1(s2)
    .globl site_lw_fault
site_lw_fault:
    lw      a0, 8(s3)
    .globl site_lb_fault
site_lb_fault:
    lb      a0, 3(s3)
    .globl site_sw_fault
site_sw_fault:
    sw      a0, 4(s3)
    .globl site_sb_fault
site_sb_fault:
    sb      a0, 1(s3)
    .globl site_fetch_fault
site_fetch_fault:
    jalr    ra, 16(s3)              /* returns here + 4 through the handler */
    .globl site_after_fetch
site_after_fetch:
    /* A load that faults right behind a store that succeeds: precise. */
    li      a1, 0x5a5a5a5a
    sw      a1, 0(s2)
    .globl site_lw_fault2
site_lw_fault2:
    lw      a1, 0(s3)
    lw      a2, 0(s2)
    sw      a2, 0(s1)               /* 0x5a5a5a5a, and a1 was not written */
    sw      a1, 4(s1)
    addi    s1, s1, 8

    /* ---------------- CSRs ---------------- */
    li      a0, 0x12345678
    csrw    mscratch, a0
    csrr    a1, mscratch
    sw      a1, 0(s1)               /* 0x12345678 */
    li      a2, 0x0f0f0f0f
    csrrw   a3, mscratch, a2
    sw      a3, 4(s1)               /* 0x12345678 */
    li      a2, 0xf0000000
    csrrs   a3, mscratch, a2
    sw      a3, 8(s1)               /* 0x0f0f0f0f */
    li      a2, 0x0000000f
    csrrc   a3, mscratch, a2
    sw      a3, 12(s1)              /* 0xff0f0f0f */
    csrrwi  a3, mscratch, 21
    sw      a3, 16(s1)              /* 0xff0f0f00 */
    csrrsi  a3, mscratch, 10
    sw      a3, 20(s1)              /* 21 */
    csrrci  a3, mscratch, 1
    sw      a3, 24(s1)              /* 31 */
    store_csr mscratch, 28              /* 30 */
    la      a4, handler
    li      a2, 0x80000103
    csrw    mtvec, a2
    store_csr mtvec, 32              /* 0x80000100: direct mode only */
    csrw    mtvec, a4
    li      a2, 0x80000123
    csrw    mepc, a2
    store_csr mepc, 36              /* 0x80000122 */
    store_csr misa, 40              /* 0x40001104 */
    store_csr mhartid, 44              /* 0 */
    csrr    a3, mvendorid
    csrr    a5, marchid
    or      a3, a3, a5
    csrr    a5, mimpid
    or      a3, a3, a5
    sw      a3, 48(s1)              /* 0 */
    li      a2, -1
    csrw    mie, a2
    store_csr mie, 52              /* 0x888 */
    store_csr mip, 56              /* 0 */
    csrw    mstatus, a2
    store_csr mstatus, 60              /* 0x1888 */
    csrw    mstatus, zero
    store_csr mstatus, 64              /* 0x1800 */
    csrr    a0, minstret
    nop
    nop
    nop
    csrr    a1, minstret
    sub     a3, a1, a0
    sw      a3, 68(s1)              /* 4 */
    csrr    a0, minstret
    csrr    a1, instret
    sub     a3, a1, a0
    sw      a3, 72(s1)              /* 1 */
    csrr    a0, mcycle
    csrr    a1, cycle
    sub     a3, a1, a0
    sltiu   a3, a3, 8
    sw      a3, 76(s1)              /* 1: cycle follows mcycle */
    li      a2, 100
    csrw    minstret, a2
    store_csr minstret, 80              /* 100 */
    csrw    mcycle, zero
    csrr    a3, mcycle
    sltiu   a3, a3, 8
    sw      a3, 84(s1)              /* 1 */
    store_csr minstreth, 88              /* 0 */
    li      a2, 7
    csrw    mcycleh, a2
    store_csr cycleh, 92              /* 7 */
    /* mret from M mode to a label: MIE <- MPIE, MPIE <- 1 */
    li      a2, 0x80                /* MPIE = 1, MIE = 0 */
    csrw    mstatus, a2
    la      a2, after_mret
    csrw    mepc, a2
    mret
    li      a3, 0xbad               /* skipped */
after_mret:
    store_csr mstatus, 96              /* 0x1888 */
    fence
    fence.i
    wfi
    /* exit */
    la      t0, tohost
    li      t1, 1
    sw      t1, 0(t0)
1:  j       1b

    .option rvc                     /* lets the assembler pad with c.nop */
    .balign 4
    .option norvc
handler:
    csrr    t0, mcause
    sw      t0, 0(s1)
    csrr    t0, mepc
    sw      t0, 4(s1)
    csrr    t0, mtval
    sw      t0, 8(s1)
    csrr    t0, mstatus
    li      t1, 0x1888
    and     t0, t0, t1
    sw      t0, 12(s1)
    addi    s1, s1, 16
    csrr    t0, mcause
    li      t1, 1
    beq     t0, t1, 1f
    csrr    t0, mepc
    lhu     t1, 0(t0)
    andi    t1, t1, 3
    li      t2, 3
    addi    t0, t0, 2
    bne     t1, t2, 2f
    addi    t0, t0, 2
2:  csrw    mepc, t0
    mret
1:  csrw    mepc, ra
    mret

    .section .data
    .balign 16
data:
    .word   0x11223344, 0x55667788, 0, 0
    .balign 16
    .globl begin_signature
begin_signature:
    .fill   128, 4, 0xdeadbeef
    .globl end_signature
end_signature:
    .section .tohost, "aw", @progbits
    .balign 8
    .globl tohost
tohost:
    .dword 0
