/* Compute kernel API (tt-metal's names) for the compute cores of a tile.
 *
 * A compute kernel is one C source, built once per TRISC core; the generated
 * tessera_target.h defines TESSERA_TARGET_ROLE_UNPACK (trisc0),
 * TESSERA_TARGET_ROLE_MATH (trisc1) or TESSERA_TARGET_ROLE_PACK (trisc2), and
 * every function below compiles to that role's part of the operation and to
 * nothing on the other two.  A tile configured with one core of role
 * "compute" instead (hw/config.py: FPGA-sized tiles) builds the kernel once
 * for that core, whose tessera_target.h defines TESSERA_TARGET_ROLE_COMPUTE
 * and all three part macros: each function then runs its unpack part, then
 * its math part, then its pack part, in one program (see "One fused compute
 * core" below).  The parts:
 *
 *   unpack core  waits for input pages (cb_wait_front), pushes UNPACK commands
 *                that read them into SrcA/SrcB, frees them (cb_pop_front);
 *   math core    pushes math and SFPU commands into the Dst half it owns
 *                (tile_regs_acquire .. tile_regs_commit);
 *   pack core    reserves output pages (cb_reserve_back), pushes PACK commands
 *                from the Dst half it owns (tile_regs_wait .. tile_regs_release),
 *                publishes the pages (cb_push_back).
 *
 * The three cores never talk to each other: the engine's Src slots (unpack
 * push -> math pop) and Dst halves (math COMMIT -> pack release) order their
 * command streams (docs/engine.md).  Circular buffers connect the compute
 * kernel to the data-movement cores (brisc, ncrisc: tessera_cb.h) and to
 * itself (a CB packed by the pack core and unpacked again by the unpack core).
 *
 * One fused compute core.  The engine runs its three command streams
 * concurrently whoever writes them, so one core may push all three: every
 * call pushes its UNPACKs, then its math commands, then its PACKs, in the
 * kernel's program order.  This cannot deadlock, because nothing that core
 * waits for depends on a command it has not pushed yet:
 *   - an engine command waits only for commands pushed before it: an UNPACK
 *     for a Src slot freed by an earlier math pop, a math command for the
 *     Src slot an earlier UNPACK pushed and for a Dst half an earlier PACK
 *     released, a PACK for the half an earlier COMMIT handed over.  The
 *     oldest unfinished command can therefore always run, so every pushed
 *     command finishes, and a store that stalls on a full command FIFO goes
 *     through (each call pushes one Src slot and its math part pops it, so
 *     an UNPACK never waits for a pop that comes later);
 *   - cb_pop_front / cb_push_back wait only for the UNPACKs / PACKs pushed
 *     so far;
 *   - tile_regs_acquire/commit/wait/release wait for nothing on the core
 *     (the engine orders the Dst halves);
 *   - cb_wait_front / cb_reserve_back wait for the data-movement cores, or
 *     for this kernel's own cb_push_back / cb_pop_front earlier in program
 *     order.
 * What a fused core cannot run is a kernel that relies on its parts running
 * ahead of each other: one that commits more than the two Dst halves before
 * packing them, or packs more pages into one of its own CBs than the CB
 * holds before unpacking them (on three cores the unpack core has already
 * moved on to the pages it frees).  Such a kernel waits forever.  The
 * kernels of this tree follow tt-metal's per-tile pattern (acquire, math,
 * commit, wait, pack, release) and run unchanged on both.  The price is
 * time: the core spends the instructions of all three parts in turn, and
 * every wait of one part (a CB, a full FIFO) holds up the other two.
 * The three parts' state (tessera_zero_tile, tessera_dst_*, tessera_pack_*)
 * has distinct names, so one program holds all of it.
 *
 * Include this header (or compute_kernel_api.h) instead of tessera.h, before
 * any other Tessera header: it replaces tessera_cb.h's core-side cb_* forms.
 *
 * Build-time settings (defines):
 *   TESSERA_MATH_FIDELITY           TESSERA_ENG_FIDELITY_* code (0 LoFi .. 3 HiFi4) of
 *                                   matmul_tiles and mul_tiles; default MATH_FIDELITY (what
 *                                   the host runtime's ComputeConfig(math_fidelity) defines),
 *                                   else HiFi4 (tt-metal's default)
 *   TESSERA_CB_DEFAULT_DATA_FORMAT  TESSERA_ENG_FORMAT_* of a CB whose table entry has
 *                                   no data_format (default Float16_b)
 *
 * ComputeConfig's FP32_DEST_ACC_EN and MATH_APPROX_MODE change nothing: Dst always
 * holds fp32 values, and the SFPU has one implementation of each op (no approximate mode).
 *
 * Data formats: each CB's pages are unpacked and packed in the format of its
 * table entry (data_format, written by the loader from the image manifest:
 * sw/toolchain/cb.py), read at every call, so one ELF serves any formats.
 *
 * Dst: TESSERA_DST_TILES_PER_HALF tiles (dst_tiles / 2: tiny 1, tensix 4)
 * between tile_regs_acquire and tile_regs_commit.  A Dst index past that is
 * refused (the core prints the function's name and exits with
 * TESSERA_COMPUTE_EXIT_CODE).  After tile_regs_acquire every Dst tile reads
 * as zero, as in tt-metal: the math core remembers which tiles it has
 * written since, an accumulating operation (matmul_tiles, reduce_tile,
 * add_tiles after add_tiles_init(.., 1)) on an unwritten tile starts from
 * zero, and an operation that only changes part of a tile or reads it
 * (reduce_tile, the SFPU ops) first zeroes it.
 *
 * Limits of the engine (docs/engine.md), precisely:
 *   - matmul_tiles / mm_init with transpose != 0: refused (the unpacker cannot
 *     transpose a tile);
 *   - copy_tile is x + 0 on the engine's adder (there is no move path from Src
 *     to Dst): finite normal values and infinities are copied exactly, -0 and
 *     fp32 subnormals become +0 and every NaN the canonical 0x7FC00000;
 *   - reduce_tile has no scaler operand: sum and max only (tt-metal's AVG and
 *     scaler tile: multiply afterwards with mul_unary_tile);
 *   - the SFPU runs one element at a time (exp 10 cycles per element, gelu 51).
 *
 * Synchronisation points (why the waits are where they are):
 *   cb_pop_front (unpack core) waits until the unpacker has finished every
 *   UNPACK pushed so far (STATUS busy bit), so a freed page has been read.
 *   cb_push_back (pack core) waits until the packer has finished every PACK
 *   pushed so far (a PACK ends when all its L1 writes are acknowledged), so a
 *   published page holds its data.
 */
