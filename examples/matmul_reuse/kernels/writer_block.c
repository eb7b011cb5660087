/* Blocked matmul writer (RISCV_0 = brisc): CB 16 -> the Mb x Nb output block at C(m0, n0).
 *
 * Runtime arguments: 0 C's address (Mt x Nt tiles, row-major, interleaved over the DRAM
 * banks), 1 Nt, 2 m0, 3 n0, 4 Mb, 5 Nb, 6 one plus the id of a semaphore of this tile to wait
 * for (value 1) before the first write, or 0 for none: the multicast reader on RISCV_1 uses
 * the NIU's write command buffer until it is done, and a command buffer takes one core at a
 * time.
 */
#include "tessera.h"

#define CB_OUT0 16u

int main(void) {
    const uint32_t c_addr = get_arg_val(0), nt = get_arg_val(1), m0 = get_arg_val(2), n0 = get_arg_val(3);
    const uint32_t mb = get_arg_val(4), nb = get_arg_val(5), gate = get_arg_val(6);
    const uint32_t page = get_tile_size(CB_OUT0);
    const interleaved_addr_gen_t c = {.bank_base_address = c_addr, .page_size = page, .is_dram = 1};

    if (gate)
        noc_semaphore_wait((volatile uint32_t *)get_semaphore(gate - 1u), 1u);
    for (uint32_t i = 0; i < mb; i++) {
        for (uint32_t j = 0; j < nb; j++) {
            cb_wait_front(CB_OUT0, 1);
            noc_async_write(get_read_ptr(CB_OUT0), interleaved_get_noc_addr(&c, (m0 + i) * nt + n0 + j, 0), page);
            noc_async_write_barrier();
            cb_pop_front(CB_OUT0, 1);
        }
    }
    return 0;
}
