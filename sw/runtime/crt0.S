/* Tessera start-up code, linked first into every program.
 *
 * _start: set gp, sp and tp (thread pointer: the one thread's TLS block,
 * used by picolibc's errno), point mtvec at a trap handler, copy .data if its
 * load address differs from its run address, clear .bss, call main(0, 0)
 * and hand its return value to tessera_exit.
 *
 * tessera_exit(code): stores (code << 1) | 1 to the word `tohost` (the
 * riscv-tests convention: 1 means exit code 0) and spins.  On the run-elf
 * system the simulator stops on that store; on a tile core the host reads
 * `tohost` (its address is in the firmware manifest) over the NoC.  On a
 * tile core it first stores the DONE waypoint (tessera_waypoint.h), so a
 * timeline shows when the program ended.
 *
 * A trap (illegal instruction, misaligned access, ecall, ebreak) records
 * mcause, mepc and mtval in `tessera_trap_info` and exits with code
 * 128 + mcause, so a crash ends the program instead of hanging it.
 */

#include "tessera_target.h"

    .section .text.init, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      tp, __tls_base
    la      t0, __tessera_trap
    csrw    mtvec, t0

    /* Copy .data from its load address (a no-op for Tessera's own scripts). */
    la      a0, __data_load
    la      a1, __data_start
    la      a2, __data_end
    beq     a0, a1, 2f
1:  bgeu    a1, a2, 2f
    lw      t0, 0(a0)
    sw      t0, 0(a1)
    addi    a0, a0, 4
    addi    a1, a1, 4
    j       1b

    /* Clear .bss: the loader writes only bytes that have file contents. */
2:  la      a0, __bss_start
    la      a1, __bss_end
3:  bgeu    a0, a1, 4f
    sw      zero, 0(a0)
    addi    a0, a0, 4
    j       3b

4:  li      a0, 0
    li      a1, 0
    call    main
    tail    tessera_exit
    .size _start, . - _start

    .text
    .globl tessera_exit
    .type tessera_exit, @function
tessera_exit:
#ifdef TESSERA_TARGET_WAYPOINT_ADDR
    li      t0, TESSERA_TARGET_WAYPOINT_ADDR
    li      t1, TESSERA_WAYPOINT_DONE
    sw      t1, 0(t0)
#endif
    slli    a0, a0, 1
    ori     a0, a0, 1
    la      t0, tohost
    fence
    sw      a0, 0(t0)
    fence
5:  j       5b
    .size tessera_exit, . - tessera_exit

    .balign 4
    .type __tessera_trap, @function
__tessera_trap:
    la      t0, tessera_trap_info
    csrr    t1, mcause
    sw      t1, 0(t0)
    csrr    t2, mepc
    sw      t2, 4(t0)
    csrr    t2, mtval
    sw      t2, 8(t0)
    andi    a0, t1, 0x7f
    addi    a0, a0, 128
    j       tessera_exit
    .size __tessera_trap, . - __tessera_trap

    .section .tohost, "aw", @progbits
    .balign 8
    .globl tohost
tohost:
    .word 0, 0
    .globl fromhost
fromhost:
    .word 0, 0

    .bss
    .balign 4
    .globl tessera_trap_info
tessera_trap_info:
    .space 12