#ifndef TESSERA_COMPUTE_H
#define TESSERA_COMPUTE_H

#if defined(TESSERA_CB_H) && !defined(TESSERA_COMPUTE_API)
#error "include tessera_compute.h (or compute_kernel_api.h) before tessera.h / tessera_cb.h: it replaces the core-side cb_* functions"
#endif

/** Tells tessera_cb.h to leave the cb_* names to this header. */
#define TESSERA_COMPUTE_API 1

#include <stdint.h>

#include "tessera.h"

#if !(TESSERA_TARGET_ROLE_UNPACK || TESSERA_TARGET_ROLE_MATH || TESSERA_TARGET_ROLE_PACK)
#error "a compute kernel runs on the unpack, math and pack cores (trisc0, trisc1, trisc2) or on one compute core; this build is for another core"
#endif
#if TESSERA_TARGET_ROLE_COMPUTE && !(TESSERA_TARGET_ROLE_UNPACK && TESSERA_TARGET_ROLE_MATH && TESSERA_TARGET_ROLE_PACK)
#error "a compute core runs all three parts: its tessera_target.h must define TESSERA_TARGET_ROLE_UNPACK, _MATH and _PACK"
#endif
#ifndef TESSERA_ENGINE_CMDS
#error "the compute API needs the engine's command registers, which this configuration lacks"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- settings ------------------------------------------------------------ */

#ifndef TESSERA_MATH_FIDELITY
#ifdef MATH_FIDELITY
#define TESSERA_MATH_FIDELITY (MATH_FIDELITY)
#else
#define TESSERA_MATH_FIDELITY TESSERA_ENG_FIDELITY_HIFI4
#endif
#endif

#ifndef TESSERA_CB_DEFAULT_DATA_FORMAT
#define TESSERA_CB_DEFAULT_DATA_FORMAT TESSERA_ENG_FORMAT_FLOAT16_B
#endif

/** Dst tiles a kernel may use between tile_regs_acquire and tile_regs_commit. */
#define TESSERA_DST_TILES_PER_HALF (TESSERA_DST_TILES / 2u)

