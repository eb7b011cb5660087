/* Reduction compute kernel (tt-metal's reduce): out[t] = reduce over in[t][0..W-1].
 *
 * For each output tile: tile_regs_acquire, W tiles from CB_IN0 into reduce_tile on Dst
 * tile 0 (the first starts from +0 / -inf, the others accumulate), tile_regs_commit,
 * pack_tile to CB_OUT0.  REDUCE_ROW leaves each row's result in column 0, REDUCE_COL each
 * column's in row 0, REDUCE_SCALAR the tile's in [0][0]; the rest of the tile is zero.
 *
 * Runtime arguments: 0 output tiles, 1 W (input tiles per output tile), 2 pool (POOL_SUM,
 * POOL_MAX), 3 dim (REDUCE_ROW, REDUCE_COL, REDUCE_SCALAR).
 * Mailboxes as compute_eltwise_binary.c.
 */
#include "compute_kernel_api.h"
#include "tile_kernel.h"

#define CB_IN0 0u
#define CB_OUT0 16u

int main(void) {
    uint32_t out_tiles = get_arg_val(0), w_tiles = get_arg_val(1);
    tessera_pool_type_t pool = (tessera_pool_type_t)get_arg_val(2);
    tessera_reduce_dim_t dim = (tessera_reduce_dim_t)get_arg_val(3);
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_mark(KERNEL_MAILBOX_START);
#endif
    reduce_init(pool, dim, CB_IN0, CB_OUT0);
    for (uint32_t t = 0; t < out_tiles; t++) {
        tile_regs_acquire();
        for (uint32_t w = 0; w < w_tiles; w++) {
            cb_wait_front(CB_IN0, 1);
            reduce_tile(pool, dim, CB_IN0, 0, 0);
            cb_pop_front(CB_IN0, 1);
        }
        tile_regs_commit();

        kernel_pack_dst0(CB_OUT0);
    }
    reduce_uninit();
    kernel_compute_done();
    return 0;
}
