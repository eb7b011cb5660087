/* Matmul compute (the three TRISCs): each output tile is the sum over K of A tile @ B tile.
 *
 * The K pairs arrive in order in CB 0 (A) and CB 1 (B); matmul_tiles accumulates them in Dst
 * tile 0 (which starts from zero after tile_regs_acquire), pack_tile writes the sum to CB 16.
 * Fidelity: ComputeConfig's math_fidelity.  Runtime arguments: 0 output tiles, 1 Kt.
 */
#include "compute_kernel_api.h"

#define CB_IN0 0u
#define CB_IN1 1u
#define CB_OUT0 16u

int main(void) {
    const uint32_t out_tiles = get_arg_val(0), kt = get_arg_val(1);
    mm_init(CB_IN0, CB_IN1, CB_OUT0);
    for (uint32_t t = 0; t < out_tiles; t++) {
        tile_regs_acquire();
        for (uint32_t k = 0; k < kt; k++) {
            cb_wait_front(CB_IN0, 1);
            cb_wait_front(CB_IN1, 1);
            matmul_tiles(CB_IN0, CB_IN1, 0, 0, 0, 0);
            cb_pop_front(CB_IN0, 1);
            cb_pop_front(CB_IN1, 1);
        }
        tile_regs_commit();

        cb_reserve_back(CB_OUT0, 1);
        tile_regs_wait();
        pack_tile(0, CB_OUT0);
        tile_regs_release();
        cb_push_back(CB_OUT0, 1);
    }
    return 0;
}
