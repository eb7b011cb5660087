/* NoC workload of `tessera sim-bench`: a core writes a block of L1 to a peer node for ever.
 *
 * Runtime arguments: 0 source (local L1), 1 peer x, 2 peer y, 3 destination
 * at the peer, 4 bytes per write, 5 rounds (0: never stop).  Each round is one
 * acknowledged write and a barrier, so the tile's NIU, the routers on the
 * way and the peer's NIU and L1 are busy.  Exits with 0.
 */
#include "tessera.h"

int main(void) {
    uint32_t src = get_arg_val(0), x = get_arg_val(1), y = get_arg_val(2);
    uint32_t dst = get_arg_val(3), bytes = get_arg_val(4), rounds = get_arg_val(5);
    uint64_t remote = get_noc_addr(x, y, dst);
    for (uint32_t i = 0; rounds == 0 || i < rounds; i++) {
        noc_async_write(src, remote, bytes);
        noc_async_write_barrier();
    }
    return 0;
}
