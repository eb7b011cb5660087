/* Dataflow API of a Tessera tile core: NoC reads, writes, multicasts, atomics and semaphores
 * through the tile's NIU, with tt-metal's names and semantics (docs/chip.md).
 *
 * Every register address comes from tessera_config.h (the configuration's
 * `niu` MMIO region) and every bit field from tessera_target.h
 * (TESSERA_NIU_*_SHIFT, generated from hw/chip/niu.py); nothing is restated.
 *
 * A NoC address is a 64-bit value: the local address at the node in bits
 * 31:0, then the node in bits 63:32 laid out as the NIU's cmd_remote_coord
 * register (x, y; for a multicast also x_end, y_end).
 *
 * Command buffers, as tt-metal dedicates them: 0 large writes, 1 reads,
 * 2 small writes (inline, semaphores), 3 atomics (taken modulo the number
 * of buffers of the configuration).  A command buffer must be driven by one
 * core at a time; the barriers below wait for the whole NIU, so they are
 * correct (if conservative) when several cores of a tile use it.
 *
 * Barriers compare the NIU's master counters, which count packets: the NIU
 * counts both what it sent and what came back, so no software issue count
 * is needed.  An error response counts as the completion it stands for and
 * sets the sticky error status (tessera_noc_error_*), so a barrier never
 * hangs on a bad request.
 *
 * Every wait marks a firmware waypoint (tessera_waypoint.h): the barrier's
 * or semaphore's code before it spins, RUNNING after, so a timeline shows
 * what the core waited on.  A command waiting for its busy command buffer
 * marks NOC_CMD_BUFFER_WAIT only when it actually has to wait.
 *
 * On a configuration with noc.aligned_transfers (TESSERA_NOC_TRANSFER_ALIGN
 * defined) every NoC address, remote and local (the return address of a
 * read or an atomic too), is a multiple of TESSERA_NOC_TRANSFER_ALIGN bytes;
 * lengths are free.  A command at another address is refused before it
 * reaches the NIU: the core prints the addresses, the length and the
 * alignment and exits with TESSERA_NOC_EXIT_CODE.
 */
#ifndef TESSERA_NOC_H
#define TESSERA_NOC_H

#include <stdint.h>

#include "tessera_io.h"
#include "tessera_waypoint.h"

#ifdef TESSERA_NIU_REGS

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_NIU_CMDBUF_WR ((0u) % TESSERA_NIU_CMD_BUFFERS)
#define TESSERA_NIU_CMDBUF_RD ((1u) % TESSERA_NIU_CMD_BUFFERS)
#define TESSERA_NIU_CMDBUF_REG ((2u) % TESSERA_NIU_CMD_BUFFERS)
#define TESSERA_NIU_CMDBUF_AT ((3u) % TESSERA_NIU_CMD_BUFFERS)

