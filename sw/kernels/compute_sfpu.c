/* Unary SFPU compute kernel (tt-metal's eltwise_sfpu): out[i] = f(in[i]).
 *
 * Per tile: copy_tile from CB_IN0 into Dst tile 0, the SFPU op in place, pack_tile to
 * CB_OUT0 (see compute_eltwise_binary.c for the circular buffers and the mailboxes).
 *
 * Runtime arguments: 0 tiles, 1 op (0 exp, 1 recip, 2 sqrt, 3 gelu, 4 relu).
 */
#include "compute_kernel_api.h"
#include "tile_kernel.h"

#define CB_IN0 0u
#define CB_OUT0 16u

int main(void) {
    uint32_t tiles = get_arg_val(0), op = get_arg_val(1);
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_mark(KERNEL_MAILBOX_START);
#endif
    unary_op_init_common(CB_IN0, CB_OUT0);
    copy_tile_init(CB_IN0);
    exp_tile_init();
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(CB_IN0, 1);
        tile_regs_acquire();
        copy_tile(CB_IN0, 0, 0);
        switch (op) {
        case 0: exp_tile(0); break;
        case 1: recip_tile(0); break;
        case 2: sqrt_tile(0); break;
        case 3: gelu_tile(0); break;
        default: relu_tile(0); break;
        }
        tile_regs_commit();
        cb_pop_front(CB_IN0, 1);

        kernel_pack_dst0(CB_OUT0);
    }
    kernel_compute_done();
    return 0;
}
