/* Start-up code for programs on the run-elf system (riscv-tests layout). */
    .section .text.init, "ax"
    .option norelax
    .globl _start
_start:
    la      gp, __global_pointer$
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  call    main
    /* exit: tohost = (code << 1) | 1 */
    slli    a0, a0, 1
    ori     a0, a0, 1
    la      t0, tohost
    sw      a0, 0(t0)
3:  j       3b

    .section .tohost, "aw", @progbits
    .balign 8
    .globl  tohost
tohost:
    .dword  0
    .globl  fromhost
fromhost:
    .dword  0
