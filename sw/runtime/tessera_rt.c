/* Tessera freestanding runtime: the few libc routines GCC may call on its
 * own (memcpy, memset, memmove, memcmp) and a small printf for the console.
 * Built with picolibc (TESSERA_LIBC_PICOLIBC), it leaves those routines to
 * picolibc and instead connects picolibc's stdout/stderr to the console and
 * its _exit to tessera_exit.
 *
 * Compiled with -fno-builtin -fno-tree-loop-distribute-patterns so GCC does
 * not turn these loops back into calls to themselves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera_io.h"

#if TESSERA_LIBC_PICOLIBC
#include <stdio.h>

static int console_put(char c, FILE *file) {
    (void)file;
    tessera_putchar(c);
    return (unsigned char)c;
}

static FILE console_stream = FDEV_SETUP_STREAM(console_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &console_stream;
FILE *const stdout = &console_stream;
FILE *const stderr = &console_stream;

void _exit(int code) {
    tessera_exit(code);
}

#else /* the project's own libc subset */

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0) {
        for (; n >= 4; n -= 4, d += 4, s += 4)
            *(uint32_t *)d = *(const uint32_t *)s;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s) {
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

#endif /* TESSERA_LIBC_PICOLIBC */

void tessera_puts(const char *s) {
    while (*s)
        tessera_putchar(*s++);
}

/* Divides *v by base (10 or 16) in place and returns the remainder, with
 * 32-bit operations only, so printf does not pull libgcc's 64-bit division
 * (about 1.5 KiB) into firmware regions of a few KiB. */
static unsigned divmod_u64(unsigned long long *v, unsigned base) {
    uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v;
    if (hi == 0) {
        *v = lo / base;
        return lo % base;
    }
    uint32_t qhi = hi / base, rem = hi % base, qlo = 0;
    for (int bit = 31; bit >= 0; bit--) { /* long division of (rem:lo) by base */
        rem = (rem << 1) | ((lo >> bit) & 1u);
        if (rem >= base) {
            rem -= base;
            qlo |= 1u << bit;
        }
    }
    *v = ((unsigned long long)qhi << 32) | qlo;
    return rem;
}

/* Formats an unsigned value right-aligned in `width` characters. */
static int put_unsigned(unsigned long long v, unsigned base, int upper, int width, char pad, int negative) {
    char buf[24];
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0, printed = 0;
    do {
        buf[n++] = digits[divmod_u64(&v, base)];
    } while (v);
    if (negative && pad == '0') {
        tessera_putchar('-');
        printed++;
        width--;
        negative = 0;
    }
    for (int i = n + negative; i < width; i++, printed++)
        tessera_putchar(pad);
    if (negative) {
        tessera_putchar('-');
        printed++;
    }
    while (n)
        tessera_putchar(buf[--n]), printed++;
    return printed;
}

int tessera_vprintf(const char *fmt, va_list ap) {
    int printed = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            tessera_putchar(*fmt);
            printed++;
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, longs = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(ap, long long) : (long long)va_arg(ap, long);
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            printed += put_unsigned(mag, 10, 0, width, pad, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long)
                                              : (unsigned long long)va_arg(ap, unsigned long);
            printed += put_unsigned(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, pad, 0);
            break;
        }
        case 'p':
            tessera_puts("0x");
            printed += 2 + put_unsigned((uintptr_t)va_arg(ap, void *), 16, 0, 8, '0', 0);
            break;
        case 'c':
            tessera_putchar((char)va_arg(ap, int));
            printed++;
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int len = (int)strlen(s);
            for (int i = len; i < width; i++, printed++)
                tessera_putchar(' ');
            tessera_puts(s);
            printed += len;
            break;
        }
        case '%':
            tessera_putchar('%');
            printed++;
            break;
        case '\0':
            return printed;
        default: /* unknown conversion: print it as written */
            tessera_putchar('%');
            tessera_putchar(*fmt);
            printed += 2;
        }
    }
    return printed;
}

int tessera_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = tessera_vprintf(fmt, ap);
    va_end(ap);
    return n;
}
