/* Matmul compute kernel (tt-metal's matmul with a K loop): out[t] = sum_k a[t][k] @ b[t][k].
 *
 * For each output tile: tile_regs_acquire, then per k one A tile from CB_IN0 and one B tile
 * from CB_IN1 into matmul_tiles (Dst tile 0 starts from zero and accumulates), then
 * tile_regs_commit and pack_tile to CB_OUT0.  The order of the input tiles is the reader's
 * (dm_cb_reader.c).  Fidelity: TESSERA_MATH_FIDELITY (a define of the build).
 *
 * Runtime arguments: 0 output tiles, 1 K (tiles per output tile).
 * Mailboxes as compute_eltwise_binary.c.
 */
#include "compute_kernel_api.h"
#include "tile_kernel.h"

#define CB_IN0 0u
#define CB_IN1 1u
#define CB_OUT0 16u

int main(void) {
    uint32_t out_tiles = get_arg_val(0), k_tiles = get_arg_val(1);
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_mark(KERNEL_MAILBOX_START);
#endif
    mm_init(CB_IN0, CB_IN1, CB_OUT0);
    for (uint32_t t = 0; t < out_tiles; t++) {
        tile_regs_acquire();
        for (uint32_t k = 0; k < k_tiles; k++) {
            cb_wait_front(CB_IN0, 1);
            cb_wait_front(CB_IN1, 1);
            matmul_tiles(CB_IN0, CB_IN1, 0, 0, 0, 0);
            cb_pop_front(CB_IN0, 1);
            cb_pop_front(CB_IN1, 1);
        }
        tile_regs_commit();

        kernel_pack_dst0(CB_OUT0);
    }
    kernel_compute_done();
    return 0;
}
