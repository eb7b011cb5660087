/* ttnn matmul / linear, compute (the three TRISCs): each output tile is the sum over K of
 * A tile @ B tile, accumulated in Dst (fp32), plus (linear with a bias) the bias tile, then
 * packed to CB 16 in the output's format.
 *
 * The K pairs arrive in order in CB 0 (A) and CB 1 (B).  The bias tile (CB 2, the bias in every
 * real output row) is added onto the accumulated Dst tile with an accumulating add_tiles whose
 * second operand is the zero tile of CB 3 (waited for once, popped at the end): Dst += bias + 0.
 * Fidelity: ComputeConfig's math_fidelity.  Runtime arguments: 0 output tiles, 1 Kt, 2 has a bias.
 */
#include "compute_kernel_api.h"

#define CB_A 0u
#define CB_B 1u
#define CB_BIAS 2u
#define CB_ZERO 3u
#define CB_OUT 16u

int main(void) {
    const uint32_t out_tiles = get_arg_val(0), kt = get_arg_val(1), has_bias = get_arg_val(2);
    mm_init(CB_A, CB_B, CB_OUT);
    if (has_bias) {
        add_tiles_init(CB_BIAS, CB_ZERO, 1);
        cb_wait_front(CB_ZERO, 1);
    }
    for (uint32_t t = 0; t < out_tiles; t++) {
        tile_regs_acquire();
        for (uint32_t k = 0; k < kt; k++) {
            cb_wait_front(CB_A, 1);
            cb_wait_front(CB_B, 1);
            matmul_tiles(CB_A, CB_B, 0, 0, 0, 0);
            cb_pop_front(CB_A, 1);
            cb_pop_front(CB_B, 1);
        }
        if (has_bias) {
            cb_wait_front(CB_BIAS, 1);
            add_tiles(CB_BIAS, CB_ZERO, 0, 0, 0);
            cb_pop_front(CB_BIAS, 1);
        }
        tile_regs_commit();

        cb_reserve_back(CB_OUT, 1);
        tile_regs_wait();
        pack_tile(0, CB_OUT);
        tile_regs_release();
        cb_push_back(CB_OUT, 1);
    }
    if (has_bias)
        cb_pop_front(CB_ZERO, 1);
    return 0;
}