/** Exit status of a core that refused a call (its console names the function). */
#define TESSERA_COMPUTE_EXIT_CODE 99

/** tt-metal's PoolType (reduce_tile): the engine's reduction kinds. */
typedef enum {
    POOL_SUM = TESSERA_ENG_REDUCE_KIND_SUM,
    POOL_MAX = TESSERA_ENG_REDUCE_KIND_MAX
} tessera_pool_type_t;

/** tt-metal's ReduceDim: REDUCE_ROW reduces each row (result in column 0), REDUCE_COL each
 *  column (result in row 0), REDUCE_SCALAR the whole tile (result at [0][0]). */
typedef enum {
    REDUCE_ROW = TESSERA_ENG_REDUCE_DIM_ROW,
    REDUCE_COL = TESSERA_ENG_REDUCE_DIM_COL,
    REDUCE_SCALAR = TESSERA_ENG_REDUCE_DIM_SCALAR
} tessera_reduce_dim_t;

/* ---- helpers (every role) ------------------------------------------------ */

/** Refuse a call: print "compute: <message>" and exit with TESSERA_COMPUTE_EXIT_CODE. */
static inline void tessera_compute_fail(const char *message) {
    tessera_puts("compute: ");
    tessera_puts(message);
    tessera_puts("\n");
    tessera_exit(TESSERA_COMPUTE_EXIT_CODE);
}

/** Refuse a Dst index past the tiles of one half. */
static inline void tessera_check_dst(uint32_t idst, const char *function) {
    if (idst >= TESSERA_DST_TILES_PER_HALF)
        tessera_compute_fail(function);
}

/** The engine format (TESSERA_ENG_FORMAT_*) of circular buffer `cb`'s pages. */
static inline uint32_t tessera_cb_data_format(uint32_t cb) {
    uint32_t word = tessera_cb(cb)->data_format;
    return word ? word - 1u : TESSERA_CB_DEFAULT_DATA_FORMAT;
}

/* ---- per-part state (a fused compute core has all three) ----------------- */

#if TESSERA_TARGET_ROLE_UNPACK
/** A zero tile in L1 (the unpacking core's .bss, cleared by crt0), unpacked into SrcB by copy_tile.
 *  Bfp8_b because it is the smallest tile (tiny: 1088 bytes of the core's firmware region;
 *  linked only when copy_tile is used, once per source file that uses it); a zero exponent
 *  decodes to +0. */
static uint8_t tessera_zero_tile[TESSERA_TILE_BYTES_BFP8_B]
    __attribute__((aligned(TESSERA_L1_BANK_BYTES), unused));

/** UNPACK tile `tile` of the front of `cb` into SrcA (operand 0) or SrcB (1). */
static inline void tessera_unpack_cb(uint32_t cb, uint32_t tile, uint32_t operand, uint32_t push) {
    tessera_unpack_tile(get_read_ptr(cb) + tile * get_tile_size(cb), tessera_cb_data_format(cb), operand, push);
}
#endif

#if TESSERA_TARGET_ROLE_MATH
/** Bit i: Dst tile i of the math core's half has been written since tile_regs_acquire. */
static uint32_t tessera_dst_written __attribute__((unused));
/** add_tiles / sub_tiles / mul_tiles accumulate into Dst (add_tiles_init(a, b, 1)). */
static uint32_t tessera_binary_acc_to_dest __attribute__((unused));

/** Mark Dst tile `idst` written; returns whether it already was (the acc bit of an
 *  accumulating command: an unwritten tile reads as zero). */
static inline uint32_t tessera_dst_take(uint32_t idst) {
    uint32_t was = (tessera_dst_written >> idst) & 1u;
    tessera_dst_written |= 1u << idst;
    return was;
}

/** Zero Dst tile `idst` if it has not been written since tile_regs_acquire. */
static inline void tessera_dst_defined(uint32_t idst) {
    if (!tessera_dst_take(idst))
        tessera_math_cmd(TESSERA_ENG_MATH_OP_ZERO, 0, 0, 0, idst, 0, 0, 0, 0);
}

/** One SFPU operation on Dst tile `idst` (in place). */
static inline void tessera_sfpu(uint32_t sfpu_op, uint32_t idst, uint32_t scalar_bits) {
    tessera_check_dst(idst, "SFPU op: Dst index >= TESSERA_DST_TILES_PER_HALF");
    tessera_dst_defined(idst);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_SFPU, 0, 0, 0, idst, 0, 0, sfpu_op, scalar_bits);
}

