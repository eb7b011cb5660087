/* ttnn ops, writer (RISCV_0 = brisc): tiles of CB 16 -> an interleaved buffer.
 *
 * Runtime arguments: 0 the destination's address, 1 it is in DRAM (1) or L1 (0),
 * 2 the first tile of this core, 3 the number of tiles.
 */
#include "tessera.h"

#define CB_OUT 16u

int main(void) {
    const uint32_t dst = get_arg_val(0), dram = get_arg_val(1), first = get_arg_val(2), tiles = get_arg_val(3);
    const uint32_t page = get_tile_size(CB_OUT);
    const interleaved_addr_gen_t out = {.bank_base_address = dst, .page_size = page, .is_dram = dram};

    for (uint32_t i = first; i < first + tiles; i++) {
        cb_wait_front(CB_OUT, 1);
        noc_async_write(get_read_ptr(CB_OUT), interleaved_get_noc_addr(&out, i, 0), page);
        noc_async_write_barrier();
        cb_pop_front(CB_OUT, 1);
    }
    return 0;
}
