/* Unary reader (RISCV_1 = ncrisc): tiles of one DRAM buffer -> CB 0.
 *
 * Runtime arguments: 0 the source's address (interleaved over the DRAM banks, one tile per
 * page), 1 the first tile of this core, 2 the number of tiles.
 */
#include "tessera.h"

#define CB_IN0 0u

int main(void) {
    const uint32_t src = get_arg_val(0), first = get_arg_val(1), tiles = get_arg_val(2);
    const uint32_t page = get_tile_size(CB_IN0);
    const interleaved_addr_gen_t in = {.bank_base_address = src, .page_size = page, .is_dram = 1};

    for (uint32_t i = first; i < first + tiles; i++) {
        cb_reserve_back(CB_IN0, 1);
        noc_async_read(interleaved_get_noc_addr(&in, i, 0), get_write_ptr(CB_IN0), page);
        noc_async_read_barrier();
        cb_push_back(CB_IN0, 1);
    }
    return 0;
}
