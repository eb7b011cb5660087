/* ttnn.rms_norm over the last dimension, compute (the three TRISCs), one row of Wt tiles at a time:
 *
 *   pass 1: the squares x_j * x_j summed element-wise in Dst (an accumulating multiply: one Dst
 *           tile for the whole row, no intermediate packs), packed in float32 to CB 28, s = its
 *           REDUCE_ROW, then on the SFPU r = 1 / sqrt(s * (1 / W) + eps) (into CB 24);
 *   the writer broadcasts r across a bfloat16 tile (CB 26);
 *   pass 2: out_j = x_j * r, times the weight tile w_j (CB 1) when there is one.
 *
 * Padding columns of x are 0, so they add nothing to s (1 / W uses the logical width) and stay 0.
 * Runtime arguments: 0 rows of this core, 1 Wt, 2 1 with a weight, 3 1 / W and 4 eps as float32 bits.
 */
#include "compute_kernel_api.h"

#include "norm_pack.h"

#define CB_IN 0u
#define CB_W 1u
#define CB_OUT 16u
#define CB_STAT 24u
#define CB_BCAST_BF16 26u
#define CB_SCALED 27u
#define CB_SQUARE 28u

int main(void) {
    const uint32_t rows = get_arg_val(0), wt = get_arg_val(1), has_weight = get_arg_val(2);
    const uint32_t inv_width = get_arg_val(3), eps = get_arg_val(4);
    binary_op_init_common(CB_IN, CB_IN, CB_OUT);
    reduce_init(POOL_SUM, REDUCE_ROW, CB_SQUARE, CB_STAT);

    for (uint32_t row = 0; row < rows; row++) {
        /* pass 1: sum of squares, then 1 / rms */
        mul_tiles_init(CB_IN, CB_IN, 1);
        tile_regs_acquire();
        for (uint32_t j = 0; j < wt; j++) {
            cb_wait_front(CB_IN, 1);
            mul_tiles(CB_IN, CB_IN, 0, 0, 0);
            cb_pop_front(CB_IN, 1);
        }
        tile_regs_commit();
        pack_to(CB_SQUARE);

        cb_wait_front(CB_SQUARE, 1);
        tile_regs_acquire();
        reduce_tile(POOL_SUM, REDUCE_ROW, CB_SQUARE, 0, 0);
        mul_unary_tile(0, inv_width);
        add_unary_tile(0, eps);
        sqrt_tile(0);
        recip_tile(0);
        tile_regs_commit();
        cb_pop_front(CB_SQUARE, 1);
        pack_to(CB_STAT);

        /* pass 2: scale (and weigh) */
        mul_tiles_init(CB_IN, CB_BCAST_BF16);
        cb_wait_front(CB_BCAST_BF16, 1);
        for (uint32_t j = 0; j < wt; j++) {
            cb_wait_front(CB_IN, 1);
            tile_regs_acquire();
            mul_tiles(CB_IN, CB_BCAST_BF16, 0, 0, 0);
            tile_regs_commit();
            cb_pop_front(CB_IN, 1);
            if (has_weight) {
                pack_to(CB_SCALED);
                cb_wait_front(CB_SCALED, 1);
                cb_wait_front(CB_W, 1);
                tile_regs_acquire();
                mul_tiles(CB_SCALED, CB_W, 0, 0, 0);
                tile_regs_commit();
                cb_pop_front(CB_SCALED, 1);
                cb_pop_front(CB_W, 1);
            }
            pack_to(CB_OUT);
        }
        cb_pop_front(CB_BCAST_BF16, 1);
    }
    return 0;
}
