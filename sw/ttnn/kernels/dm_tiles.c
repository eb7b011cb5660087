/* ttnn data movement, whole tiles (RISCV_1 = ncrisc): output pages gathered unchanged from the
 * pages of one or more inputs -> CB 16 (the writer stores them).
 *
 * Used where no tile changes inside: concat along a leading dimension, or along the last two
 * where every input but the last fills whole tiles; reshape that keeps the tile rows.  The
 * output's pages are viewed as [outer, D, inner] (row-major); input k holds a [outer, D_k, inner]
 * slice of it at D offset D_0 + .. + D_{k-1}.  Output page p = (o * D + d) * inner + j comes from
 * page (o * D_k + d - offset_k) * inner + j of input k.
 *
 * Runtime arguments: 0 D, 1 inner, 2 the first output page, 3 the number of pages, 4 inputs,
 * then per input 3 words: address, in DRAM (1) or L1 (0), D_k.
 */
#include "tessera.h"

#include "dm_tile.h"

#define CB_OUT 16u
#define ARGS_BASE 5u
#define ARGS_PER_INPUT 3u

int main(void) {
    const uint32_t d_total = get_arg_val(0), inner = get_arg_val(1);
    const uint32_t first = get_arg_val(2), count = get_arg_val(3), inputs = get_arg_val(4);
    const uint32_t page = get_tile_size(CB_OUT);

    for (uint32_t p = first; p < first + count; p++) {
        const uint32_t o = p / (d_total * inner), d = (p / inner) % d_total, j = p % inner;
        uint32_t k = 0, offset = 0, d_k = get_arg_val(ARGS_BASE + 2u);
        while (k + 1u < inputs && d >= offset + d_k) {
            offset += d_k;
            k++;
            d_k = get_arg_val(ARGS_BASE + ARGS_PER_INPUT * k + 2u);
        }
        const interleaved_addr_gen_t src = {.bank_base_address = get_arg_val(ARGS_BASE + ARGS_PER_INPUT * k),
                                            .page_size = page,
                                            .is_dram = get_arg_val(ARGS_BASE + ARGS_PER_INPUT * k + 1u)};
        cb_reserve_back(CB_OUT, 1);
        noc_async_read(interleaved_get_noc_addr(&src, (o * d_k + d - offset) * inner + j, 0), get_write_ptr(CB_OUT),
                       page);
        noc_async_read_barrier();
        cb_push_back(CB_OUT, 1);
    }
    return 0;
}
