/* Element-wise binary compute kernel (tt-metal's eltwise_binary): out[i] = a[i] op b[i].
 *
 * One source for the unpack, math and pack cores (tessera_compute.h gives each core its part
 * of every call).  Tiles come in through circular buffers CB_IN0 and CB_IN1 (filled by a
 * data-movement core, e.g. dm_cb_reader.c) and leave through CB_OUT0 (drained by another,
 * e.g. dm_cb_writer.c); each CB's table entry gives the format its pages are in.
 *
 * Runtime arguments (the same for the three cores): 0 tiles, 1 op (0 add, 1 sub, 2 mul).
 * Mailboxes: the unpack core writes the tile cycle counter at its start to
 * KERNEL_MAILBOX_START, the pack core once its last tile is in L1 to KERNEL_MAILBOX_END.
 */
#include "compute_kernel_api.h"
#include "tile_kernel.h"

#define CB_IN0 0u
#define CB_IN1 1u
#define CB_OUT0 16u

int main(void) {
    uint32_t tiles = get_arg_val(0), op = get_arg_val(1);
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_mark(KERNEL_MAILBOX_START);
#endif
    binary_op_init_common(CB_IN0, CB_IN1, CB_OUT0);
    add_tiles_init(CB_IN0, CB_IN1);
    for (uint32_t i = 0; i < tiles; i++) {
        cb_wait_front(CB_IN0, 1);
        cb_wait_front(CB_IN1, 1);
        tile_regs_acquire();
        if (op == 0)
            add_tiles(CB_IN0, CB_IN1, 0, 0, 0);
        else if (op == 1)
            sub_tiles(CB_IN0, CB_IN1, 0, 0, 0);
        else
            mul_tiles(CB_IN0, CB_IN1, 0, 0, 0);
        tile_regs_commit();
        cb_pop_front(CB_IN0, 1);
        cb_pop_front(CB_IN1, 1);

        kernel_pack_dst0(CB_OUT0);
    }
    kernel_compute_done();
    return 0;
}
