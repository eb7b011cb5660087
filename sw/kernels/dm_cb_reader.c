/* Data-movement reader: copies tiles from L1 source areas into circular buffers.
 *
 * Stands in for tt-metal's reader kernel (which would fetch the tiles over the NoC with
 * noc_async_read); the standalone tile has no NIU, so the sources are areas of this tile's
 * L1 and the core copies the pages with its own loads and stores.
 *
 * Runtime arguments: 0 steps, 1 inputs per step (1 .. 4), then per input j three words:
 * circular buffer, source base, period.  At step s input j's tile is the one at
 * source base + (s mod period) * page size of its CB; the inputs of one step are sent in
 * order, one page each (cb_reserve_back, copy, cb_push_back).
 */
#include "tessera.h"

#define MAX_INPUTS 4u

/** Copy `words` words: four loads then four stores per round, then the rest one by one. */
static void copy_words(volatile uint32_t *dst, const volatile uint32_t *src, uint32_t words) {
    uint32_t i = 0;
    for (; i + 4u <= words; i += 4u) {
        uint32_t w0 = src[i], w1 = src[i + 1u], w2 = src[i + 2u], w3 = src[i + 3u];
        dst[i] = w0;
        dst[i + 1u] = w1;
        dst[i + 2u] = w2;
        dst[i + 3u] = w3;
    }
    for (; i < words; i++)
        dst[i] = src[i];
}

int main(void) {
    uint32_t steps = get_arg_val(0), inputs = get_arg_val(1);
    if (inputs < 1u || inputs > MAX_INPUTS) {
        tessera_printf("dm_cb_reader: inputs %u not in 1..%u\n", (unsigned)inputs, (unsigned)MAX_INPUTS);
        return 1;
    }
    for (uint32_t s = 0; s < steps; s++) {
        for (uint32_t j = 0; j < inputs; j++) {
            uint32_t cb = get_arg_val(2u + 3u * j), base = get_arg_val(3u + 3u * j);
            uint32_t period = get_arg_val(4u + 3u * j), page = get_tile_size(cb);
            cb_reserve_back(cb, 1);
            copy_words((volatile uint32_t *)get_write_ptr(cb),
                       (const volatile uint32_t *)(base + (s % period) * page), page / 4u);
            cb_push_back(cb, 1);
        }
    }
    return 0;
}
