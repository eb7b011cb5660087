/* Element-wise binary, reader (RISCV_1 = ncrisc): tiles of two DRAM buffers -> CB 0 and CB 1.
 *
 * Runtime arguments: 0 the first input's address, 1 the second's (both interleaved over the
 * DRAM banks, one tile per page), 2 the first tile of this core, 3 the number of tiles.
 * Both reads of a tile are in flight together; one barrier per tile.
 */
#include "tessera.h"

#define CB_IN0 0u
#define CB_IN1 1u

int main(void) {
    const uint32_t src0 = get_arg_val(0), src1 = get_arg_val(1);
    const uint32_t first = get_arg_val(2), tiles = get_arg_val(3);
    const uint32_t page = get_tile_size(CB_IN0);
    const interleaved_addr_gen_t a = {.bank_base_address = src0, .page_size = page, .is_dram = 1};
    const interleaved_addr_gen_t b = {.bank_base_address = src1, .page_size = page, .is_dram = 1};

    for (uint32_t i = first; i < first + tiles; i++) {
        cb_reserve_back(CB_IN0, 1);
        cb_reserve_back(CB_IN1, 1);
        noc_async_read(interleaved_get_noc_addr(&a, i, 0), get_write_ptr(CB_IN0), page);
        noc_async_read(interleaved_get_noc_addr(&b, i, 0), get_write_ptr(CB_IN1), page);
        noc_async_read_barrier();
        cb_push_back(CB_IN0, 1);
        cb_push_back(CB_IN1, 1);
    }
    return 0;
}
