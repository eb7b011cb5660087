/* Timeline test kernel (brisc and ncrisc of every Tensix tile): NoC reads and writes behind
 * barriers, atomics, semaphore waits, so every wait marks its waypoint (tessera_noc.h).
 *
 * Runtime arguments (the same list for both cores): 0 x0, 1 y0, 2 width of the compute grid,
 * 3 number of tiles N, 4/5 DRAM node x/y, 6 DRAM input blocks (`len` bytes per tile),
 * 7 len, 8 extra DRAM reads of the last tile, L1 addresses: 9 BUF, 10 RX, 11 SEM, 12 GO,
 * 13 GO_SRC, 14 FLAG, 15 RESULT.
 *
 * brisc of tile t: reads its DRAM block into BUF (read barrier), writes it to the next tile's
 * RX (write barrier); the last tile reads `extra` more blocks, so the others wait for it;
 * every tile increments SEM of tile 0 (atomic barrier); tile 0 waits for SEM = N and
 * multicasts GO = 1 to the others, which wait for it (semaphore waits); then brisc sets its
 * own tile's FLAG and stores in RESULT the tile cycles its read and write phases took
 * (issue to barrier return: RESULT[0], RESULT[1]).
 * ncrisc of tile t: waits for FLAG = 1 (semaphore wait), stores 0x600DF00D in RESULT[2].
 */
#include "tessera.h"

static inline uint32_t cycles_lo(void) {
    return tessera_mmio_read32(TESSERA_TILE_CTRL_CYCLE_LO);
}

int main(void) {
    uint32_t x0 = get_arg_val(0), y0 = get_arg_val(1), gw = get_arg_val(2), n = get_arg_val(3);
    uint32_t dx = get_arg_val(4), dy = get_arg_val(5), din = get_arg_val(6), len = get_arg_val(7);
    uint32_t extra = get_arg_val(8), buf = get_arg_val(9), rx = get_arg_val(10), sem = get_arg_val(11);
    uint32_t go = get_arg_val(12), go_src = get_arg_val(13), flag = get_arg_val(14);
    volatile uint32_t *result = (volatile uint32_t *)get_arg_val(15);
#if TESSERA_TARGET_CORE_INDEX == TESSERA_CORE_BRISC_INDEX
    uint32_t t = (tessera_tile_y() - y0) * gw + (tessera_tile_x() - x0);
    uint32_t next = (t + 1u) % n;

    uint32_t c0 = cycles_lo();
    noc_async_read(get_noc_addr(dx, dy, din + t * len), buf, len);
    noc_async_read_barrier();
    uint32_t c1 = cycles_lo();
    noc_async_write(buf, get_noc_addr(x0 + next % gw, y0 + next / gw, rx), len);
    noc_async_write_barrier();
    uint32_t c2 = cycles_lo();

    if (t == n - 1u) {
        for (uint32_t k = 0; k < extra; k++) {
            noc_async_read(get_noc_addr(dx, dy, din + ((t + 1u + k) % n) * len), buf, len);
            noc_async_read_barrier();
        }
    }
    noc_semaphore_inc(get_noc_addr(x0, y0, sem), 1u);
    noc_async_atomic_barrier();
    if (t == 0u) {
        noc_semaphore_wait_min((volatile uint32_t *)sem, n);
        noc_semaphore_set((volatile uint32_t *)go_src, 1u);
        noc_semaphore_set_multicast(go_src, get_noc_multicast_addr(x0, y0, x0 + gw - 1u, y0 + n / gw - 1u, go),
                                    n - 1u);
        noc_async_writes_flushed();
    } else {
        noc_semaphore_wait((volatile uint32_t *)go, 1u);
    }
    result[0] = c1 - c0;
    result[1] = c2 - c1;
    noc_semaphore_set((volatile uint32_t *)flag, 1u);
#elif TESSERA_TARGET_CORE_INDEX == TESSERA_CORE_NCRISC_INDEX
    (void)x0, (void)y0, (void)gw, (void)n, (void)dx, (void)dy, (void)din, (void)len, (void)extra;
    (void)buf, (void)rx, (void)sem, (void)go, (void)go_src;
    noc_semaphore_wait((volatile uint32_t *)flag, 1u);
    result[2] = 0x600DF00Du;
#else
#error "chip_timeline.c runs on brisc and ncrisc"
#endif
    return 0;
}