/** An element-wise op of SrcA and SrcB into Dst tile `idst`, freeing the Src slot. */
static inline void tessera_binary(uint32_t op, uint32_t idst, uint32_t acc_to_dest) {
    uint32_t acc = tessera_dst_take(idst) & acc_to_dest;
    tessera_math_cmd(op, TESSERA_MATH_FIDELITY, acc, 1, idst, 0, 0, 0, 0);
}
#endif

#if TESSERA_TARGET_ROLE_PACK
/** The PACK held back until the next pack_tile, cb_push_back or tile_regs_release decides
 *  whether it carries `release` (the engine releases a Dst half only with a PACK). */
typedef struct {
    uint32_t valid, dst, addr, fmt;
} tessera_pack_cmd_t;

static tessera_pack_cmd_t tessera_pack_pending __attribute__((unused));
/** The last PACK pushed since tile_regs_wait (re-pushed with release if nothing is pending). */
static tessera_pack_cmd_t tessera_pack_last __attribute__((unused));
/** Per CB: the next tile of the reserved pages pack_tile(idst, cb) writes (0 after cb_push_back). */
static uint16_t tessera_pack_next[TESSERA_NUM_CBS] __attribute__((unused));

static inline void tessera_pack_push(const tessera_pack_cmd_t *cmd, uint32_t release) {
    tessera_pack_tile(cmd->dst, cmd->addr, cmd->fmt, release);
    tessera_pack_last = *cmd;
}

/** Push the pending PACK, without release. */
static inline void tessera_pack_flush(void) {
    if (tessera_pack_pending.valid) {
        tessera_pack_push(&tessera_pack_pending, 0);
        tessera_pack_pending.valid = 0;
    }
}

static inline void tessera_pack_at(uint32_t idst, uint32_t cb, uint32_t tile) {
    tessera_check_dst(idst, "pack_tile: Dst index >= TESSERA_DST_TILES_PER_HALF");
    tessera_pack_flush();
    tessera_pack_pending.valid = 1;
    tessera_pack_pending.dst = idst;
    tessera_pack_pending.addr = get_write_ptr(cb) + tile * get_tile_size(cb);
    tessera_pack_pending.fmt = tessera_cb_data_format(cb);
}
#endif

/* ---- circular buffers ---------------------------------------------------- */

/** Unpack core: wait until `n` pages are at the front of `cb` (filled by its producer: a
 *  data-movement core, or this kernel's pack core).  Math and pack cores: nothing. */
static inline void cb_wait_front(uint32_t cb, uint32_t n) {
#if TESSERA_TARGET_ROLE_UNPACK
    tessera_cb_wait_front(cb, n);
#else
    (void)cb, (void)n;
#endif
}

/** Unpack core: free `n` pages at the front of `cb`, once the unpacker has read them (waits
 *  until every UNPACK pushed so far has finished).  Math and pack cores: nothing. */
static inline void cb_pop_front(uint32_t cb, uint32_t n) {
#if TESSERA_TARGET_ROLE_UNPACK
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_UNPACK);
    tessera_cb_pop_front(cb, n);
#else
    (void)cb, (void)n;
#endif
}

/** Pack core: wait until `n` pages are free at the back of `cb`.  Unpack and math: nothing. */
static inline void cb_reserve_back(uint32_t cb, uint32_t n) {
#if TESSERA_TARGET_ROLE_PACK
    tessera_cb_reserve_back(cb, n);
#else
    (void)cb, (void)n;
#endif
}

/** Pack core: publish `n` pages of `cb` once the packer has written them (pushes a held-back
 *  PACK, then waits until every PACK pushed so far has all its L1 writes acknowledged); the
 *  next pack_tile(idst, cb) writes the first page of the next reservation.  Unpack and math:
 *  nothing. */
static inline void cb_push_back(uint32_t cb, uint32_t n) {
#if TESSERA_TARGET_ROLE_PACK
    tessera_pack_flush();
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_PACK);
    tessera_cb_push_back(cb, n);
    tessera_pack_next[cb] = 0;
#else
    (void)cb, (void)n;
#endif
}