#define TESSERA_NIU_FIELD(reg, field, value)                                                       \
    (((uint32_t)(value) & ((1u << TESSERA_NIU_##reg##_##field##_WIDTH) - 1u))                     \
     << TESSERA_NIU_##reg##_##field##_SHIFT)

/** The NoC address of local address `addr` at node (x, y) (tt-metal get_noc_addr). */
static inline uint64_t get_noc_addr(uint32_t x, uint32_t y, uint32_t addr) {
    uint32_t coord = TESSERA_NIU_FIELD(CMD_REMOTE_COORD, X, x) | TESSERA_NIU_FIELD(CMD_REMOTE_COORD, Y, y);
    return ((uint64_t)coord << 32) | addr;
}

/** The NoC address of `addr` at every node of the rectangle (x_start, y_start) .. (x_end, y_end). */
static inline uint64_t get_noc_multicast_addr(uint32_t x_start, uint32_t y_start, uint32_t x_end,
                                              uint32_t y_end, uint32_t addr) {
    uint32_t coord = TESSERA_NIU_FIELD(CMD_REMOTE_COORD, X, x_start) |
                     TESSERA_NIU_FIELD(CMD_REMOTE_COORD, Y, y_start) |
                     TESSERA_NIU_FIELD(CMD_REMOTE_COORD, X1, x_end) |
                     TESSERA_NIU_FIELD(CMD_REMOTE_COORD, Y1, y_end);
    return ((uint64_t)coord << 32) | addr;
}

/** Read an NIU register; `index` selects the command buffer of a cmd_* array. */
static inline uint32_t tessera_niu_read(uintptr_t reg, uint32_t index) {
    return tessera_mmio_read32(reg + 4u * index);
}

/** Spin until command buffer `buf` has sent its last command (its data has left L1). */
static inline void tessera_niu_wait_ready(uint32_t buf) {
    if (tessera_niu_read(TESSERA_NIU_CMD_ISSUE, buf) == 0u)
        return;
    TESSERA_WAYPOINT(NOC_CMD_BUFFER_WAIT);
    while (tessera_niu_read(TESSERA_NIU_CMD_ISSUE, buf) != 0u) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

#ifdef TESSERA_NOC_TRANSFER_ALIGN
/** Exit status of a core that asked for a NoC transfer at an address the configuration refuses. */
#define TESSERA_NOC_EXIT_CODE 98
#endif

/** Program command buffer `buf` and issue it. */
static inline void tessera_niu_issue(uint32_t buf, uint64_t remote, uint32_t local, uint32_t length,
                                     uint32_t inline_data, uint32_t ctrl) {
#ifdef TESSERA_NOC_TRANSFER_ALIGN
    /* An inline write has no local address. */
    const uint32_t has_local = (ctrl & TESSERA_NIU_FIELD(CMD_CTRL, INLINE, 1)) == 0u;
    if (((uint32_t)remote | (has_local ? local : 0u)) & (TESSERA_NOC_TRANSFER_ALIGN - 1u)) {
        tessera_printf("noc: transfer of %u bytes at remote address 0x%08x, local address 0x%08x refused: "
                       "noc.aligned_transfers needs addresses that are multiples of %u bytes\n",
                       (unsigned)length, (unsigned)(uint32_t)remote, (unsigned)(has_local ? local : 0u),
                       (unsigned)TESSERA_NOC_TRANSFER_ALIGN);
        tessera_exit(TESSERA_NOC_EXIT_CODE);
    }
#endif
    tessera_niu_wait_ready(buf);
    tessera_mmio_write32(TESSERA_NIU_CMD_REMOTE_ADDR + 4u * buf, (uint32_t)remote);
    tessera_mmio_write32(TESSERA_NIU_CMD_REMOTE_COORD + 4u * buf, (uint32_t)(remote >> 32));
    tessera_mmio_write32(TESSERA_NIU_CMD_LOCAL_ADDR + 4u * buf, local);
    tessera_mmio_write32(TESSERA_NIU_CMD_LENGTH + 4u * buf, length);
    tessera_mmio_write32(TESSERA_NIU_CMD_INLINE_DATA + 4u * buf, inline_data);
    tessera_mmio_write32(TESSERA_NIU_CMD_CTRL + 4u * buf, ctrl);
    tessera_mmio_write32(TESSERA_NIU_CMD_ISSUE + 4u * buf, 1u);
}

#define TESSERA_NIU_CTRL(op) TESSERA_NIU_FIELD(CMD_CTRL, OP, TESSERA_NIU_OP_##op)

/** Read `size` bytes at NoC address `src` into local L1 at `dst`. */
static inline void noc_async_read(uint64_t src, uint32_t dst, uint32_t size) {
    tessera_niu_issue(TESSERA_NIU_CMDBUF_RD, src, dst, size, 0u, TESSERA_NIU_CTRL(READ));
}

/** Write `size` bytes of local L1 at `src` to NoC address `dst` (acknowledged). */
static inline void noc_async_write(uint32_t src, uint64_t dst, uint32_t size) {
    tessera_niu_issue(TESSERA_NIU_CMDBUF_WR, dst, src, size, 0u,
                      TESSERA_NIU_CTRL(WRITE) | TESSERA_NIU_FIELD(CMD_CTRL, ACKED, 1));
}

/** Write `size` bytes of local L1 at `src` to every node of the multicast address `dst`,
 *  not to this tile.  `num_dests` is tt-metal's argument; the NIU counts the destinations itself. */
static inline void noc_async_write_multicast(uint32_t src, uint64_t dst, uint32_t size, uint32_t num_dests) {
    (void)num_dests;
    tessera_niu_issue(TESSERA_NIU_CMDBUF_WR, dst, src, size, 0u,
                      TESSERA_NIU_CTRL(WRITE) | TESSERA_NIU_FIELD(CMD_CTRL, ACKED, 1) |
                          TESSERA_NIU_FIELD(CMD_CTRL, MCAST, 1));
}

/** As noc_async_write_multicast, and this tile receives the data too when it lies in the rectangle. */
static inline void noc_async_write_multicast_loopback_src(uint32_t src, uint64_t dst, uint32_t size,
                                                          uint32_t num_dests) {
    (void)num_dests;
    tessera_niu_issue(TESSERA_NIU_CMDBUF_WR, dst, src, size, 0u,
                      TESSERA_NIU_CTRL(WRITE) | TESSERA_NIU_FIELD(CMD_CTRL, ACKED, 1) |
                          TESSERA_NIU_FIELD(CMD_CTRL, MCAST, 1) | TESSERA_NIU_FIELD(CMD_CTRL, INCLUDE_SRC, 1));
}

/** Write the 32-bit `value` to NoC address `addr` (posted; the data travels in the command). */
static inline void noc_inline_dw_write(uint64_t addr, uint32_t value) {
    tessera_niu_issue(TESSERA_NIU_CMDBUF_REG, addr, 0u, 4u, value,
                      TESSERA_NIU_CTRL(WRITE) | TESSERA_NIU_FIELD(CMD_CTRL, INLINE, 1));
}

/** Atomically add `incr` to the 32-bit semaphore at NoC address `addr` (no value returned). */
static inline void noc_semaphore_inc(uint64_t addr, uint32_t incr) {
    tessera_niu_issue(TESSERA_NIU_CMDBUF_AT, addr, TESSERA_NIU_NO_RETURN, 4u, incr, TESSERA_NIU_CTRL(ATOMIC_INC));
}

/** Atomically add `incr` to the word at NoC address `addr`; the old value lands in local L1 at
 *  `ret` once noc_async_atomic_barrier() returns. */
static inline void tessera_noc_atomic_inc(uint64_t addr, uint32_t incr, uint32_t ret) {
    tessera_niu_issue(TESSERA_NIU_CMDBUF_AT, addr, ret, 4u, incr, TESSERA_NIU_CTRL(ATOMIC_INC));
}

/** Copy the 4-byte semaphore at local L1 `src` to `addr` at every node of the multicast address `dst`. */
static inline void noc_semaphore_set_multicast(uint32_t src, uint64_t dst, uint32_t num_dests) {
    (void)num_dests;
    tessera_niu_issue(TESSERA_NIU_CMDBUF_REG, dst, src, 4u, 0u,
                      TESSERA_NIU_CTRL(WRITE) | TESSERA_NIU_FIELD(CMD_CTRL, MCAST, 1));
}

/** Spin until every command buffer is idle. */
static inline void tessera_niu_wait_idle(void) {
    while (tessera_mmio_read32(TESSERA_NIU_BUSY) != 0u) {
    }
}

/** Wait until every read issued so far has landed in L1. */
static inline void noc_async_read_barrier(void) {
    TESSERA_WAYPOINT(NOC_READ_BARRIER);
    tessera_niu_wait_idle();
    while (tessera_mmio_read32(TESSERA_NIU_READ_RESP_RECEIVED) != tessera_mmio_read32(TESSERA_NIU_READ_REQ_SENT)) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

/** Wait until every acknowledged write issued so far is acknowledged by every destination. */
static inline void noc_async_write_barrier(void) {
    TESSERA_WAYPOINT(NOC_WRITE_BARRIER);
    tessera_niu_wait_idle();
    while (tessera_mmio_read32(TESSERA_NIU_WRITE_ACKS_RECEIVED) !=
           tessera_mmio_read32(TESSERA_NIU_WRITE_ACKS_EXPECTED)) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

/** Wait until the data of every write issued so far has left L1 (the source may be reused). */
static inline void noc_async_writes_flushed(void) {
    TESSERA_WAYPOINT(NOC_WRITES_FLUSHED);
    tessera_niu_wait_idle();
    TESSERA_WAYPOINT(RUNNING);
}

/** Wait until every atomic issued so far has been answered. */
static inline void noc_async_atomic_barrier(void) {
    TESSERA_WAYPOINT(NOC_ATOMIC_BARRIER);
    tessera_niu_wait_idle();
    while (tessera_mmio_read32(TESSERA_NIU_ATOMIC_RESP_RECEIVED) != tessera_mmio_read32(TESSERA_NIU_ATOMIC_SENT)) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

/** Spin until the local semaphore equals `value`. */
static inline void noc_semaphore_wait(volatile uint32_t *sem, uint32_t value) {
    TESSERA_WAYPOINT(SEMAPHORE_WAIT);
    while (*sem != value) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

/** Spin until the local semaphore is at least `value`. */
static inline void noc_semaphore_wait_min(volatile uint32_t *sem, uint32_t value) {
    TESSERA_WAYPOINT(SEMAPHORE_WAIT);
    while (*sem < value) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

/** Set the local semaphore. */
static inline void noc_semaphore_set(volatile uint32_t *sem, uint32_t value) {
    *sem = value;
}

/** The NIU's sticky error status (0: no error since the last clear); fields TESSERA_NIU_ERROR_STATUS_*. */
static inline uint32_t tessera_noc_error_status(void) {
    return tessera_mmio_read32(TESSERA_NIU_ERROR_STATUS);
}

/** Local address of the first failed request since the last clear. */
static inline uint32_t tessera_noc_error_addr(void) {
    return tessera_mmio_read32(TESSERA_NIU_ERROR_ADDR);
}

/** Failed requests so far (wrapping). */
static inline uint32_t tessera_noc_error_count(void) {
    return tessera_mmio_read32(TESSERA_NIU_ERROR_COUNT);
}

/** Clear the sticky error status. */
static inline void tessera_noc_error_clear(void) {
    tessera_mmio_write32(TESSERA_NIU_ERROR_STATUS, 0u);
}

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_NIU_REGS */

#endif /* TESSERA_NOC_H */
