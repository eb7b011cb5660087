/* ttnn unary ops, compute (the three TRISCs): CB 16 = op(CB 0), tile by tile, on the SFPU.
 *
 * TT_UNARY_OP (a define): 0 exp, 1 relu, 2 gelu, 3 sqrt, 4 reciprocal, 5 add a scalar,
 * 6 multiply by a scalar, 7 sigmoid (reciprocal(1 + exp(-x))).
 * Runtime arguments: 0 the number of tiles of this core, 1 the scalar (fp32 bit pattern).
 */
#include "compute_kernel_api.h"

#define CB_IN 0u
#define CB_OUT 16u

#ifndef TT_UNARY_OP
#error "TT_UNARY_OP must be defined"
#endif

#define FP32_ONE 0x3F800000u
#define FP32_MINUS_ONE 0xBF800000u

int main(void) {
    const uint32_t tiles = get_arg_val(0), scalar = get_arg_val(1);
    (void)scalar;
    unary_op_init_common(CB_IN, CB_OUT);
    copy_tile_init(CB_IN);
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(CB_IN, 1);
        tile_regs_acquire();
        copy_tile(CB_IN, 0, 0);
#if TT_UNARY_OP == 0
        exp_tile(0);
#elif TT_UNARY_OP == 1
        relu_tile(0);
#elif TT_UNARY_OP == 2
        gelu_tile(0);
#elif TT_UNARY_OP == 3
        sqrt_tile(0);
#elif TT_UNARY_OP == 4
        recip_tile(0);
#elif TT_UNARY_OP == 5
        add_unary_tile(0, scalar);
#elif TT_UNARY_OP == 6
        mul_unary_tile(0, scalar);
#elif TT_UNARY_OP == 7
        mul_unary_tile(0, FP32_MINUS_ONE);
        exp_tile(0);
        add_unary_tile(0, FP32_ONE);
        recip_tile(0);
#else
#error "unknown TT_UNARY_OP"
#endif
        tile_regs_commit();
        cb_pop_front(CB_IN, 1);

        cb_reserve_back(CB_OUT, 1);
        tile_regs_wait();
        pack_tile(0, CB_OUT);
        tile_regs_release();
        cb_push_back(CB_OUT, 1);
    }
    return 0;
}
