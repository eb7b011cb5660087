/* ttnn.softmax over the last dimension, compute (the three TRISCs), one row of Wt tiles at a time:
 *
 *   pass 1: m = max over the row (REDUCE_ROW max; a padded last tile gets the mask tile added
 *           first, so that its padding columns are the most negative bfloat16, kept in CB 27);
 *   the writer broadcasts m across a float32 tile (CB 25);
 *   pass 2: e_j = exp(x_j - m) into CB 28 (bfloat16, the whole row stays there);
 *           s = sum over the row of e_j, then 1 / s on the SFPU (into CB 24);
 *   the writer broadcasts 1 / s across a bfloat16 tile (CB 26);
 *   pass 3: out_j = e_j * (1 / s) into CB 16.
 *
 * Padding columns: x + mask - m is about -3.4e38, so e = 0 there: the sum ignores them and the
 * output's padding columns are 0.
 * Runtime arguments: 0 rows of this core, 1 Wt, 2 1 when the last tile has padding columns.
 */
#include "compute_kernel_api.h"

#include "norm_pack.h"

#define CB_IN 0u
#define CB_MASK 3u
#define CB_OUT 16u
#define CB_STAT 24u
#define CB_BCAST_F32 25u
#define CB_BCAST_BF16 26u
#define CB_MASKED 27u
#define CB_EXP 28u

int main(void) {
    const uint32_t rows = get_arg_val(0), wt = get_arg_val(1), masked = get_arg_val(2);
    const uint32_t unmasked_tiles = wt - masked;
    binary_op_init_common(CB_IN, CB_MASK, CB_OUT);
    reduce_init(POOL_MAX, REDUCE_ROW, CB_IN, CB_STAT);

    for (uint32_t row = 0; row < rows; row++) {
        /* pass 1: the row max */
        if (masked) {
            cb_wait_front(CB_IN, 1);
            cb_wait_front(CB_MASK, 1);
            tile_regs_acquire();
            add_tiles_init(CB_IN, CB_MASK);
            add_tiles(CB_IN, CB_MASK, 0, 0, 0);
            tile_regs_commit();
            cb_pop_front(CB_IN, 1);
            pack_to(CB_MASKED);
        }
        tile_regs_acquire();
        if (masked) {
            cb_wait_front(CB_MASKED, 1);
            reduce_tile(POOL_MAX, REDUCE_ROW, CB_MASKED, 0, 0);
        }
        for (uint32_t j = 0; j < unmasked_tiles; j++) {
            cb_wait_front(CB_IN, 1);
            reduce_tile(POOL_MAX, REDUCE_ROW, CB_IN, 0, 0);
            cb_pop_front(CB_IN, 1);
        }
        tile_regs_commit();
        pack_to(CB_STAT);

        /* pass 2: exponentials, kept for pass 3, and their sum */
        cb_wait_front(CB_BCAST_F32, 1);
        sub_tiles_init(CB_IN, CB_BCAST_F32);
        exp_tile_init();
        for (uint32_t j = 0; j < wt; j++) {
            const uint32_t src = j < unmasked_tiles ? CB_IN : CB_MASKED;
            cb_wait_front(src, 1);
            tile_regs_acquire();
            sub_tiles(src, CB_BCAST_F32, 0, 0, 0);
            exp_tile(0);
            tile_regs_commit();
            cb_pop_front(src, 1);
            pack_to(CB_EXP);
        }
        cb_pop_front(CB_BCAST_F32, 1);

        cb_wait_front(CB_EXP, wt);
        tile_regs_acquire();
        for (uint32_t j = 0; j < wt; j++)
            reduce_tile(POOL_SUM, REDUCE_ROW, CB_EXP, j, 0);
        recip_tile_init();
        recip_tile(0);
        tile_regs_commit();
        pack_to(CB_STAT);

        /* pass 3: scale by 1 / sum */
        cb_wait_front(CB_BCAST_BF16, 1);
        mul_tiles_init(CB_EXP, CB_BCAST_BF16);
        for (uint32_t j = 0; j < wt; j++) {
            tile_regs_acquire();
            mul_tiles(CB_EXP, CB_BCAST_BF16, j, 0, 0);
            tile_regs_commit();
            pack_to(CB_OUT);
        }
        cb_pop_front(CB_EXP, wt);
        cb_pop_front(CB_BCAST_BF16, 1);
    }
    return 0;
}
