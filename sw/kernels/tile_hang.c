/* A deliberately hung kernel (for the bench's hang report): the unpacker never pushes.
 *
 * unpack (trisc0) unpacks a tile into SrcA and SrcB without push, so the Src
 * slot never becomes valid; math (trisc1) queues an ADD that waits for it
 * forever and a COMMIT; pack (trisc2) queues a PACK and then waits for the
 * engine to go idle, which never happens.  trisc0 and trisc1 exit; trisc2
 * spins in tessera_engine_wait_idle.  Runtime arguments: 0 a, 1 b, 2 out.
 */
#include "tessera.h"

#if TESSERA_TARGET_ROLE_COMPUTE
#error "tile_hang.c hangs the three TRISCs of a tile; it has no fused compute form"
#endif

int main(void) {
    uint32_t a = get_arg_val(0), b = get_arg_val(1), out = get_arg_val(2);
#if TESSERA_TARGET_ROLE_UNPACK
    tessera_unpack_tile(a, TESSERA_ENG_FORMAT_FLOAT16_B, 0, 0);
    tessera_unpack_tile(b, TESSERA_ENG_FORMAT_FLOAT16_B, 1, 0);   /* the bug: no push */
#elif TESSERA_TARGET_ROLE_MATH
    tessera_math_cmd(TESSERA_ENG_MATH_OP_ADD, TESSERA_ENG_FIDELITY_HIFI4, 0, 1, 0, 0, 0, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
#elif TESSERA_TARGET_ROLE_PACK
    tessera_pack_tile(0, out, TESSERA_ENG_FORMAT_FLOAT16_B, 1);
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_MASK);
#endif
    (void)a; (void)b; (void)out;
    return 0;
}