/* get_read_ptr, get_write_ptr, get_tile_size: tessera_cb.h (they read the CB table, on any
 * core; the read pointer is the unpack core's, the write pointer the pack core's). */

/* ---- Dst registers ------------------------------------------------------- */

/** Math core: start filling a Dst half; every Dst tile reads as zero.  (The engine makes
 *  math commands wait while the half is still being packed.)  Unpack and pack: nothing. */
static inline void tile_regs_acquire(void) {
#if TESSERA_TARGET_ROLE_MATH
    tessera_dst_written = 0;
#endif
}

/** Math core: hand the Dst half to the packer (COMMIT) and move on to the other half.  A half
 *  in which nothing was written gets tile 0 zeroed first.  Unpack and pack: nothing. */
static inline void tile_regs_commit(void) {
#if TESSERA_TARGET_ROLE_MATH
    if (!tessera_dst_written)
        tessera_math_cmd(TESSERA_ENG_MATH_OP_ZERO, 0, 0, 0, 0, 0, 0, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
    tessera_dst_written = 0;
#endif
}

/** Pack core: wait for the committed Dst half.  The engine makes every PACK wait for it, so
 *  there is nothing to do on any core. */
static inline void tile_regs_wait(void) {
#if TESSERA_TARGET_ROLE_PACK
    tessera_pack_last.valid = 0;
#endif
}

/** Pack core: give the Dst half back to math: the last pack_tile since tile_regs_wait is
 *  pushed with `release`.  If that PACK was already pushed (cb_push_back came between), it
 *  is pushed again with `release` (the same bytes to the same page, one more tile of pack
 *  time).  Without any pack_tile since tile_regs_wait: refused.  Unpack and math: nothing. */
static inline void tile_regs_release(void) {
#if TESSERA_TARGET_ROLE_PACK
    if (tessera_pack_pending.valid) {
        tessera_pack_push(&tessera_pack_pending, 1);
        tessera_pack_pending.valid = 0;
    } else if (tessera_pack_last.valid) {
        tessera_pack_push(&tessera_pack_last, 1);
    } else {
        tessera_compute_fail("tile_regs_release: no pack_tile since tile_regs_wait");
    }
    tessera_pack_last.valid = 0;
#endif
}

/** tt-metal's older pair: acquire_dst = tile_regs_acquire + tile_regs_wait, release_dst =
 *  tile_regs_commit + tile_regs_release (each core does its own half of each). */
static inline void acquire_dst(void) {
    tile_regs_acquire();
    tile_regs_wait();
}

static inline void release_dst(void) {
    tile_regs_commit();
    tile_regs_release();
}

/* ---- initialisation (formats come from the CB table at every call) ------ */

/* Argument-count dispatch for tt-metal's optional trailing arguments. */
#define TESSERA_PICK_3(_1, _2, _3, name, ...) name
#define TESSERA_PICK_4(_1, _2, _3, _4, name, ...) name

/** Element-wise binary kernels: nothing to set up. */
static inline void binary_op_init_common(uint32_t icb0, uint32_t icb1, uint32_t ocb) {
    (void)icb0, (void)icb1, (void)ocb;
}

/** Unary (SFPU) kernels: nothing to set up. */
static inline void unary_op_init_common(uint32_t icb, uint32_t ocb) {
    (void)icb, (void)ocb;
}

static inline void init_sfpu(uint32_t icb, uint32_t ocb) {
    (void)icb, (void)ocb;
}

/** add_tiles_init(icb0, icb1[, acc_to_dest]), sub_tiles_init(..), mul_tiles_init(icb0, icb1[, acc]):
 *  with acc_to_dest, add/sub/mul_tiles add their result to the Dst tile (math core). */
static inline void tessera_binary_init(uint32_t icb0, uint32_t icb1, uint32_t acc_to_dest) {
    (void)icb0, (void)icb1;
#if TESSERA_TARGET_ROLE_MATH
    tessera_binary_acc_to_dest = acc_to_dest != 0;
#else
    (void)acc_to_dest;
#endif
}

static inline void tessera_binary_init2(uint32_t icb0, uint32_t icb1) {
    tessera_binary_init(icb0, icb1, 0);
}

#define add_tiles_init(...) TESSERA_PICK_3(__VA_ARGS__, tessera_binary_init, tessera_binary_init2, _)(__VA_ARGS__)
#define sub_tiles_init(...) TESSERA_PICK_3(__VA_ARGS__, tessera_binary_init, tessera_binary_init2, _)(__VA_ARGS__)
#define mul_tiles_init(...) TESSERA_PICK_3(__VA_ARGS__, tessera_binary_init, tessera_binary_init2, _)(__VA_ARGS__)

/** mm_init(in0_cb, in1_cb, out_cb[, transpose]): matmul_tiles' setup; transpose is refused. */
static inline void tessera_mm_init4(uint32_t in0_cb, uint32_t in1_cb, uint32_t out_cb, uint32_t transpose) {
    (void)in0_cb, (void)in1_cb, (void)out_cb;
    if (transpose)
        tessera_compute_fail("mm_init: transpose != 0 (the unpacker cannot transpose)");
}

static inline void tessera_mm_init3(uint32_t in0_cb, uint32_t in1_cb, uint32_t out_cb) {
    tessera_mm_init4(in0_cb, in1_cb, out_cb, 0);
}

#define mm_init(...) TESSERA_PICK_4(__VA_ARGS__, tessera_mm_init4, tessera_mm_init3, _)(__VA_ARGS__)

/** copy_tile's setup (tt-metal: copy_tile_init(cb), copy_tile_to_dst_init_short(cb)). */
static inline void copy_tile_init(uint32_t cb) {
    (void)cb;
}

static inline void copy_tile_to_dst_init_short(uint32_t cb) {
    (void)cb;
}

/** SFPU setup: nothing to do (each op is one engine command). */
static inline void exp_tile_init(void) {}
static inline void recip_tile_init(void) {}
static inline void sqrt_tile_init(void) {}
static inline void gelu_tile_init(void) {}
static inline void relu_tile_init(void) {}
static inline void binop_with_scalar_tile_init(void) {}

/** reduce_tile's setup; refuses a pool type or dimension the engine does not have. */
static inline void reduce_init(tessera_pool_type_t pool, tessera_reduce_dim_t dim, uint32_t icb, uint32_t ocb) {
    (void)icb, (void)ocb;
    if ((uint32_t)pool > TESSERA_ENG_REDUCE_KIND_MAX || (uint32_t)dim > TESSERA_ENG_REDUCE_DIM_SCALAR)
        tessera_compute_fail("reduce_init: pool is not POOL_SUM/POOL_MAX or dim not REDUCE_ROW/COL/SCALAR");
}

static inline void reduce_uninit(void) {}

/** tt-metal's format reconfiguration: nothing to do, every call reads its CBs' formats. */
static inline void reconfig_data_format(uint32_t icb0, uint32_t icb1) {
    (void)icb0, (void)icb1;
}

static inline void pack_reconfig_data_format(uint32_t ocb) {
    (void)ocb;
}

/* ---- math on tiles ------------------------------------------------------- */

/** Dst[idst] += A @ B with A = tile in0_tile_index at the front of in0_cb, B = tile
 *  in1_tile_index of in1_cb (an unwritten Dst tile starts from zero, so a K loop of
 *  matmul_tiles inside one tile_regs_acquire accumulates).  Fidelity TESSERA_MATH_FIDELITY.
 *  Unpack: UNPACK A -> SrcA, B -> SrcB (push); math: MATMUL (pop); pack: nothing.
 *  transpose != 0 is refused. */
static inline void matmul_tiles(uint32_t in0_cb, uint32_t in1_cb, uint32_t in0_tile_index,
                                uint32_t in1_tile_index, uint32_t idst, uint32_t transpose) {
    if (transpose)
        tessera_compute_fail("matmul_tiles: transpose != 0 (the unpacker cannot transpose)");
#if TESSERA_TARGET_ROLE_UNPACK
    tessera_unpack_cb(in0_cb, in0_tile_index, TESSERA_ENG_SRC_A, 0);
    tessera_unpack_cb(in1_cb, in1_tile_index, TESSERA_ENG_SRC_B, 1);
#endif
#if TESSERA_TARGET_ROLE_MATH
    tessera_check_dst(idst, "matmul_tiles: Dst index >= TESSERA_DST_TILES_PER_HALF");
    tessera_math_cmd(TESSERA_ENG_MATH_OP_MATMUL, TESSERA_MATH_FIDELITY, tessera_dst_take(idst), 1, idst, 0, 0, 0, 0);
#endif
    (void)in0_cb, (void)in1_cb, (void)in0_tile_index, (void)in1_tile_index, (void)idst;
}

/* The unpack part of every two-operand op: tile ia of cb_a -> SrcA, tile ib of cb_b -> SrcB. */
#if TESSERA_TARGET_ROLE_UNPACK
#define TESSERA_UNPACK_AB(cb_a, cb_b, ia, ib)                                                       \
    do {                                                                                            \
        tessera_unpack_cb((cb_a), (ia), TESSERA_ENG_SRC_A, 0);                                      \
        tessera_unpack_cb((cb_b), (ib), TESSERA_ENG_SRC_B, 1);                                      \
    } while (0)
#else
#define TESSERA_UNPACK_AB(cb_a, cb_b, ia, ib) ((void)(cb_a), (void)(cb_b), (void)(ia), (void)(ib))
#endif

#if TESSERA_TARGET_ROLE_MATH
#define TESSERA_BINARY(op, idst, name)                                                              \
    do {                                                                                            \
        tessera_check_dst((idst), name ": Dst index >= TESSERA_DST_TILES_PER_HALF");                \
        tessera_binary((op), (idst), tessera_binary_acc_to_dest);                                   \
    } while (0)
#else
#define TESSERA_BINARY(op, idst, name) ((void)(idst))
#endif

/** Dst[idst] = A + B (A = tile ia of cb_a, B = tile ib of cb_b; with add_tiles_init(.., 1):
 *  Dst[idst] += A + B).  Unpack: A, B; math: ADD; pack: nothing. */
static inline void add_tiles(uint32_t cb_a, uint32_t cb_b, uint32_t ia, uint32_t ib, uint32_t idst) {
    TESSERA_UNPACK_AB(cb_a, cb_b, ia, ib);
    TESSERA_BINARY(TESSERA_ENG_MATH_OP_ADD, idst, "add_tiles");
}

/** Dst[idst] = A - B (see add_tiles). */
static inline void sub_tiles(uint32_t cb_a, uint32_t cb_b, uint32_t ia, uint32_t ib, uint32_t idst) {
    TESSERA_UNPACK_AB(cb_a, cb_b, ia, ib);
    TESSERA_BINARY(TESSERA_ENG_MATH_OP_SUB, idst, "sub_tiles");
}

/** Dst[idst] = A * B element-wise, fidelity TESSERA_MATH_FIDELITY (see add_tiles). */
static inline void mul_tiles(uint32_t cb_a, uint32_t cb_b, uint32_t ia, uint32_t ib, uint32_t idst) {
    TESSERA_UNPACK_AB(cb_a, cb_b, ia, ib);
    TESSERA_BINARY(TESSERA_ENG_MATH_OP_MUL, idst, "mul_tiles");
}

/** Dst[idst] = tile itile at the front of cb (x + 0 on the adder: -0, subnormals -> +0, NaN ->
 *  canonical NaN; everything else exact).  Unpack: the tile -> SrcA, a zero tile -> SrcB;
 *  math: ADD; pack: nothing. */
static inline void copy_tile(uint32_t cb, uint32_t itile, uint32_t idst) {
#if TESSERA_TARGET_ROLE_UNPACK
    tessera_unpack_cb(cb, itile, TESSERA_ENG_SRC_A, 0);
    tessera_unpack_tile((uint32_t)(uintptr_t)tessera_zero_tile, TESSERA_ENG_FORMAT_BFP8_B, TESSERA_ENG_SRC_B, 1);
#endif
#if TESSERA_TARGET_ROLE_MATH
    tessera_check_dst(idst, "copy_tile: Dst index >= TESSERA_DST_TILES_PER_HALF");
    tessera_binary(TESSERA_ENG_MATH_OP_ADD, idst, 0);
#endif
    (void)cb, (void)itile, (void)idst;
}

/** Reduce tile itile at the front of icb into Dst[idst] (tt-metal's reduce_tile<pool, dim>
 *  without the scaler): REDUCE_ROW -> column 0, REDUCE_COL -> row 0, REDUCE_SCALAR -> [0][0];
 *  the first call on a Dst tile after tile_regs_acquire starts from +0 (sum) / -inf (max),
 *  repeated calls on it accumulate (sum) or keep the maximum; the rest of the tile is zero.  Unpack: the tile -> SrcA (row, scalar) or SrcB (column); math: REDUCE. */
static inline void reduce_tile(tessera_pool_type_t pool, tessera_reduce_dim_t dim, uint32_t icb, uint32_t itile,
                               uint32_t idst) {
#if TESSERA_TARGET_ROLE_UNPACK
    tessera_unpack_cb(icb, itile, dim == REDUCE_COL ? TESSERA_ENG_SRC_B : TESSERA_ENG_SRC_A, 1);
#endif
#if TESSERA_TARGET_ROLE_MATH
    tessera_check_dst(idst, "reduce_tile: Dst index >= TESSERA_DST_TILES_PER_HALF");
    /* An unwritten tile: zero it (the reduction changes only its output positions), and
     * start the reduction from +0 (sum) or -inf (max) instead of from Dst. */
    uint32_t acc = tessera_dst_take(idst);
    if (!acc)
        tessera_math_cmd(TESSERA_ENG_MATH_OP_ZERO, 0, 0, 0, idst, 0, 0, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_REDUCE, 0, acc, 1, idst, dim, pool, 0, 0);
#endif
    (void)pool, (void)dim, (void)icb, (void)itile, (void)idst;
}

/* ---- SFPU (math core; in place on a Dst tile; unpack and pack: nothing) ---- */

#if TESSERA_TARGET_ROLE_MATH
#define TESSERA_SFPU(op, idst, scalar) tessera_sfpu((op), (idst), (scalar))
#else
#define TESSERA_SFPU(op, idst, scalar) ((void)(idst), (void)(scalar))
#endif

/** Dst[idst] = exp(Dst[idst]) (max 1.5 ulp). */
static inline void exp_tile(uint32_t idst) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_EXP, idst, 0u);
}

