/* Blocked matmul compute (the three TRISCs): an Mb x Nb block of output tiles from A rows and
 * B columns held in L1.
 *
 * CB 0 holds the block's Mb rows of A (A(i, k) at page i*Kt + k), CB 1 its Nb columns of B
 * (B(k, j) at page j*Kt + k); the reader fills them in the order they are first needed, and
 * the compute waits for each pair as it comes to it: output tile (i, j) is the sum over k
 * of matmul_tiles(A page i*Kt + k, B page j*Kt + k), accumulated in Dst tile 0, packed to
 * CB 16 row by row.  Every A tile is used Nb times and every B tile Mb times from L1.
 *
 * Runtime arguments: 0 Mb, 1 Nb, 2 Kt.
 */
#include "compute_kernel_api.h"

#define CB_IN0 0u
#define CB_IN1 1u
#define CB_OUT0 16u

int main(void) {
    const uint32_t mb = get_arg_val(0), nb = get_arg_val(1), kt = get_arg_val(2);
    mm_init(CB_IN0, CB_IN1, CB_OUT0);
    for (uint32_t i = 0; i < mb; i++) {
        for (uint32_t j = 0; j < nb; j++) {
            tile_regs_acquire();
            for (uint32_t k = 0; k < kt; k++) {
                /* pages arrive in order: wait for the ones up to this pair (a no-op once in) */
                cb_wait_front(CB_IN0, i * kt + k + 1u);
                cb_wait_front(CB_IN1, j * kt + k + 1u);
                matmul_tiles(CB_IN0, CB_IN1, i * kt + k, j * kt + k, 0, 0);
            }
            tile_regs_commit();

            cb_reserve_back(CB_OUT0, 1);
            tile_regs_wait();
            pack_tile(0, CB_OUT0);
            tile_regs_release();
            cb_push_back(CB_OUT0, 1);
        }
    }
    cb_pop_front(CB_IN0, mb * kt);
    cb_pop_front(CB_IN1, nb * kt);
    return 0;
}
