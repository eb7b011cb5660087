/* Data-movement writer: drains a circular buffer into an L1 area (tt-metal's writer kernel,
 * with L1 standing in for the NoC destination; see dm_cb_reader.c).
 *
 * Runtime arguments: 0 tiles, 1 circular buffer, 2 destination base.  Tile i goes to
 * destination base + i * page size.
 */
#include "tessera.h"

int main(void) {
    uint32_t tiles = get_arg_val(0), cb = get_arg_val(1), base = get_arg_val(2);
    uint32_t page = get_tile_size(cb), words = page / 4u;
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(cb, 1);
        const volatile uint32_t *src = (const volatile uint32_t *)get_read_ptr(cb);
        volatile uint32_t *dst = (volatile uint32_t *)(base + i * page);
        uint32_t w = 0;
        for (; w + 4u <= words; w += 4u) {
            uint32_t w0 = src[w], w1 = src[w + 1u], w2 = src[w + 2u], w3 = src[w + 3u];
            dst[w] = w0;
            dst[w + 1u] = w1;
            dst[w + 2u] = w2;
            dst[w + 3u] = w3;
        }
        for (; w < words; w++)
            dst[w] = src[w];
        cb_pop_front(cb, 1);
    }
    return 0;
}
