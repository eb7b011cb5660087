/* What the host runtime (tessera.sw.host, docs/runtime.md) gives a kernel at build time:
 * compile-time arguments, semaphores and the bank tables of interleaved buffers.
 *
 * The runtime compiles every kernel with these defines (CreateKernel,
 * EnqueueProgram); a kernel built without them (tessera fw build) simply
 * has none of the functions below.
 *
 *   TESSERA_COMPILE_TIME_ARGS   the compile_args list:  get_compile_time_arg_val(i)
 *   TESSERA_SEMAPHORE_BASE      semaphore 0 in L1:       get_semaphore(id)
 *   TESSERA_DRAM_BANK_XY        {x0, y0, x1, y1, ...}:   the DRAM nodes, bank order
 *   TESSERA_L1_BANK_XY          the same for the Tensix tiles (logical-core order)
 *   TESSERA_PAGE_ALIGN          pages of a bank lie page_size rounded up to this apart
 *
 * Interleaved buffers (tt-metal's InterleavedAddrGen): page i of a buffer
 * lives in bank i % banks at address + (i / banks) * page stride.
 */
#ifndef TESSERA_PROGRAM_H
#define TESSERA_PROGRAM_H

#include <stdint.h>

#include "tessera_noc.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef TESSERA_COMPILE_TIME_ARGS
static const uint32_t tessera_compile_time_args[] __attribute__((unused)) = {TESSERA_COMPILE_TIME_ARGS};
/** Compile-time argument `i` (DataMovementConfig / ComputeConfig compile_args); constant-folded. */
#define get_compile_time_arg_val(i) (tessera_compile_time_args[(i)])
#endif

#ifdef TESSERA_SEMAPHORE_BASE
/** L1 address of semaphore `id` (the id CreateSemaphore returned) on this tile and every other. */
static inline uint32_t get_semaphore(uint32_t id) {
    return TESSERA_SEMAPHORE_BASE + TESSERA_SEMAPHORE_STRIDE * id;
}
#endif

#if defined(TESSERA_DRAM_BANK_XY) && defined(TESSERA_L1_BANK_XY) && defined(TESSERA_NIU_REGS)
static const uint32_t tessera_dram_bank_xy[] __attribute__((unused)) = TESSERA_DRAM_BANK_XY;
static const uint32_t tessera_l1_bank_xy[] __attribute__((unused)) = TESSERA_L1_BANK_XY;

/** An interleaved buffer: its address (buffer.address()), page size and where it lives. */
typedef struct {
    uint32_t bank_base_address;
    uint32_t page_size;
    uint32_t is_dram; /**< 1: BufferType.DRAM, 0: BufferType.L1 */
} interleaved_addr_gen_t;

/** The NoC address of byte `offset` of page `page` of the buffer `s`. */
static inline uint64_t interleaved_get_noc_addr(const interleaved_addr_gen_t *s, uint32_t page, uint32_t offset) {
    uint32_t banks = s->is_dram ? TESSERA_DRAM_BANKS : TESSERA_L1_BANKS;
    const uint32_t *xy = s->is_dram ? tessera_dram_bank_xy : tessera_l1_bank_xy;
    uint32_t bank = page % banks;
    uint32_t stride = (s->page_size + TESSERA_PAGE_ALIGN - 1u) & ~(TESSERA_PAGE_ALIGN - 1u);
    return get_noc_addr(xy[2u * bank], xy[2u * bank + 1u], s->bank_base_address + (page / banks) * stride + offset);
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_PROGRAM_H */
