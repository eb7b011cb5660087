/* ttnn normalization ops, writer (RISCV_0 = brisc): broadcasts each row statistic the compute
 * kernel produces across a tile, and writes the output tiles of CB 16 to the output buffer.
 *
 * The engine has no broadcast operand: a REDUCE_ROW leaves row r's value in column 0 of a tile
 * (CB 24, float32).  This core copies it into every column of row r of a new tile -- float32
 * in CB 25 when the value is subtracted (the mean, the row max: added exactly on the engine's
 * adder), bfloat16 rounded to nearest even in CB 26 when it multiplies (the engine's
 * multiplier reads bfloat16 anyway, and would truncate a float32) -- while the engine carries on.
 *
 * NORM_OP (a define): 0 softmax, 1 rms_norm, 2 layer_norm, 3 silu.
 * Runtime arguments: 0 the output's address, 1 it is in DRAM (1) or L1 (0), 2 the first row of
 * tiles of this core (silu: the first tile), 3 the number of rows (silu: tiles), 4 Wt, 5 the
 * logical columns of the last tile of a row (0: all 32), 6 Ht, tile rows per matrix, 7 the
 * logical rows of a matrix's last tile row (0: all 32).
 *
 * Per row: softmax: max -> CB 25, 1 / sum -> CB 26; rms_norm: 1 / rms -> CB 26; layer_norm:
 * mean -> CB 25 (and, when the last tile has padding columns, a second page with the mean in
 * the logical columns only, so that x - mean stays 0 in the padding), 1 / std -> CB 26.
 * Then the row's Wt output tiles.  Tensors keep 0 in their padding: in a matrix's last tile row,
 * softmax's 1 / sum is broadcast as 0 into the rows past the logical height (their exponentials
 * would give 1 / W there); the other ops give 0 there by themselves.
 */
#include "tessera.h"

#define CB_OUT 16u
#define CB_STAT 24u
#define CB_BCAST_F32 25u
#define CB_BCAST_BF16 26u

#define TILE_DIM 32u
#define FACE_DIM 16u
#define FACE_ELEMS (FACE_DIM * FACE_DIM)

#ifndef NORM_OP
#error "NORM_OP must be defined"
#endif

/* Float32 bits -> bfloat16 bits, round to nearest even (the packer's rule; NaN -> 0x7FC0). */
__attribute__((unused)) static uint32_t bf16_rne(uint32_t bits) {
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        return 0x7FC0u;
    return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
}

/* Column 0 of float32 tile `stat`, row r: face (r / 16) * 2, element (r % 16) * 16. */
__attribute__((unused)) static uint32_t stat_of_row(volatile const uint32_t *stat, uint32_t r) {
    return stat[(r / FACE_DIM) * 2u * FACE_ELEMS + (r % FACE_DIM) * FACE_DIM];
}

/* CB 25 <- a float32 tile whose row r holds row r's statistic in its first `valid` columns, 0 after. */
__attribute__((unused)) static void broadcast_f32(volatile const uint32_t *stat, uint32_t valid) {
    volatile uint32_t *t = (volatile uint32_t *)get_write_ptr(CB_BCAST_F32);
    for (uint32_t r = 0; r < TILE_DIM; r++) {
        const uint32_t v = stat_of_row(stat, r);
        volatile uint32_t *left = t + (r / FACE_DIM) * 2u * FACE_ELEMS + (r % FACE_DIM) * FACE_DIM;
        volatile uint32_t *right = left + FACE_ELEMS;
        for (uint32_t c = 0; c < FACE_DIM; c++) {
            left[c] = c < valid ? v : 0u;
            right[c] = c + FACE_DIM < valid ? v : 0u;
        }
    }
}

/* CB 26 <- a bfloat16 tile whose row r < rows holds row r's statistic (rounded) in every
 * column; rows from `rows` on hold 0. */
