/* Circular-buffer producer (tile demo): fills pages with a known pattern.
 *
 * Runtime arguments: arg0 = circular buffer index, arg1 = pages to send,
 * arg2 = pages per reservation (must divide the buffer's num_pages).
 * Page p, word i holds p * 1000 + i.  Pair with cb_consumer.c on another core.
 */
#include "tessera.h"

int main(void) {
    uint32_t cb = get_arg_val(0), total = get_arg_val(1), step = get_arg_val(2);
    uint32_t words = get_tile_size(cb) / 4u;
    for (uint32_t page = 0; page < total; page += step) {
        cb_reserve_back(cb, step);
        volatile uint32_t *dst = (volatile uint32_t *)get_write_ptr(cb);
        for (uint32_t k = 0; k < step; k++)
            for (uint32_t i = 0; i < words; i++)
                dst[k * words + i] = (page + k) * 1000u + i;
        cb_push_back(cb, step);
    }
    return 0;
}
