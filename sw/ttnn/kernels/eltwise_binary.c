/* ttnn add / subtract / multiply, compute (the three TRISCs): CB 16 = CB 0 (op) CB 1, tile by tile.
 *
 * TT_BINARY_OP (a define): 0 add, 1 subtract, 2 multiply (at MATH_FIDELITY).
 * Runtime argument 0: the number of tiles of this core.
 */
#include "compute_kernel_api.h"

#define CB_A 0u
#define CB_B 1u
#define CB_OUT 16u

#ifndef TT_BINARY_OP
#error "TT_BINARY_OP must be defined (0 add, 1 subtract, 2 multiply)"
#endif

int main(void) {
    const uint32_t tiles = get_arg_val(0);
    binary_op_init_common(CB_A, CB_B, CB_OUT);
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(CB_A, 1);
        cb_wait_front(CB_B, 1);
        tile_regs_acquire();
#if TT_BINARY_OP == 0
        add_tiles(CB_A, CB_B, 0, 0, 0);
#elif TT_BINARY_OP == 1
        sub_tiles(CB_A, CB_B, 0, 0, 0);
#else
        mul_tiles(CB_A, CB_B, 0, 0, 0);
#endif
        tile_regs_commit();
        cb_pop_front(CB_A, 1);
        cb_pop_front(CB_B, 1);

        cb_reserve_back(CB_OUT, 1);
        tile_regs_wait();
        pack_tile(0, CB_OUT);
        tile_regs_release();
        cb_push_back(CB_OUT, 1);
    }
    return 0;
}