__attribute__((unused)) static void broadcast_bf16(volatile const uint32_t *stat, uint32_t rows) {
    volatile uint32_t *t = (volatile uint32_t *)get_write_ptr(CB_BCAST_BF16);
    const uint32_t face_words = FACE_ELEMS / 2u, row_words = FACE_DIM / 2u;
    for (uint32_t r = 0; r < TILE_DIM; r++) {
        const uint32_t h = r < rows ? bf16_rne(stat_of_row(stat, r)) : 0u;
        const uint32_t pair = h | (h << 16);
        volatile uint32_t *left = t + (r / FACE_DIM) * 2u * face_words + (r % FACE_DIM) * row_words;
        volatile uint32_t *right = left + face_words;
        for (uint32_t w = 0; w < row_words; w++) {
            left[w] = pair;
            right[w] = pair;
        }
    }
}

/* Take the next statistic tile of the compute kernel and broadcast it into CB 25 (pages: 1, or
 * 2 with a copy in the first `masked_valid` columns only) or CB 26 (rows from `rows` on: 0). */
__attribute__((unused)) static void broadcast(uint32_t cb, uint32_t masked_valid, uint32_t rows) {
    cb_wait_front(CB_STAT, 1);
    volatile const uint32_t *stat = (volatile const uint32_t *)get_read_ptr(CB_STAT);
    if (cb == CB_BCAST_BF16) {
        cb_reserve_back(CB_BCAST_BF16, 1);
        broadcast_bf16(stat, rows);
        cb_push_back(CB_BCAST_BF16, 1);
    } else {
        const uint32_t pages = masked_valid ? 2u : 1u;
        cb_reserve_back(CB_BCAST_F32, pages);
        broadcast_f32(stat, TILE_DIM);
        if (masked_valid) {
            cb_push_back(CB_BCAST_F32, 1);
            broadcast_f32(stat, masked_valid);
            cb_push_back(CB_BCAST_F32, 1);
        } else {
            cb_push_back(CB_BCAST_F32, 1);
        }
    }
    cb_pop_front(CB_STAT, 1);
}

int main(void) {
    const uint32_t dst = get_arg_val(0), dram = get_arg_val(1), first = get_arg_val(2), count = get_arg_val(3);
    const uint32_t wt = get_arg_val(4), last_valid = get_arg_val(5), ht = get_arg_val(6), last_rows = get_arg_val(7);
    const uint32_t page = get_tile_size(CB_OUT);
    const interleaved_addr_gen_t out = {.bank_base_address = dst, .page_size = page, .is_dram = dram};
    (void)wt, (void)last_valid, (void)ht, (void)last_rows;

#if NORM_OP == 3
    const uint32_t first_tile = first, tiles = count;
#else
    const uint32_t first_tile = first * wt, tiles = count * wt;
#endif
    for (uint32_t i = first_tile; i < first_tile + tiles; i++) {
#if NORM_OP != 3
        if ((i - first_tile) % wt == 0u) { /* a new row: its statistics first */
#if NORM_OP == 0
            const uint32_t last_row_of_matrix = (i / wt) % ht == ht - 1u;
            broadcast(CB_BCAST_F32, 0u, TILE_DIM);
            broadcast(CB_BCAST_BF16, 0u, last_rows && last_row_of_matrix ? last_rows : TILE_DIM);
#elif NORM_OP == 1
            broadcast(CB_BCAST_BF16, 0u, TILE_DIM);
#else
            broadcast(CB_BCAST_F32, last_valid, TILE_DIM);
            broadcast(CB_BCAST_BF16, 0u, TILE_DIM);
#endif
        }
#endif
        cb_wait_front(CB_OUT, 1);
        noc_async_write(get_read_ptr(CB_OUT), interleaved_get_noc_addr(&out, i, 0), page);
        noc_async_write_barrier();
        cb_pop_front(CB_OUT, 1);
    }
    return 0;
}
