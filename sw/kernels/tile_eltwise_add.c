/* Eltwise add of N pairs of tiles on the tile's FPU engine: out[i] = a[i] + b[i].
 *
 * One source for the three TRISC roles (compiled once per core; the
 * generated tessera_target.h defines TESSERA_TARGET_ROLE_<role>):
 *   unpack (trisc0): UNPACK a[i] into SrcA, UNPACK b[i] into SrcB with push;
 *   math   (trisc1): ADD into Dst tile 0 with pop, then COMMIT;
 *   pack   (trisc2): PACK Dst tile 0 to out[i] with release, then waits for
 *                    the engine to finish and records the end cycle.
 * The three cores never talk to each other: the engine's Src-slot and
 * Dst-half semaphores order their commands (docs/tile.md).
 *
 * Runtime arguments (the same list for the three cores): 0-6 as
 * tile_kernel_args_t (n tiles, a, b and out bases, input and output formats,
 * bytes per input tile), 7 (`own`) bytes per output tile.
 * Mailboxes: unpack writes the tile cycle counter at its start to
 * KERNEL_MAILBOX_START, pack writes it to KERNEL_MAILBOX_END once the last
 * tile is in L1.
 */
#include "tessera.h"
#include "tile_kernel.h"

#if TESSERA_TARGET_ROLE_COMPUTE
#error "tile_eltwise_add.c pushes each part as one loop, for three cores that run ahead of each other; on a fused compute core run compute_eltwise_binary.c"
#endif

int main(void) {
    tile_kernel_args_t args = tile_kernel_args();
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_unpack_pairs(&args);
#elif TESSERA_TARGET_ROLE_MATH
    for (uint32_t i = 0; i < args.tiles; i++) {
        tessera_math_cmd(TESSERA_ENG_MATH_OP_ADD, TESSERA_ENG_FIDELITY_HIFI4, 0, 1, 0, 0, 0, 0, 0);
        tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
    }
#elif TESSERA_TARGET_ROLE_PACK
    uint32_t out_bytes = args.own;
    for (uint32_t i = 0; i < args.tiles; i++)
        tessera_pack_tile(0, args.out + i * out_bytes, args.fmt_out, 1);
    kernel_finish();
#else
#error "tile_eltwise_add.c runs on the unpack, math and pack cores"
#endif
    return 0;
}
