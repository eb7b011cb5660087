/* ttnn concat along one of the last two dimensions, element by element (RISCV_1 = ncrisc): each
 * output tile is gathered from the inputs -> CB 16 (the writer stores it).
 *
 * Used when an input but the last does not fill whole tiles along the concat dimension (else
 * dm_tiles.c moves whole tiles).  Every input is [batch, H_k, W_k] with the same batch, and the
 * same W (axis 0: rows, dim -2) or H (axis 1: columns, dim -1).  Output element (b, r, c) is
 * element (b, r - offset_k, c) (axis 0) or (b, r, c - offset_k) (axis 1) of input k.  A row of
 * an output tile is cut into pieces contiguous in both tiles; each is one NoC read into its
 * place in the output page.  A tile with padding is cleared first.
 *
 * Runtime arguments: 0 axis, 1 H_out, 2 W_out, 3 Ht_out, 4 Wt_out, 5 the first output tile,
 * 6 the number of tiles, 7 inputs, then per input 5 words: address, in DRAM (1) or L1 (0),
 * extent along the axis (H_k or W_k), Ht_k, Wt_k.
 */
#include "tessera.h"

#include "dm_tile.h"

#define CB_OUT 16u
#define ARGS_BASE 8u
#define ARGS_PER_INPUT 5u

static inline uint32_t input_arg(uint32_t k, uint32_t word) {
    return get_arg_val(ARGS_BASE + ARGS_PER_INPUT * k + word);
}

/* The input holding position `x` along the axis; its offset is returned in *offset. */
static uint32_t input_at(uint32_t inputs, uint32_t x, uint32_t *offset) {
    uint32_t k = 0, start = 0;
    while (k + 1u < inputs && x >= start + input_arg(k, 2)) {
        start += input_arg(k, 2);
        k++;
    }
    *offset = start;
    return k;
}

int main(void) {
    const uint32_t axis = get_arg_val(0), h_out = get_arg_val(1), w_out = get_arg_val(2);
    const uint32_t ht_out = get_arg_val(3), wt_out = get_arg_val(4);
    const uint32_t first = get_arg_val(5), count = get_arg_val(6), inputs = get_arg_val(7);
    const uint32_t page = get_tile_size(CB_OUT), elem = page / DM_TILE_ELEMS;

    for (uint32_t t = first; t < first + count; t++) {
        const uint32_t b = t / (ht_out * wt_out), tr = (t / wt_out) % ht_out, tc = t % wt_out;
        const uint32_t rows = dm_min(DM_TILE_DIM, h_out - tr * DM_TILE_DIM);
        const uint32_t c0 = tc * DM_TILE_DIM, c1 = dm_min(c0 + DM_TILE_DIM, w_out);
        cb_reserve_back(CB_OUT, 1);
        const uint32_t out = get_write_ptr(CB_OUT);
        if (rows < DM_TILE_DIM || c1 - c0 < DM_TILE_DIM)
            dm_zero(out, page);
        for (uint32_t i = 0; i < rows; i++) {
            const uint32_t r = tr * DM_TILE_DIM + i;
            for (uint32_t c = c0; c < c1;) {
                uint32_t offset, k, ri = r, ci = c, len = dm_min(c1 - c, DM_FACE_DIM - c % DM_FACE_DIM);
                if (axis == 0u) {
                    k = input_at(inputs, r, &offset);
                    ri = r - offset;
                } else {
                    k = input_at(inputs, c, &offset);
                    ci = c - offset;
                    len = dm_min(len, dm_min(input_arg(k, 2) - ci, DM_FACE_DIM - ci % DM_FACE_DIM));
                }
                const interleaved_addr_gen_t src = {.bank_base_address = input_arg(k, 0), .page_size = page,
                                                    .is_dram = input_arg(k, 1)};
                const uint32_t in_page = (b * input_arg(k, 3) + ri / DM_TILE_DIM) * input_arg(k, 4) + ci / DM_TILE_DIM;
                const uint32_t in_offset = tile_elem(ri % DM_TILE_DIM, ci % DM_TILE_DIM) * elem;
                noc_async_read(interleaved_get_noc_addr(&src, in_page, in_offset), out + tile_elem(i, c - c0) * elem,
                               len * elem);
                c += len;
            }
        }
        noc_async_read_barrier();
        cb_push_back(CB_OUT, 1);
    }
    return 0;
}