/** Dst[idst] = 1 / Dst[idst] (correctly rounded). */
static inline void recip_tile(uint32_t idst) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_RECIP, idst, 0u);
}

/** Dst[idst] = sqrt(Dst[idst]) (correctly rounded). */
static inline void sqrt_tile(uint32_t idst) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_SQRT, idst, 0u);
}

/** Dst[idst] = gelu(Dst[idst]), the tanh form. */
static inline void gelu_tile(uint32_t idst) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_GELU, idst, 0u);
}

/** Dst[idst] = max(Dst[idst], 0). */
static inline void relu_tile(uint32_t idst) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_RELU, idst, 0u);
}

/** Dst[idst] += s, with `param` the fp32 bit pattern of s (tt-metal's binop_with_scalar). */
static inline void add_unary_tile(uint32_t idst, uint32_t param) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_ADDS, idst, param);
}

/** Dst[idst] -= s (added as -s, exact). */
static inline void sub_unary_tile(uint32_t idst, uint32_t param) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_ADDS, idst, param ^ 0x80000000u);
}

/** Dst[idst] *= s. */
static inline void mul_unary_tile(uint32_t idst, uint32_t param) {
    TESSERA_SFPU(TESSERA_ENG_SFPU_OP_MULS, idst, param);
}

/* ---- pack ------------------------------------------------------------------ */

