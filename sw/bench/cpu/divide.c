/* Division-heavy code: decimal printing, GCDs, primes by trial division. */
#include "bench.h"

static u32 gcd(u32 a, u32 b) { while (b) { u32 t = a % b; a = b; b = t; } return a; }

int main(void)
{
    u32 digits = 0;
    for (int i = 0; i < 300; i++) {
        u32 v = lcg();
        while (v) { digits += v % 10u; v /= 10u; }
    }
    u32 g = 0;
    for (int i = 0; i < 200; i++) g += gcd(lcg() >> 8, lcg() >> 12);
    u32 primes = 0;
    for (u32 n = 2; n < 1500; n++) {
        int prime = 1;
        for (u32 d = 2; d * d <= n; d++) if (n % d == 0) { prime = 0; break; }
        primes += prime;
    }
    int s = 0;
    for (int i = -500; i < 500; i += 7) s += (i * 37) / 11 + (i % 13);
    report("digits", digits);
    report("gcd", g);
    report("primes", primes);
    report("signed", (u32)s);
    return primes == 239 ? 0 : 3;
}
