/* ttnn normalization ops, reader (RISCV_1 = ncrisc): input tiles -> CB 0, once per pass of the
 * compute kernel over a row of tiles, the weight / bias tiles -> CB 1 / CB 2 in the last pass,
 * and the constant tiles the compute kernel needs, made here in L1 once per program.
 *
 * NORM_OP (a define): 0 softmax, 1 rms_norm, 2 layer_norm, 3 silu.
 * Runtime arguments:
 *   0 the input's address, 1 it is in DRAM (1) or L1 (0),
 *   2 the first row of tiles of this core (silu: the first tile), 3 the number of rows (silu: tiles),
 *   4 Wt, tiles per row, 5 the logical columns of the last tile of a row (0: all 32),
 *   6 the weight's address (0: no weight), 7 it is in DRAM, 8 the bias's address (0: none), 9 in DRAM,
 *   10 Ht, tile rows per matrix, 11 the address of the bias for a matrix's last tile row (rows past
 *   the logical height 0, so the output's padding stays 0; in DRAM like the bias).
 * The weight and bias tensors hold Wt tiles whose 32 rows all repeat the vector (prepared by the host).
 *
 * Order of the input tiles per row (what the compute kernel expects):
 *   softmax:    pass 1 (row max) the last tile first when it has padding columns, then the others;
 *               pass 2 (exp) every tile except a padded last one (the compute kernel keeps its
 *               masked copy from pass 1);
 *   rms_norm:   pass 1 (sum of squares) every tile; pass 2 every tile with its weight tile;
 *   layer_norm: passes 1 (mean) and 2 (variance) every tile; pass 3 every tile with its weight
 *               and bias tiles.
 * Constant tiles (bfloat16, pushed once, never popped):
 *   softmax with padding: CB 3 = the mask (0 in logical columns, the most negative bfloat16 in
 *   padding columns), added to the last tile so that the max and the exponentials ignore them;
 *   silu: CB 3 = ones, CB 4 = zeros (-x as 0 - x and 1 + e as an accumulating add on the
 *   engine's adder instead of two SFPU passes);
 *   layer_norm: CB 4 = zeros (bfloat8_b: the running sum of squares is copied back into Dst as
 *   running + 0, without copy_tile's zero tile in the unpack core's small firmware region).
 */
#include "tessera.h"

#define CB_IN 0u
#define CB_W 1u
#define CB_B 2u
#define CB_CONST_A 3u
#define CB_CONST_B 4u

#define TILE_DIM 32u
#define FACE_DIM 16u
#define BF16_ONE 0x3F80u
#define BF16_MOST_NEGATIVE 0xFF7Fu /* -3.39e38: x + it stays finite, exp(it - max) = 0 */

#ifndef NORM_OP
#error "NORM_OP must be defined"
#endif

/* A bfloat16 tile (faces of 16x16 in row-major face order) holding `inside` in the first
 * `valid` columns of every row and `outside` in the others; written a face row (two words at a
 * time) after another, since these stores are the reader's whole start-up cost. */
__attribute__((unused)) static void fill_bf16_columns(uint32_t tile, uint32_t valid, uint16_t inside,
                                                      uint16_t outside) {
    uint32_t row[TILE_DIM / 2u]; /* one tile row as words: left face's 8, right face's 8 */
    for (uint32_t w = 0; w < TILE_DIM / 2u; w++) {
        uint32_t c = 2u * w;
        row[w] = (uint32_t)(c < valid ? inside : outside) | (uint32_t)(c + 1u < valid ? inside : outside) << 16;
    }
    volatile uint32_t *t = (volatile uint32_t *)tile;
    const uint32_t face_words = FACE_DIM * FACE_DIM / 2u, row_words = FACE_DIM / 2u;
    for (uint32_t face = 0; face < 4u; face++) {
        const uint32_t *half = row + (face & 1u) * row_words;
        volatile uint32_t *f = t + face * face_words;
        for (uint32_t r = 0; r < FACE_DIM; r++, f += row_words)
            for (uint32_t w = 0; w < row_words; w++)
                f[w] = half[w];
    }
}

