/* Workload of `tessera sim-bench`: a core computes and stores into L1 for ever (or `rounds` times).
 *
 * Runtime arguments: 0 buffer (64 words of L1 for this core alone), 1 rounds
 * (0: never stop).  Each round steps a linear congruential generator, stores
 * the value in the buffer and reads it back: the core's pipeline, its data
 * bus and the L1 banks are busy every cycle, and no two cores share a word.
 * Exits with the low bit of the last value folded into 0 (always 0).
 */
#include "tessera.h"

int main(void) {
    volatile uint32_t *buf = (volatile uint32_t *)get_arg_val(0);
    uint32_t rounds = get_arg_val(1);
    uint32_t x = 1, sum = 0;
    for (uint32_t i = 0; rounds == 0 || i < rounds; i++) {
        x = x * 1664525u + 1013904223u;
        buf[i & 63] = x;
        sum += buf[(i + 1) & 63];
    }
    return (int)(sum & 0u);
}
