/* Device header for a core of a Tessera (Tensix-like) tile.
 *
 * Everything here is derived from two generated headers in the build
 * directory: tessera_config.h (the address map of the configuration,
 * hw.config.address_map_header) and tessera_target.h (this core: index,
 * firmware region, runtime-argument area, local memory, console).
 *
 * Memory of a core program (see docs/firmware.md):
 *   L1  reset_pc .. + code_bytes - TESSERA_TARGET_RTARGS_BYTES   code, rodata, data, tohost, bss
 *   L1  TESSERA_TARGET_RTARGS_BASE .. + TESSERA_TARGET_RTARGS_BYTES  runtime arguments (written by the loader)
 *   local memory TESSERA_LOCAL_MEM_BASE .. + local_mem_bytes   stack (sp starts at the top)
 *
 * Circular buffers between the cores of this tile: tessera_cb.h (included).
 * Raw engine commands: tessera_engine.h (included; empty unless the
 * configuration defines the engine's command registers).
 *
 * Dataflow (noc_async_*, noc_semaphore_*): tessera_noc.h (included; it
 * talks to the tile's NIU, docs/chip.md).
 *
 * The tt-metal compute API (add_tiles, matmul_tiles, tile_regs_*, ...):
 * tessera_compute.h, which a compute kernel includes instead of this header
 * (docs/compute.md).  No function in this file pretends to do what the
 * hardware cannot.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stdint.h>

#include "tessera_io.h"

#if TESSERA_TARGET_RUNELF
#error "tessera.h is for a tile core; the run-elf target includes tessera_runelf.h"
#endif

#include "tessera_cb.h"
#include "tessera_engine.h"
#include "tessera_noc.h"
#include "tessera_program.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- identity ----------------------------------------------------------- */

/** Index of this core in its tile (bit in soft_reset, entry of reset_pc). */
#define TESSERA_MY_CORE_INDEX TESSERA_TARGET_CORE_INDEX

/** The tile_id register: x in bits 7:0, y in bits 15:8. */
static inline uint32_t tessera_tile_id(void) {
    return tessera_mmio_read32(TESSERA_TILE_CTRL_TILE_ID);
}

/** NoC x coordinate of this tile. */
static inline uint32_t tessera_tile_x(void) {
    return tessera_tile_id() & 0xffu;
}

/** NoC y coordinate of this tile. */
static inline uint32_t tessera_tile_y(void) {
    return (tessera_tile_id() >> 8) & 0xffu;
}

/* ---- tile cycle counter ------------------------------------------------- */

/** The tile's free-running 64-bit cycle counter.  Reading cycle_lo latches
 *  cycle_hi, so the two words belong to the same instant. */
static inline uint64_t tessera_tile_cycles(void) {
    uint32_t lo = tessera_mmio_read32(TESSERA_TILE_CTRL_CYCLE_LO);
    uint32_t hi = tessera_mmio_read32(TESSERA_TILE_CTRL_CYCLE_HI);
    return ((uint64_t)hi << 32) | lo;
}

/** Busy-wait for at least `cycles` tile cycles. */
static inline void tessera_delay_cycles(uint32_t cycles) {
    uint64_t end = tessera_tile_cycles() + cycles;
    while (tessera_tile_cycles() < end) {
    }
}

/* ---- soft reset and reset PCs (a core may start the others) ------------- */

/** Current soft-reset mask: bit i set holds core i in reset. */
static inline uint32_t tessera_soft_reset_read(void) {
    return tessera_mmio_read32(TESSERA_TILE_CTRL_SOFT_RESET);
}

/** Write the soft-reset mask (bit i = 1 holds core i in reset). */
static inline void tessera_soft_reset_write(uint32_t mask) {
    tessera_mmio_write32(TESSERA_TILE_CTRL_SOFT_RESET, mask);
}

/** Set the address core `core` starts at when it next leaves reset. */
static inline void tessera_set_reset_pc(uint32_t core, uint32_t pc) {
    tessera_mmio_write32(TESSERA_TILE_CTRL_RESET_PC + 4u * core, pc);
}

/* ---- mailboxes and scratch ---------------------------------------------- */

/** Number of mailbox words of the tile. */
#define TESSERA_NUM_MAILBOXES TESSERA_TILE_CTRL_MAILBOX_COUNT

/** Write mailbox word `index` (0 .. TESSERA_NUM_MAILBOXES - 1). */
static inline void tessera_mailbox_write(uint32_t index, uint32_t value) {
    tessera_mmio_write32(TESSERA_TILE_CTRL_MAILBOX + 4u * index, value);
}

/** Read mailbox word `index`. */
static inline uint32_t tessera_mailbox_read(uint32_t index) {
    return tessera_mmio_read32(TESSERA_TILE_CTRL_MAILBOX + 4u * index);
}

/** Spin until mailbox `index` differs from `old`; returns the new value. */
static inline uint32_t tessera_mailbox_wait_change(uint32_t index, uint32_t old) {
    uint32_t value;
    while ((value = tessera_mailbox_read(index)) == old) {
    }
    return value;
}

/** Write the host-visible scratch word. */
static inline void tessera_scratch_write(uint32_t value) {
    tessera_mmio_write32(TESSERA_TILE_CTRL_SCRATCH, value);
}

/** Read the host-visible scratch word. */
static inline uint32_t tessera_scratch_read(void) {
    return tessera_mmio_read32(TESSERA_TILE_CTRL_SCRATCH);
}

/* ---- runtime arguments (tt-metal names) --------------------------------- */

/** Most runtime arguments a kernel can receive (32-bit words). */
#define TESSERA_MAX_RUNTIME_ARGS (TESSERA_TARGET_RTARGS_BYTES / 4u)

/** Address of runtime argument `index` in L1. */
static inline uintptr_t get_arg_addr(uint32_t index) {
    return TESSERA_TARGET_RTARGS_BASE + 4u * index;
}

/** Runtime argument `index`, as written by the loader (SetRuntimeArgs).
 *  The loader zero-fills the area, so arguments the host did not set read as 0. */
static inline uint32_t get_arg_val(uint32_t index) {
    return tessera_mmio_read32(get_arg_addr(index));
}

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_H */
