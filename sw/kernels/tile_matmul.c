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
 * Runtime arguments (the same list for the three cores):
 *   0 K, 1 a base, 2 b base, 3 out, 4 input format, 5 output format,
 *   6 bytes per input tile, 7 fidelity (TESSERA_ENG_FIDELITY_*).
 */
#include "tessera.h"
#include "tile_kernel.h"

int main(void) {
    uint32_t k_tiles = get_arg_val(0);
    uint32_t a = get_arg_val(1), b = get_arg_val(2), out = get_arg_val(3);
    uint32_t fmt_in = get_arg_val(4), fmt_out = get_arg_val(5);
    uint32_t in_bytes = get_arg_val(6), fidelity = get_arg_val(7);
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_mark(KERNEL_MAILBOX_START);
    for (uint32_t k = 0; k < k_tiles; k++) {
        tessera_unpack_tile(a + k * in_bytes, fmt_in, 0, 0);
        tessera_unpack_tile(b + k * in_bytes, fmt_in, 1, 1);
    }
#elif TESSERA_TARGET_ROLE_MATH
    for (uint32_t k = 0; k < k_tiles; k++)
        tessera_math_cmd(TESSERA_ENG_MATH_OP_MATMUL, fidelity, k != 0, 1, 0, 0, 0, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
#elif TESSERA_TARGET_ROLE_PACK
    tessera_pack_tile(0, out, fmt_out, 1);
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_MASK);
    kernel_mark(KERNEL_MAILBOX_END);
#else
#error "tile_matmul.c runs on the unpack, math and pack cores"
#endif
    (void)a; (void)b; (void)out; (void)fmt_in; (void)fmt_out; (void)in_bytes; (void)fidelity;
    (void)k_tiles;
    return 0;
}