/* A page of zeros (any format: a zero Bfp8_b block is 0 whatever its exponent byte). */
__attribute__((unused)) static void push_zeros(uint32_t cb) {
    cb_reserve_back(cb, 1);
    volatile uint32_t *t = (volatile uint32_t *)get_write_ptr(cb);
    for (uint32_t w = 0; w < get_tile_size(cb) / 4u; w++)
        t[w] = 0u;
    cb_push_back(cb, 1);
}

__attribute__((unused)) static void push_constant(uint32_t cb, uint32_t valid, uint16_t inside, uint16_t outside) {
    cb_reserve_back(cb, 1);
    fill_bf16_columns(get_write_ptr(cb), valid, inside, outside);
    cb_push_back(cb, 1);
}

static void read_tile(uint32_t cb, const interleaved_addr_gen_t *src, uint32_t page, uint32_t index) {
    cb_reserve_back(cb, 1);
    noc_async_read(interleaved_get_noc_addr(src, index, 0), get_write_ptr(cb), page);
    noc_async_read_barrier();
    cb_push_back(cb, 1);
}

int main(void) {
    const uint32_t in_addr = get_arg_val(0), in_dram = get_arg_val(1);
    const uint32_t first = get_arg_val(2), count = get_arg_val(3);
    const uint32_t wt = get_arg_val(4), last_valid = get_arg_val(5);
    const uint32_t w_addr = get_arg_val(6), w_dram = get_arg_val(7);
    const uint32_t b_addr = get_arg_val(8), b_dram = get_arg_val(9);
    const uint32_t ht = get_arg_val(10), b_last_addr = get_arg_val(11);
    const uint32_t page = get_tile_size(CB_IN);
    const interleaved_addr_gen_t in = {.bank_base_address = in_addr, .page_size = page, .is_dram = in_dram};
    (void)wt, (void)last_valid, (void)w_addr, (void)w_dram, (void)b_addr, (void)b_dram, (void)ht, (void)b_last_addr;

#if NORM_OP == 3 /* silu: tile by tile */
    push_constant(CB_CONST_A, TILE_DIM, BF16_ONE, BF16_ONE);
    push_constant(CB_CONST_B, TILE_DIM, 0u, 0u);
    for (uint32_t i = first; i < first + count; i++)
        read_tile(CB_IN, &in, page, i);
#else
    const uint32_t masked = last_valid != 0u;
#if NORM_OP == 0
    if (masked)
        push_constant(CB_CONST_A, last_valid, 0u, BF16_MOST_NEGATIVE);
#else
#if NORM_OP == 2
    push_zeros(CB_CONST_B);
#endif
    const interleaved_addr_gen_t w = {.bank_base_address = w_addr, .page_size = get_tile_size(CB_W),
                                      .is_dram = w_dram};
    const interleaved_addr_gen_t b_rows = {.bank_base_address = b_addr, .page_size = get_tile_size(CB_B),
                                           .is_dram = b_dram};
    const interleaved_addr_gen_t b_last = {.bank_base_address = b_last_addr, .page_size = get_tile_size(CB_B),
                                           .is_dram = b_dram};
#endif
    for (uint32_t row = first; row < first + count; row++) {
        const uint32_t base = row * wt;
#if NORM_OP == 0
        if (masked)
            read_tile(CB_IN, &in, page, base + wt - 1u);
        for (uint32_t j = 0; j + masked < wt; j++)
            read_tile(CB_IN, &in, page, base + j);
        for (uint32_t j = 0; j + masked < wt; j++)
            read_tile(CB_IN, &in, page, base + j);
#else
        (void)masked;
        const interleaved_addr_gen_t *b = row % ht == ht - 1u ? &b_last : &b_rows;
        for (uint32_t pass = 0; pass < (NORM_OP == 2 ? 2u : 1u); pass++)
            for (uint32_t j = 0; j < wt; j++)
                read_tile(CB_IN, &in, page, base + j);
        for (uint32_t j = 0; j < wt; j++) {
            read_tile(CB_IN, &in, page, base + j);
            if (w_addr)
                read_tile(CB_W, &w, w.page_size, j);
            if (b_addr)
                read_tile(CB_B, b, b->page_size, j);
        }
#endif
    }
#endif
    return 0;
}
