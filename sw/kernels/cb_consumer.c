/* Circular-buffer consumer (tile demo): checks every page cb_producer.c sends.
 *
 * Runtime arguments as cb_producer.c.  Exits 0 when every word matched, 1 at
 * the first wrong word (and prints it); writes the number of pages checked
 * to its mailbox.
 */
#include "tessera.h"

int main(void) {
    uint32_t cb = get_arg_val(0), total = get_arg_val(1), step = get_arg_val(2);
    uint32_t words = get_tile_size(cb) / 4u, checked = 0;
    for (uint32_t page = 0; page < total; page += step) {
        cb_wait_front(cb, step);
        const volatile uint32_t *src = (const volatile uint32_t *)get_read_ptr(cb);
        for (uint32_t k = 0; k < step; k++)
            for (uint32_t i = 0; i < words; i++)
                if (src[k * words + i] != (page + k) * 1000u + i) {
                    tessera_printf("page %u word %u: got %u\n", (unsigned)(page + k), (unsigned)i,
                                   (unsigned)src[k * words + i]);
                    return 1;
                }
        cb_pop_front(cb, step);
        checked += step;
    }
    tessera_mailbox_write(TESSERA_MY_CORE_INDEX, checked);
    tessera_printf("consumer: %u pages ok\n", (unsigned)checked);
    return 0;
}
