/* Conventions shared by the tile kernels of sw/kernels/tile_*.c (tb/tile reads the same mailboxes). */
#ifndef TILE_KERNEL_H
#define TILE_KERNEL_H

#include "tessera.h"

/** Mailbox where the first core to start a kernel records the tile cycle counter. */
#define KERNEL_MAILBOX_START 0u
/** Mailbox where the last core records the tile cycle counter once the results are in L1. */
#define KERNEL_MAILBOX_END 1u

/** Record the low word of the tile cycle counter in mailbox `box`. */
static inline void kernel_mark(uint32_t box) {
    tessera_mailbox_write(box, tessera_mmio_read32(TESSERA_TILE_CTRL_CYCLE_LO));
}

#ifdef TESSERA_COMPUTE_API
/** The output half of every compute_*.c loop: pack Dst tile 0 as the next tile of `cb`. */
static inline void kernel_pack_dst0(uint32_t cb) {
    cb_reserve_back(cb, 1);
    tile_regs_wait();
    pack_tile(0, cb);
    tile_regs_release();
    cb_push_back(cb, 1);
}

/** End of a compute kernel: the pack core records the end cycle once its last tile is in L1. */
static inline void kernel_compute_done(void) {
#if TESSERA_TARGET_ROLE_PACK
    kernel_mark(KERNEL_MAILBOX_END);
#endif
}
#endif

/** The runtime arguments of the two-operand TRISC kernels (tile_eltwise_add.c, tile_matmul.c):
 *  the same list for the three cores, read once at the start by each. */
typedef struct {
    uint32_t tiles;    /**< 0: tile pairs (eltwise) or K (matmul) */
    uint32_t a;        /**< 1: L1 address of the first A tile */
    uint32_t b;        /**< 2: L1 address of the first B tile */
    uint32_t out;      /**< 3: L1 address of the first output tile */
    uint32_t fmt_in;   /**< 4: input format, TESSERA_ENG_FORMAT_* */
    uint32_t fmt_out;  /**< 5: output format, TESSERA_ENG_FORMAT_* */
    uint32_t in_bytes; /**< 6: bytes per input tile */
    uint32_t own;      /**< 7: the kernel's own (eltwise: bytes per output tile; matmul: fidelity) */
} tile_kernel_args_t;

/** Read the runtime arguments, in order (every core reads all of them, whatever its role). */
static inline tile_kernel_args_t tile_kernel_args(void) {
    tile_kernel_args_t args;
    args.tiles = get_arg_val(0);
    args.a = get_arg_val(1);
    args.b = get_arg_val(2);
    args.out = get_arg_val(3);
    args.fmt_in = get_arg_val(4);
    args.fmt_out = get_arg_val(5);
    args.in_bytes = get_arg_val(6);
    args.own = get_arg_val(7);
    return args;
}

#if TESSERA_TARGET_ROLE_UNPACK
/** The unpacker's whole part of a two-operand kernel: record the start cycle, then for each of
 *  `args->tiles` pairs UNPACK a[i] into SrcA and b[i] into SrcB, the second with push. */
static inline void kernel_unpack_pairs(const tile_kernel_args_t *args) {
    kernel_mark(KERNEL_MAILBOX_START);
    for (uint32_t i = 0; i < args->tiles; i++) {
        tessera_unpack_tile(args->a + i * args->in_bytes, args->fmt_in, 0, 0);
        tessera_unpack_tile(args->b + i * args->in_bytes, args->fmt_in, 1, 1);
    }
}
#endif

#if TESSERA_TARGET_ROLE_PACK
/** The packer's last step: wait until the engine has finished every command, then record the end. */
static inline void kernel_finish(void) {
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_MASK);
    kernel_mark(KERNEL_MAILBOX_END);
}
#endif

#endif /* TILE_KERNEL_H */
