/* Tessera console, exit and CPU counters: common to every build target.
 *
 * Include "tessera_runelf.h" (single-core run-elf system) or "tessera.h"
 * (a core of a Tensix tile) rather than this file.  The console register
 * address comes from the generated "tessera_target.h": the run-elf console
 * byte register, or the tile's tile_ctrl.console register.
 */
#ifndef TESSERA_IO_H
#define TESSERA_IO_H

#include <stdarg.h>
#include <stdint.h>

#include "tessera_config.h"
#include "tessera_target.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Store the 32-bit word `value` to the device register at `addr`. */
static inline void tessera_mmio_write32(uintptr_t addr, uint32_t value) {
    *(volatile uint32_t *)addr = value;
}

/** Load the 32-bit device register at `addr`. */
static inline uint32_t tessera_mmio_read32(uintptr_t addr) {
    return *(volatile uint32_t *)addr;
}

/** Store the byte `value` to the device register at `addr`. */
static inline void tessera_mmio_write8(uintptr_t addr, uint8_t value) {
    *(volatile uint8_t *)addr = value;
}

/** Print one character on the simulation console (one store, no buffering). */
static inline void tessera_putchar(char c) {
    tessera_mmio_write8(TESSERA_TARGET_CONSOLE_ADDR, (uint8_t)c);
}

/** Print a NUL-terminated string on the console (no newline added). */
void tessera_puts(const char *s);

/** printf subset on the console: %d %i %u %x %X %c %s %p %%, a width with
 *  optional 0 padding, and the l / ll length modifiers.  Returns characters printed. */
int tessera_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** tessera_printf with a va_list. */
int tessera_vprintf(const char *fmt, va_list ap);

/** End the program with exit status `code`: stores (code << 1) | 1 to
 *  `tohost` and spins.  Returning `code` from main() does the same. */
void tessera_exit(int code) __attribute__((noreturn));

/** The word the program's exit status goes to (riscv-tests `tohost`). */
extern volatile uint32_t tohost[2];

/** Written by the trap handler before it exits with 128 + mcause. */
extern volatile uint32_t tessera_trap_info[3]; /* mcause, mepc, mtval */

/** Cycles since reset, from the core's mcycle CSR (low word). */
static inline uint32_t tessera_rdcycle(void) {
    uint32_t value;
    __asm__ volatile("csrr %0, mcycle" : "=r"(value));
    return value;
}

/** Instructions retired since reset, from the core's minstret CSR (low word). */
static inline uint32_t tessera_rdinstret(void) {
    uint32_t value;
    __asm__ volatile("csrr %0, minstret" : "=r"(value));
    return value;
}

/** 64-bit mcycle, read high-low-high so a carry between the reads is not lost. */
static inline uint64_t tessera_rdcycle64(void) {
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, mcycleh" : "=r"(hi));
        __asm__ volatile("csrr %0, mcycle" : "=r"(lo));
        __asm__ volatile("csrr %0, mcycleh" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_IO_H */
