/* Blocked matmul reader (RISCV_1 = ncrisc): this core's rows of A and columns of B, once each.
 *
 * The core computes the Mb x Nb output block whose first tile is C(m0, n0); it needs A rows
 * m0 .. m0+Mb-1 (Kt tiles each) and B columns n0 .. n0+Nb-1 (Kt tiles each), which stay in
 * L1 for the whole block: CB 0 holds the A rows (A(m0+i, k) at page i*Kt + k), CB 1 the B
 * columns (B(k, n0+j) at page j*Kt + k).  They are sent in the order the compute kernel
 * first needs them: A row 0 and B column 0 interleaved a tile pair at a time (so the compute
 * starts after one pair), then B columns 1 .., then A rows 1 .., each as Kt reads in flight
 * and one barrier.
 *
 * Runtime arguments: 0 A's address, 1 B's, 2 Kt, 3 Nt, 4 m0, 5 n0, 6 Mb, 7 Nb; A (Mt x Kt
 * tiles) and B (Kt x Nt) in row-major tile order, interleaved over the DRAM banks.
 */
#include "tessera.h"

#define CB_IN0 0u
#define CB_IN1 1u

static uint32_t kt, page;

/** Read tiles k0 .. k0+count-1 of a strip, tile k at page `first + k * step` of `gen`, into the
 *  back of `cb` (all reads in flight, one barrier); push them. */
static void read_strip(const interleaved_addr_gen_t *gen, uint32_t cb, uint32_t first, uint32_t step,
                       uint32_t k0, uint32_t count) {
    cb_reserve_back(cb, count);
    uint32_t l1 = get_write_ptr(cb);
    for (uint32_t k = 0; k < count; k++)
        noc_async_read(interleaved_get_noc_addr(gen, first + (k0 + k) * step, 0), l1 + k * page, page);
    noc_async_read_barrier();
    cb_push_back(cb, count);
}

int main(void) {
    const uint32_t a_addr = get_arg_val(0), b_addr = get_arg_val(1);
    kt = get_arg_val(2);
    const uint32_t nt = get_arg_val(3), m0 = get_arg_val(4), n0 = get_arg_val(5);
    const uint32_t mb = get_arg_val(6), nb = get_arg_val(7);
    page = get_tile_size(CB_IN0);
    const interleaved_addr_gen_t a = {.bank_base_address = a_addr, .page_size = page, .is_dram = 1};
    const interleaved_addr_gen_t b = {.bank_base_address = b_addr, .page_size = page, .is_dram = 1};

    /* A row 0 and B column 0 a tile pair at a time (the first output tile starts after one
     * pair), then the other B columns and A rows whole. */
    for (uint32_t k = 0; k < kt; k++) {
        read_strip(&a, CB_IN0, m0 * kt, 1, k, 1);
        read_strip(&b, CB_IN1, n0, nt, k, 1);
    }
    for (uint32_t j = 1; j < nb; j++)
        read_strip(&b, CB_IN1, n0 + j, nt, 0, kt);
    for (uint32_t i = 1; i < mb; i++)
        read_strip(&a, CB_IN0, (m0 + i) * kt, 1, 0, kt);
    return 0;
}
