/* Matmul with a K loop on the tile's FPU engine: out = sum_k a[k] @ b[k] (one output tile).
 *
 * One source for the three TRISC roles (see tile_eltwise_add.c):
 *   unpack (trisc0): for each k, UNPACK a[k] into SrcA, UNPACK b[k] into SrcB with push;
 *   math   (trisc1): for each k, MATMUL into Dst tile 0 (accumulating from k = 1) with pop;
 *                    then COMMIT;
 *   pack   (trisc2): PACK Dst tile 0 to out with release, wait for the engine, record the end.
 * The unpacker fills the second Src slot while math works on the first, so
 * only the first unpack and the last pack are exposed.
 *
 * Runtime arguments (the same list for the three cores): 0-6 as
 * tile_kernel_args_t (K, a and b bases, out, input and output formats, bytes
 * per input tile), 7 (`own`) fidelity (TESSERA_ENG_FIDELITY_*).
 */
#include "tessera.h"
#include "tile_kernel.h"

#if TESSERA_TARGET_ROLE_COMPUTE
#error "tile_matmul.c pushes each part as one loop, for three cores that run ahead of each other; on a fused compute core run compute_matmul.c"
#endif

int main(void) {
    tile_kernel_args_t args = tile_kernel_args();
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_unpack_pairs(&args);
#elif TESSERA_TARGET_ROLE_MATH
    for (uint32_t k = 0; k < args.tiles; k++)
        tessera_math_cmd(TESSERA_ENG_MATH_OP_MATMUL, args.own, k != 0, 1, 0, 0, 0, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
#elif TESSERA_TARGET_ROLE_PACK
    tessera_pack_tile(0, args.out, args.fmt_out, 1);
    kernel_finish();
#else
#error "tile_matmul.c runs on the unpack, math and pack cores"
#endif
    return 0;
}