/** pack_tile(idst, cb): Dst[idst] -> the next tile of cb's reserved pages (the first after
 *  cb_reserve_back, then one further per call until cb_push_back), in cb's format.
 *  pack_tile(idst, cb, output_tile_index): -> tile output_tile_index of the reserved pages.
 *  Pack core: one PACK, held back until the next pack_tile, cb_push_back or
 *  tile_regs_release (which gives it `release`); unpack and math: nothing. */
#if TESSERA_TARGET_ROLE_PACK
static inline void tessera_pack_tile_next(uint32_t idst, uint32_t cb) {
    tessera_pack_at(idst, cb, tessera_pack_next[cb]++);
}

static inline void tessera_pack_tile_at(uint32_t idst, uint32_t cb, uint32_t output_tile_index) {
    tessera_pack_at(idst, cb, output_tile_index);
}
#else
static inline void tessera_pack_tile_next(uint32_t idst, uint32_t cb) {
    (void)idst, (void)cb;
}

static inline void tessera_pack_tile_at(uint32_t idst, uint32_t cb, uint32_t output_tile_index) {
    (void)idst, (void)cb, (void)output_tile_index;
}
#endif

#define pack_tile(...) TESSERA_PICK_3(__VA_ARGS__, tessera_pack_tile_at, tessera_pack_tile_next, _)(__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_COMPUTE_H */
