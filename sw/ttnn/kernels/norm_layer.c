/* ttnn.layer_norm over the last dimension, compute (the three TRISCs), one row of Wt tiles at a time:
 *
 *   pass 1: mean = (sum over the row of x_j) * (1 / W) (REDUCE_ROW, into CB 24);
 *   the writer broadcasts the mean across a float32 tile (CB 25; a second page, for a padded last
 *   tile, has it in the logical columns only, so that d = x - mean is 0 in the padding);
 *   pass 2: d_j = x_j - mean (bfloat16, CB 27); the squares d_j * d_j summed element-wise (the
 *           running sum goes around through CB 29 in float32: back into Dst as running + 0 with
 *           the zero tile of CB 4, then an accumulating multiply), v = its REDUCE_ROW,
 *           r = 1 / sqrt(v * (1 / W) + eps) (CB 24);
 *   the writer broadcasts r across a bfloat16 tile (CB 26);
 *   pass 3: out_j = d_j * r, times the weight tile w_j (CB 1), plus the bias tile b_j (CB 2).
 *
 * Runtime arguments: 0 rows of this core, 1 Wt, 2 1 when the last tile has padding columns,
 * 3 1 with a weight, 4 1 with a bias, 5 1 / W and 6 eps as float32 bits.
 */
#include "compute_kernel_api.h"

#define NORM_PACK_ATTRIBUTES __attribute__((noinline))
#include "norm_pack.h"

#define CB_IN 0u
#define CB_W 1u
#define CB_B 2u
#define CB_ZEROS 4u
#define CB_OUT 16u
#define CB_STAT 24u
#define CB_BCAST_F32 25u
#define CB_BCAST_BF16 26u
#define CB_CENTERED 27u
#define CB_WEIGHTED 28u /* float32: the weighted tile before the bias */
#define CB_RUNNING 29u
#define CB_SCALED 30u

/* d = x - mean (the masked broadcast page for a padded last tile) into CB 27. */
__attribute__((noinline)) static void center(uint32_t mean_page) {
    cb_wait_front(CB_IN, 1);
    tile_regs_acquire();
    sub_tiles(CB_IN, CB_BCAST_F32, 0, mean_page, 0);
    tile_regs_commit();
    cb_pop_front(CB_IN, 1);
    pack_to(CB_CENTERED);
}

/* Dst tile 0 = a * b (front tiles), both popped. */
__attribute__((noinline)) static void multiply(uint32_t cb_a, uint32_t cb_b) {
    cb_wait_front(cb_a, 1);
    cb_wait_front(cb_b, 1);
    tile_regs_acquire();
    mul_tiles(cb_a, cb_b, 0, 0, 0);
    tile_regs_commit();
    cb_pop_front(cb_a, 1);
    if (cb_b != cb_a)
        cb_pop_front(cb_b, 1);
}

int main(void) {
    const uint32_t rows = get_arg_val(0), wt = get_arg_val(1), masked = get_arg_val(2);
    const uint32_t has_weight = get_arg_val(3), has_bias = get_arg_val(4);
    const uint32_t inv_width = get_arg_val(5), eps = get_arg_val(6);
    const uint32_t mean_pages = masked ? 2u : 1u;
    binary_op_init_common(CB_IN, CB_IN, CB_OUT);
    reduce_init(POOL_SUM, REDUCE_ROW, CB_IN, CB_STAT);
    cb_wait_front(CB_ZEROS, 1);

    for (uint32_t row = 0; row < rows; row++) {
        /* pass 1: the mean */
        tile_regs_acquire();
        for (uint32_t j = 0; j < wt; j++) {
            cb_wait_front(CB_IN, 1);
            reduce_tile(POOL_SUM, REDUCE_ROW, CB_IN, 0, 0);
            cb_pop_front(CB_IN, 1);
        }
        mul_unary_tile(0, inv_width);
        tile_regs_commit();
        pack_to(CB_STAT);

        /* pass 2: the variance, then 1 / std */
        cb_wait_front(CB_BCAST_F32, mean_pages);
        for (uint32_t j = 0; j < wt; j++) {
            const uint32_t mean_page = masked && j + 1u == wt ? 1u : 0u;
            sub_tiles_init(CB_IN, CB_BCAST_F32);
            center(mean_page);

            tile_regs_acquire();
            if (j) { /* Dst = running + 0: copy_tile without its firmware zero tile */
                add_tiles_init(CB_RUNNING, CB_ZEROS);
                cb_wait_front(CB_RUNNING, 1);
                add_tiles(CB_RUNNING, CB_ZEROS, 0, 0, 0);
                cb_pop_front(CB_RUNNING, 1);
            }
            mul_tiles_init(CB_CENTERED, CB_CENTERED, 1);
            cb_wait_front(CB_CENTERED, 1);
            mul_tiles(CB_CENTERED, CB_CENTERED, 0, 0, 0);
            cb_pop_front(CB_CENTERED, 1);
            tile_regs_commit();
            pack_to(CB_RUNNING);
        }
        cb_wait_front(CB_RUNNING, 1);
        tile_regs_acquire();
        reduce_tile(POOL_SUM, REDUCE_ROW, CB_RUNNING, 0, 0);
        mul_unary_tile(0, inv_width);
        add_unary_tile(0, eps);
        sqrt_tile(0);
        recip_tile(0);
        tile_regs_commit();
        cb_pop_front(CB_RUNNING, 1);
        pack_to(CB_STAT);

        /* pass 3: normalise, weigh, shift */
        cb_wait_front(CB_BCAST_BF16, 1);
        for (uint32_t j = 0; j < wt; j++) {
            const uint32_t mean_page = masked && j + 1u == wt ? 1u : 0u;
            sub_tiles_init(CB_IN, CB_BCAST_F32);
            center(mean_page);
            mul_tiles_init(CB_CENTERED, CB_BCAST_BF16);
            cb_wait_front(CB_CENTERED, 1);
            tile_regs_acquire();
            mul_tiles(CB_CENTERED, CB_BCAST_BF16, 0, 0, 0);
            tile_regs_commit();
            cb_pop_front(CB_CENTERED, 1);
            if (has_weight) {
                pack_to(CB_SCALED);
                multiply(CB_SCALED, CB_W);
            }
            if (has_bias) {
                pack_to(CB_WEIGHTED);
                cb_wait_front(CB_WEIGHTED, 1);
                cb_wait_front(CB_B, 1);
                add_tiles_init(CB_WEIGHTED, CB_B);
                tile_regs_acquire();
                add_tiles(CB_WEIGHTED, CB_B, 0, 0, 0);
                tile_regs_commit();
                cb_pop_front(CB_WEIGHTED, 1);
                cb_pop_front(CB_B, 1);
            }
            pack_to(CB_OUT);
        }
        cb_pop_front(CB_BCAST_F32, mean_pages);
        cb_pop_front(CB_BCAST_BF16, 1);
    }
    return 0;
}
