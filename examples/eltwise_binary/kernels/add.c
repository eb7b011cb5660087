/* Element-wise binary, compute (the three TRISCs): CB 16 tile = CB 0 tile + CB 1 tile.
 *
 * Runtime argument 0: the number of tiles of this core.
 */
#include "compute_kernel_api.h"

#define CB_IN0 0u
#define CB_IN1 1u
#define CB_OUT0 16u

int main(void) {
    const uint32_t tiles = get_arg_val(0);
    binary_op_init_common(CB_IN0, CB_IN1, CB_OUT0);
    add_tiles_init(CB_IN0, CB_IN1);
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(CB_IN0, 1);
        cb_wait_front(CB_IN1, 1);
        tile_regs_acquire();
        add_tiles(CB_IN0, CB_IN1, 0, 0, 0);
        tile_regs_commit();
        cb_pop_front(CB_IN0, 1);
        cb_pop_front(CB_IN1, 1);

        cb_reserve_back(CB_OUT0, 1);
        tile_regs_wait();
        pack_tile(0, CB_OUT0);
        tile_regs_release();
        cb_push_back(CB_OUT0, 1);
    }
    return 0;
}
