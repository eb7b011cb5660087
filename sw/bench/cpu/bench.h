/* Console output and a pseudo-random generator for the CPU benchmarks.
 * Console and exit come from the toolchain's run-elf header: the console
 * address is generated from the configuration, and returning from main()
 * exits through tohost (sw/runtime/crt0.S). */
#ifndef BENCH_H
#define BENCH_H

#include "tessera_runelf.h"

typedef uint32_t u32;

static inline void putch(char c) { tessera_putchar(c); }

static inline void put_str(const char *s) { tessera_puts(s); }

static inline void put_hex(u32 v)
{
    for (int shift = 28; shift >= 0; shift -= 4) putch("0123456789abcdef"[(v >> shift) & 15]);
}

/* Print "name=xxxxxxxx\n". */
static inline void report(const char *name, u32 value)
{
    put_str(name); putch('='); put_hex(value); putch('\n');
}

/* Numerical Recipes LCG: the tests reproduce it in Python. */
static u32 lcg_state = 12345u;
static inline u32 lcg(void) { lcg_state = lcg_state * 1664525u + 1013904223u; return lcg_state; }

#endif
