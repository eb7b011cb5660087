/* ttnn reshape, element by element (RISCV_1 = ncrisc): each output tile is gathered from the
 * input in logical row-major order -> CB 16 (the writer stores it).
 *
 * The input is [batch_in, H_in, W_in] (leading dimensions flattened), the output
 * [batch_out, H_out, W_out], with the same number of elements; output element (b, r, c) is the
 * input element with the same row-major index.  A row of an output tile is cut into pieces that
 * are contiguous in both tiles (inside one face row of the output and one face row of one input
 * tile); each piece is one NoC read from the input's page straight into its place in the
 * output page (the NIU realigns bytes).  A tile with padding is cleared first.
 *
 * Runtime arguments: 0 input address, 1 in DRAM (1) or L1 (0), 2 H_in, 3 W_in, 4 Ht_in, 5 Wt_in,
 * 6 H_out, 7 W_out, 8 Ht_out, 9 Wt_out, 10 the first output tile, 11 the number of tiles.
 */
#include "tessera.h"

#include "dm_tile.h"

#define CB_OUT 16u

int main(void) {
    const uint32_t in_addr = get_arg_val(0), in_dram = get_arg_val(1);
    const uint32_t h_in = get_arg_val(2), w_in = get_arg_val(3), ht_in = get_arg_val(4), wt_in = get_arg_val(5);
    const uint32_t h_out = get_arg_val(6), w_out = get_arg_val(7), ht_out = get_arg_val(8), wt_out = get_arg_val(9);
    const uint32_t first = get_arg_val(10), count = get_arg_val(11);
    const uint32_t page = get_tile_size(CB_OUT), elem = page / DM_TILE_ELEMS;
    const interleaved_addr_gen_t src = {.bank_base_address = in_addr, .page_size = page, .is_dram = in_dram};
    const uint32_t matrix_in = h_in * w_in;

    for (uint32_t t = first; t < first + count; t++) {
        const uint32_t b = t / (ht_out * wt_out), tr = (t / wt_out) % ht_out, tc = t % wt_out;
        const uint32_t rows = dm_min(DM_TILE_DIM, h_out - tr * DM_TILE_DIM);
        const uint32_t c0 = tc * DM_TILE_DIM, c1 = dm_min(c0 + DM_TILE_DIM, w_out);
        cb_reserve_back(CB_OUT, 1);
        const uint32_t out = get_write_ptr(CB_OUT);
        if (rows < DM_TILE_DIM || c1 - c0 < DM_TILE_DIM)
            dm_zero(out, page);
        for (uint32_t i = 0; i < rows; i++) {
            const uint32_t flat = (b * h_out + tr * DM_TILE_DIM + i) * w_out + c0;
            uint32_t bi = flat / matrix_in, ri = (flat % matrix_in) / w_in, ci = flat % w_in;
            for (uint32_t c = c0; c < c1;) {
                uint32_t len = dm_min(c1 - c, DM_FACE_DIM - c % DM_FACE_DIM);
                len = dm_min(len, dm_min(w_in - ci, DM_FACE_DIM - ci % DM_FACE_DIM));
                const uint32_t in_page = (bi * ht_in + ri / DM_TILE_DIM) * wt_in + ci / DM_TILE_DIM;
                const uint32_t in_offset = tile_elem(ri % DM_TILE_DIM, ci % DM_TILE_DIM) * elem;
                noc_async_read(interleaved_get_noc_addr(&src, in_page, in_offset), out + tile_elem(i, c - c0) * elem,
                               len * elem);
                c += len;
                ci += len;
                if (ci == w_in) {
                    ci = 0;
                    if (++ri == h_in) {
                        ri = 0;
                        bi++;
                    }
                }
            }
        }
        noc_async_read_barrier();
        cb_push_back(CB_OUT, 1);
    }
    return 0;
}
