/* ttnn element-wise ops, reader (RISCV_1 = ncrisc): tiles of one or two interleaved buffers -> CB 0 / CB 1.
 *
 * Runtime arguments:
 *   0 a's address, 1 a is in DRAM (1) or L1 (0), 2 the number of inputs (1: unary, 2: binary),
 *   3 b's address, 4 b is in DRAM, 5 the first output tile of this core, 6 the number of tiles,
 *   7 a's tile rows per matrix (Ht), 8 a's tile columns (Wt),
 *   9 b's matrices (b's batch repeats over a's: 1 = one matrix for every batch of a),
 *  10 b's tile rows (1 when b has one tile row: [.., 1, W] or [.., <=32, W]),
 *  11 1 when b is one row ([.., 1, W]) to be repeated down every row of a's tiles.
 * A broadcast row is replicated here, in L1, before the tile is pushed: the engine has no
 * broadcast operand.  b's tile for a's tile (batch n, row r, col c) is
 * ((n % b_batches) * b_ht + (r % b_ht)) * Wt + c.
 */
#include "tessera.h"

#define CB_A 0u
#define CB_B 1u

#define FACE_DIM 16u

/* Copy row 0 of a tile (bf16 or fp32, faces 16x16 in row-major face order) to its 31 other rows. */
static void replicate_row0(uint32_t tile, uint32_t elem_bytes) {
    const uint32_t row_words = FACE_DIM * elem_bytes / 4u;
    const uint32_t face_words = FACE_DIM * row_words;
    volatile uint32_t *t = (volatile uint32_t *)tile;
    for (uint32_t face = 0; face < 2u; face++) {            /* top faces: rows 1..15 from row 0 */
        volatile uint32_t *f = t + face * face_words;
        for (uint32_t r = 1; r < FACE_DIM; r++)
            for (uint32_t w = 0; w < row_words; w++)
                f[r * row_words + w] = f[w];
    }
    for (uint32_t w = 0; w < 2u * face_words; w++)          /* bottom faces = top faces */
        t[2u * face_words + w] = t[w];
}

int main(void) {
    const uint32_t a_addr = get_arg_val(0), a_dram = get_arg_val(1), inputs = get_arg_val(2);
    const uint32_t b_addr = get_arg_val(3), b_dram = get_arg_val(4);
    const uint32_t first = get_arg_val(5), tiles = get_arg_val(6);
    const uint32_t ht = get_arg_val(7), wt = get_arg_val(8);
    const uint32_t b_batches = get_arg_val(9), b_ht = get_arg_val(10), bcast_row = get_arg_val(11);
    const uint32_t a_page = get_tile_size(CB_A);
    const interleaved_addr_gen_t a = {.bank_base_address = a_addr, .page_size = a_page, .is_dram = a_dram};

    if (inputs == 1u) {
        for (uint32_t i = first; i < first + tiles; i++) {
            cb_reserve_back(CB_A, 1);
            noc_async_read(interleaved_get_noc_addr(&a, i, 0), get_write_ptr(CB_A), a_page);
            noc_async_read_barrier();
            cb_push_back(CB_A, 1);
        }
        return 0;
    }
    const uint32_t b_page = get_tile_size(CB_B);
    const interleaved_addr_gen_t b = {.bank_base_address = b_addr, .page_size = b_page, .is_dram = b_dram};
    const uint32_t per_matrix = ht * wt;
    for (uint32_t i = first; i < first + tiles; i++) {
        const uint32_t n = i / per_matrix, r = (i % per_matrix) / wt, c = i % wt;
        const uint32_t bi = ((n % b_batches) * b_ht + (r % b_ht)) * wt + c;
        cb_reserve_back(CB_A, 1);
        cb_reserve_back(CB_B, 1);
        noc_async_read(interleaved_get_noc_addr(&a, i, 0), get_write_ptr(CB_A), a_page);
        noc_async_read(interleaved_get_noc_addr(&b, bi, 0), get_write_ptr(CB_B), b_page);
        noc_async_read_barrier();
        if (bcast_row)
            replicate_row0(get_write_ptr(CB_B), b_page / (4u * FACE_DIM * FACE_DIM) == 1u ? 4u : 2u);
        cb_push_back(CB_A, 1);
        cb_push_back(CB_B, 1);
    }
    return 0;
}
