/* Unary SFPU, compute (the three TRISCs): CB 16 tile = exp(CB 0 tile).
 *
 * copy_tile brings the tile into Dst, exp_tile runs the SFPU on it in place, pack_tile writes
 * it out.  Runtime argument 0: the number of tiles of this core.
 */
#include "compute_kernel_api.h"

#define CB_IN0 0u
#define CB_OUT0 16u

int main(void) {
    const uint32_t tiles = get_arg_val(0);
    unary_op_init_common(CB_IN0, CB_OUT0);
    copy_tile_init(CB_IN0);
    exp_tile_init();
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(CB_IN0, 1);
        tile_regs_acquire();
        copy_tile(CB_IN0, 0, 0);
        exp_tile(0);
        tile_regs_commit();
        cb_pop_front(CB_IN0, 1);

        cb_reserve_back(CB_OUT0, 1);
        tile_regs_wait();
        pack_tile(0, CB_OUT0);
        tile_regs_release();
        cb_push_back(CB_OUT0, 1);
    }
    return 0;
}
