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
 * Runtime arguments (the same list for the three cores):
 *   0 n tiles, 1 a base, 2 b base, 3 out base, 4 input format, 5 output
 *   format (TESSERA_ENG_FORMAT_*), 6 bytes per input tile, 7 bytes per output tile.
 * Mailboxes: unpack writes the tile cycle counter at its start to
 * KERNEL_MAILBOX_START, pack writes it to KERNEL_MAILBOX_END once the last
 * tile is in L1.
 */
#include "tessera.h"
#include "tile_kernel.h"

int main(void) {
    uint32_t n = get_arg_val(0);
    uint32_t a = get_arg_val(1), b = get_arg_val(2), out = get_arg_val(3);
    uint32_t fmt_in = get_arg_val(4), fmt_out = get_arg_val(5);
    uint32_t in_bytes = get_arg_val(6), out_bytes = get_arg_val(7);
#if TESSERA_TARGET_ROLE_UNPACK
    kernel_mark(KERNEL_MAILBOX_START);
    for (uint32_t i = 0; i < n; i++) {
        tessera_unpack_tile(a + i * in_bytes, fmt_in, 0, 0);
        tessera_unpack_tile(b + i * in_bytes, fmt_in, 1, 1);
    }
#elif TESSERA_TARGET_ROLE_MATH
    for (uint32_t i = 0; i < n; i++) {
        tessera_math_cmd(TESSERA_ENG_MATH_OP_ADD, TESSERA_ENG_FIDELITY_HIFI4, 0, 1, 0, 0, 0, 0, 0);
        tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
    }
#elif TESSERA_TARGET_ROLE_PACK
    for (uint32_t i = 0; i < n; i++)
        tessera_pack_tile(0, out + i * out_bytes, fmt_out, 1);
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_MASK);
    kernel_mark(KERNEL_MAILBOX_END);
#else
#error "tile_eltwise_add.c runs on the unpack, math and pack cores"
#endif
    (void)a; (void)b; (void)out; (void)fmt_in; (void)fmt_out; (void)in_bytes; (void)out_bytes;
    return 0;
}
