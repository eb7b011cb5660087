/* Engine command streams (unpack, math, pack) of the tile's FPU engine.
 *
 * Each command is a 64-bit word (hw/engine/commands.py, docs/engine.md): a
 * core stores the low word to <STREAM>_CMD_LO, then the high word to
 * <STREAM>_CMD_HI, and that second store pushes the command (it stalls while
 * the stream's FIFO is full).  The field positions and enum values are
 * generated into tessera_target.h from the engine's own layouts.
 *
 * Everything here exists only when the configuration defines the engine's
 * command registers (TESSERA_ENGINE_CMDS); otherwise this header is empty.
 * These are the raw commands; the tt-metal compute API (add_tiles,
 * matmul_tiles, pack_tile, tile_regs_*) is built on them and on the circular
 * buffers in tessera_compute.h.
 */
#ifndef TESSERA_ENGINE_H
#define TESSERA_ENGINE_H

#include <stdint.h>

#include "tessera_io.h"
#include "tessera_waypoint.h"

#ifdef TESSERA_ENGINE_CMDS

#ifdef __cplusplus
extern "C" {
#endif

/** Insert `value` into the `width`-bit field at bit `shift` of a 64-bit command. */
static inline uint64_t tessera_eng_field(uint64_t cmd, uint32_t value, uint32_t shift, uint32_t width) {
    uint64_t mask = width >= 32u ? 0xffffffffull : ((1ull << width) - 1u);
    return cmd | (((uint64_t)value & mask) << shift);
}

#define TESSERA_ENG_SET(cmd, stream, field, value)                                                  \
    tessera_eng_field((cmd), (value), TESSERA_ENG_##stream##_##field##_SHIFT,                       \
                      TESSERA_ENG_##stream##_##field##_WIDTH)

/** Push one command: low word first, then the high word, whose store pushes it. */
static inline void tessera_engine_push(uintptr_t lo_reg, uintptr_t hi_reg, uint64_t cmd) {
    tessera_mmio_write32(lo_reg, (uint32_t)cmd);
    tessera_mmio_write32(hi_reg, (uint32_t)(cmd >> 32));
}

/** Unpack the tile at L1 address `l1_addr` (format TESSERA_ENG_FORMAT_*) into SrcA
 *  (`operand` 0) or SrcB (1); `push` = 1 hands the Src slot to math after this tile. */
static inline void tessera_unpack_tile(uint32_t l1_addr, uint32_t fmt, uint32_t operand, uint32_t push) {
    uint64_t cmd = TESSERA_ENG_SET(0, UNPACK, OP, TESSERA_ENG_UNPACK_OP_UNPACK);
    cmd = TESSERA_ENG_SET(cmd, UNPACK, OPERAND, operand);
    cmd = TESSERA_ENG_SET(cmd, UNPACK, FMT, fmt);
    cmd = TESSERA_ENG_SET(cmd, UNPACK, PUSH, push);
    cmd = TESSERA_ENG_SET(cmd, UNPACK, ADDR, l1_addr);
    tessera_engine_push(TESSERA_ENGINE_UNPACK_CMD_LO, TESSERA_ENGINE_UNPACK_CMD_HI, cmd);
}

/** One math command: `op` TESSERA_ENG_MATH_OP_*, `fidelity` TESSERA_ENG_FIDELITY_*,
 *  `acc` accumulate into Dst, `pop` release the Src slot afterwards, `dst_tile` Dst tile
 *  index, `reduce_dim`/`reduce_kind` for REDUCE, `sfpu_op` for SFPU, `scalar_bits` the
 *  fp32 bit pattern of the SFPU ADDS/MULS scalar. */
static inline void tessera_math_cmd(uint32_t op, uint32_t fidelity, uint32_t acc, uint32_t pop,
                                    uint32_t dst_tile, uint32_t reduce_dim, uint32_t reduce_kind,
                                    uint32_t sfpu_op, uint32_t scalar_bits) {
    uint64_t cmd = TESSERA_ENG_SET(0, MATH, OP, op);
    cmd = TESSERA_ENG_SET(cmd, MATH, FIDELITY, fidelity);
    cmd = TESSERA_ENG_SET(cmd, MATH, ACC, acc);
    cmd = TESSERA_ENG_SET(cmd, MATH, POP, pop);
    cmd = TESSERA_ENG_SET(cmd, MATH, DST_TILE, dst_tile);
    cmd = TESSERA_ENG_SET(cmd, MATH, REDUCE_DIM, reduce_dim);
    cmd = TESSERA_ENG_SET(cmd, MATH, REDUCE_KIND, reduce_kind);
    cmd = TESSERA_ENG_SET(cmd, MATH, SFPU_OP, sfpu_op);
    cmd = TESSERA_ENG_SET(cmd, MATH, SCALAR, scalar_bits);
    tessera_engine_push(TESSERA_ENGINE_MATH_CMD_LO, TESSERA_ENGINE_MATH_CMD_HI, cmd);
}

/** Pack Dst tile `dst_tile` of the packer's current half to L1 address `l1_addr` in format
 *  `fmt`; `release` = 1 returns the Dst half to math after this tile. */
static inline void tessera_pack_tile(uint32_t dst_tile, uint32_t l1_addr, uint32_t fmt, uint32_t release) {
    uint64_t cmd = TESSERA_ENG_SET(0, PACK, OP, TESSERA_ENG_PACK_OP_PACK);
    cmd = TESSERA_ENG_SET(cmd, PACK, FMT, fmt);
    cmd = TESSERA_ENG_SET(cmd, PACK, RELEASE, release);
    cmd = TESSERA_ENG_SET(cmd, PACK, DST_TILE, dst_tile);
    cmd = TESSERA_ENG_SET(cmd, PACK, ADDR, l1_addr);
    tessera_engine_push(TESSERA_ENGINE_PACK_CMD_LO, TESSERA_ENGINE_PACK_CMD_HI, cmd);
}

/** The engine's STATUS register (busy bits, Src slots, Dst halves: docs/engine.md). */
static inline uint32_t tessera_engine_status(void) {
    return tessera_mmio_read32(TESSERA_ENGINE_STATUS);
}

/** Spin until the STATUS bits in `busy_mask` are all clear, e.g.
 *  TESSERA_ENG_STATUS_BUSY_MASK: every command pushed so far, on every stream, has
 *  completed (a pack's data is in L1).  A command is counted busy from the
 *  second cycle after its push, earlier than this function's first read.
 *  Marks the ENGINE_WAIT waypoint while it spins. */
static inline void tessera_engine_wait_idle(uint32_t busy_mask) {
    TESSERA_WAYPOINT(ENGINE_WAIT);
    while (tessera_engine_status() & busy_mask) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_ENGINE_CMDS */

#endif /* TESSERA_ENGINE_H */
