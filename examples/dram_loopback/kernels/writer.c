/* DRAM loopback, writer (RISCV_0 = brisc): circular buffer in L1 -> DRAM pages.
 *
 * Compile-time argument 0: the circular buffer.  Runtime arguments: 0 the
 * destination buffer's address (interleaved over the DRAM banks), 1 the
 * number of pages (tiles).
 */
#include "tessera.h"

int main(void) {
    const uint32_t cb = get_compile_time_arg_val(0);
    const uint32_t dst = get_arg_val(0);
    const uint32_t pages = get_arg_val(1);
    const uint32_t page_size = get_tile_size(cb);
    const interleaved_addr_gen_t dest = {.bank_base_address = dst, .page_size = page_size, .is_dram = 1};

    for (uint32_t i = 0; i < pages; i++) {
        cb_wait_front(cb, 1);
        noc_async_write(get_read_ptr(cb), interleaved_get_noc_addr(&dest, i, 0), page_size);
        noc_async_write_barrier();
        cb_pop_front(cb, 1);
    }
    return 0;
}
