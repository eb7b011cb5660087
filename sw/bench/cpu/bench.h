/* Console output, exit and a pseudo-random generator for the CPU benchmarks.
 * CONSOLE_ADDR comes from the configuration (build.py passes it with -D). */
#ifndef BENCH_H
#define BENCH_H

typedef unsigned int u32;

static inline void putch(char c) { *(volatile unsigned char *)CONSOLE_ADDR = (unsigned char)c; }

static inline void put_str(const char *s) { while (*s) putch(*s++); }

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
