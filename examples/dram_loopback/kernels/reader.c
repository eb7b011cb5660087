/* DRAM loopback, reader (RISCV_1 = ncrisc): DRAM pages -> circular buffer in L1.
 *
 * Compile-time argument 0: the circular buffer.  Runtime arguments: 0 the
 * source buffer's address (interleaved over the DRAM banks), 1 the number
 * of pages (tiles).  The page size is the circular buffer's.
 */
#include "tessera.h"

int main(void) {
    const uint32_t cb = get_compile_time_arg_val(0);
    const uint32_t src = get_arg_val(0);
    const uint32_t pages = get_arg_val(1);
    const uint32_t page_size = get_tile_size(cb);
    const interleaved_addr_gen_t source = {.bank_base_address = src, .page_size = page_size, .is_dram = 1};

    for (uint32_t i = 0; i < pages; i++) {
        cb_reserve_back(cb, 1);
        noc_async_read(interleaved_get_noc_addr(&source, i, 0), get_write_ptr(cb), page_size);
        noc_async_read_barrier();
        cb_push_back(cb, 1);
    }
    return 0;
}
