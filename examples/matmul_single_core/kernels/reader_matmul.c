/* Matmul reader (RISCV_1 = ncrisc): for each output tile of this core, its K pairs of input
 * tiles -> CB 0 (A) and CB 1 (B).
 *
 * A is an Mt x Kt grid of tiles, B Kt x Nt, C Mt x Nt, each in row-major tile order and
 * interleaved over the DRAM banks one tile per page.  Runtime arguments: 0 A's address,
 * 1 B's address, 2 Mt, 3 Kt, 4 Nt, 5 this core's first output tile, 6 its number of output
 * tiles.  Output tile t is C(t / Nt, t % Nt); for k = 0 .. Kt-1 the reader sends A(m, k) and
 * B(k, n), both reads in flight together, one barrier per pair.
 */
#include "tessera.h"

#define CB_IN0 0u
#define CB_IN1 1u

int main(void) {
    const uint32_t a_addr = get_arg_val(0), b_addr = get_arg_val(1);
    const uint32_t kt = get_arg_val(3), nt = get_arg_val(4);
    const uint32_t first = get_arg_val(5), count = get_arg_val(6);
    const uint32_t page = get_tile_size(CB_IN0);
    const interleaved_addr_gen_t a = {.bank_base_address = a_addr, .page_size = page, .is_dram = 1};
    const interleaved_addr_gen_t b = {.bank_base_address = b_addr, .page_size = page, .is_dram = 1};

    for (uint32_t t = first; t < first + count; t++) {
        const uint32_t m = t / nt, n = t % nt;
        for (uint32_t k = 0; k < kt; k++) {
            cb_reserve_back(CB_IN0, 1);
            cb_reserve_back(CB_IN1, 1);
            noc_async_read(interleaved_get_noc_addr(&a, m * kt + k, 0), get_write_ptr(CB_IN0), page);
            noc_async_read(interleaved_get_noc_addr(&b, k * nt + n, 0), get_write_ptr(CB_IN1), page);
            noc_async_read_barrier();
            cb_push_back(CB_IN0, 1);
            cb_push_back(CB_IN1, 1);
        }
    }
    return 0;
}
