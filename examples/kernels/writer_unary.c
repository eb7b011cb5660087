/* Writer (RISCV_0 = brisc): tiles of CB 16 -> a DRAM buffer.
 *
 * Runtime arguments: 0 the destination's address (interleaved over the DRAM banks, one tile
 * per page), 1 the first tile of this core, 2 the number of tiles.
 */
#include "tessera.h"

#define CB_OUT0 16u

int main(void) {
    const uint32_t dst = get_arg_val(0), first = get_arg_val(1), tiles = get_arg_val(2);
    const uint32_t page = get_tile_size(CB_OUT0);
    const interleaved_addr_gen_t out = {.bank_base_address = dst, .page_size = page, .is_dram = 1};

    for (uint32_t i = first; i < first + tiles; i++) {
        cb_wait_front(CB_OUT0, 1);
        noc_async_write(get_read_ptr(CB_OUT0), interleaved_get_noc_addr(&out, i, 0), page);
        noc_async_write_barrier();
        cb_pop_front(CB_OUT0, 1);
    }
    return 0;
}
