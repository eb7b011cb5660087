/* Chip bench kernel (brisc of every Tensix tile): NoC reads, writes, multicasts, atomics,
 * a semaphore handshake and an error, through tessera_noc.h.
 *
 * Runtime arguments: 0 x0, 1 y0, 2 width of the compute grid (tiles x0.., y0..),
 * 3 number of tiles N, 4/5 DRAM node x/y, 6 DRAM input blocks, 7 DRAM output
 * blocks (1024 bytes per tile), 8 DRAM counter, 9 rounds of increments,
 * 10 transfer length, 11 DRAM size.  L1 buffers: see chip_dataflow.h.
 *
 * Tile t: reads its input block (DRAM, unaligned) into BUF; writes it to the
 * next tile's RX and back to its DRAM output block; increments the DRAM
 * counter `rounds` times; tile 0 multicasts BUF to every other tile (MC),
 * tile 1 to every tile including itself (MC2); every tile increments the
 * semaphore SEM of tile 0, tile 0 waits for N and multicasts GO, the others
 * wait for GO; every tile writes an inline word into tile 0's INLINE array.  Then a read past the end of DRAM must set the error status
 * (recorded in RESULT), and a following read must succeed.  Exit 0.
 */
#include "tessera.h"

#include "chip_dataflow.h"

int main(void) {
    uint32_t x0 = get_arg_val(0), y0 = get_arg_val(1), gw = get_arg_val(2), n = get_arg_val(3);
    uint32_t dx = get_arg_val(4), dy = get_arg_val(5);
    uint32_t din = get_arg_val(6), dout = get_arg_val(7), counter = get_arg_val(8);
    uint32_t rounds = get_arg_val(9), len = get_arg_val(10), dram_size = get_arg_val(11);
    uint32_t x = tessera_tile_x(), y = tessera_tile_y();
    uint32_t t = (y - y0) * gw + (x - x0);
    uint32_t gh = n / gw;
    volatile uint32_t *result = (volatile uint32_t *)CHIP_RESULT;

    noc_async_read(get_noc_addr(dx, dy, din + t * 1024u + t), CHIP_BUF, len);
    noc_async_read_barrier();

    uint32_t next = (t + 1u) % n;
    noc_async_write(CHIP_BUF, get_noc_addr(x0 + next % gw, y0 + next / gw, CHIP_RX + 3u), len);
    noc_async_write(CHIP_BUF, get_noc_addr(dx, dy, dout + t * 1024u + 2u * t), len);
    noc_async_write_barrier();

    for (uint32_t r = 0; r < rounds; r++)
        noc_semaphore_inc(get_noc_addr(dx, dy, counter), 1u);
    noc_async_atomic_barrier();

    uint64_t grid = get_noc_multicast_addr(x0, y0, x0 + gw - 1u, y0 + gh - 1u, CHIP_MC);
    if (t == 0u) {
        noc_async_write_multicast(CHIP_BUF, grid, CHIP_MC_LEN, n - 1u);
        noc_async_write_barrier();
    }
    if (t == 1u % n) {
        noc_async_write_multicast_loopback_src(CHIP_BUF + 5u,
                                               get_noc_multicast_addr(x0, y0, x0 + gw - 1u, y0 + gh - 1u,
                                                                      CHIP_MC2),
                                               CHIP_MC2_LEN, n);
        noc_async_write_barrier();
    }

    /* Handshake: everyone checks in at tile 0, tile 0 releases everyone. */
    noc_semaphore_inc(get_noc_addr(x0, y0, CHIP_SEM), 1u);
    noc_async_atomic_barrier();
    if (t == 0u) {
        noc_semaphore_wait_min((volatile uint32_t *)CHIP_SEM, n);
        noc_semaphore_set((volatile uint32_t *)CHIP_GO_SRC, 1u);
        noc_semaphore_set_multicast(CHIP_GO_SRC, get_noc_multicast_addr(x0, y0, x0 + gw - 1u, y0 + gh - 1u,
                                                                         CHIP_GO), n - 1u);
        noc_async_writes_flushed();
    } else {
        noc_semaphore_wait((volatile uint32_t *)CHIP_GO, 1u);
    }

    /* An inline write to tile 0, then a read of it from the same buffer's flow: the read is
     * served after the write, so the value is in place when this core exits. */
    noc_inline_dw_write(get_noc_addr(x0, y0, CHIP_INLINE + 4u * t), 0xC0DE0000u | t);
    noc_async_read(get_noc_addr(x0, y0, CHIP_INLINE + 4u * t), CHIP_BUF2 + 0x100u, 4u);
    noc_async_read_barrier();

    /* A bad request: its error is reported, the barrier returns, later traffic passes. */
    tessera_noc_error_clear();
    noc_async_read(get_noc_addr(dx, dy, dram_size - 4u), CHIP_BUF2, 64u);
    noc_async_read_barrier();
    result[0] = tessera_noc_error_status();
    result[1] = tessera_noc_error_addr();
    tessera_noc_error_clear();
    noc_async_read(get_noc_addr(dx, dy, din + t * 1024u), CHIP_BUF2, 16u);
    noc_async_read_barrier();
    result[2] = tessera_noc_error_status();
    result[3] = 0x600dF00Du;
    return 0;
}
