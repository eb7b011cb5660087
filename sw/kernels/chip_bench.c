/* `tessera chip-bench` kernel (brisc of one tile): NIU throughput, read latency, multicast.
 *
 * Runtime arguments: 0 peer tile (x | y << 8), 1 DRAM node (x | y << 8),
 * 2 transfer bytes, 3 transfers per measurement, 4 results address,
 * 5 multicast rectangle (x0 | y0 << 8 | x1 << 16 | y1 << 24), 6 source
 * buffer (local), 7 destination buffer (at the remote nodes), 8 number of
 * latency targets K, 9.. K targets (x | y << 8).
 *
 * Results (32-bit words at the results address), each a cycle count from
 * the tile's cycle counter:
 *   0 writes to the peer, 1 writes to DRAM, 2 reads from DRAM, 3 reads from the peer
 *   (each `transfers` x `bytes`, back to back on two command buffers, one barrier),
 *   4 multicast of `bytes` to the rectangle, 5 unicast copies of `bytes` to each tile
 *   of the rectangle but this one, 6.. 6+K-1 one 4-byte read from target k
 *   (issue to barrier, mean of 8).
 */
#include "tessera.h"

static uint32_t now(void) {
    return (uint32_t)tessera_tile_cycles();
}

#define XY(v) ((v) & 0xffu), (((v) >> 8) & 0xffu)

static uint32_t stream(uint32_t op, uint64_t remote, uint32_t local, uint32_t bytes, uint32_t count) {
    uint32_t ctrl = op == TESSERA_NIU_OP_READ ? TESSERA_NIU_CTRL(READ)
                                              : TESSERA_NIU_CTRL(WRITE) | TESSERA_NIU_FIELD(CMD_CTRL, ACKED, 1);
    uint32_t start = now();
    for (uint32_t i = 0; i < count; i++)
        tessera_niu_issue((i & 1u) ? TESSERA_NIU_CMDBUF_REG : TESSERA_NIU_CMDBUF_WR, remote, local, bytes, 0u, ctrl);
    if (op == TESSERA_NIU_OP_READ)
        noc_async_read_barrier();
    else
        noc_async_write_barrier();
    return now() - start;
}

int main(void) {
    uint32_t peer = get_arg_val(0), dram = get_arg_val(1), bytes = get_arg_val(2), count = get_arg_val(3);
    volatile uint32_t *result = (volatile uint32_t *)get_arg_val(4);
    uint32_t rect = get_arg_val(5), src = get_arg_val(6), dst = get_arg_val(7), targets = get_arg_val(8);
    uint32_t x0 = rect & 0xffu, y0 = (rect >> 8) & 0xffu, x1 = (rect >> 16) & 0xffu, y1 = rect >> 24;

    result[0] = stream(TESSERA_NIU_OP_WRITE, get_noc_addr(XY(peer), dst), src, bytes, count);
    result[1] = stream(TESSERA_NIU_OP_WRITE, get_noc_addr(XY(dram), dst), src, bytes, count);
    result[2] = stream(TESSERA_NIU_OP_READ, get_noc_addr(XY(dram), dst), src, bytes, count);
    result[3] = stream(TESSERA_NIU_OP_READ, get_noc_addr(XY(peer), dst), src, bytes, count);

    uint32_t start = now();
    noc_async_write_multicast(src, get_noc_multicast_addr(x0, y0, x1, y1, dst), bytes, 0u);
    noc_async_write_barrier();
    result[4] = now() - start;

    uint32_t me_x = tessera_tile_x(), me_y = tessera_tile_y();
    start = now();
    for (uint32_t y = y0; y <= y1; y++)
        for (uint32_t x = x0; x <= x1; x++)
            if (x != me_x || y != me_y)
                noc_async_write(src, get_noc_addr(x, y, dst), bytes);
    noc_async_write_barrier();
    result[5] = now() - start;

    for (uint32_t k = 0; k < targets; k++) {
        uint32_t target = get_arg_val(9u + k), total = 0;
        for (uint32_t i = 0; i < 8u; i++) {
            uint32_t t0 = now();
            noc_async_read(get_noc_addr(XY(target), dst), src, 4u);
            noc_async_read_barrier();
            total += now() - t0;
        }
        result[6u + k] = total / 8u;
    }
    return 0;
}
