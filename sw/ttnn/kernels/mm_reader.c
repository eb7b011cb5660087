/* ttnn matmul / linear, reader (RISCV_1 = ncrisc): for each output tile of this core, its K pairs
 * of input tiles -> CB 0 (A) and CB 1 (B), then (linear with a bias) the bias tile -> CB 2.
 *
 * C is batch x Mt x Nt tiles, A a_batch x Mt x Kt, B b_batch x Kt x Nt, each of a_batch and b_batch
 * being batch, or 1 (one matrix for every matrix of C); all one tile per page in row-major tile
 * order, interleaved.
 * Output tile t is C(t / (Mt Nt), (t / Nt) % Mt, t % Nt).
 *
 * The bias is a [1, N] tensor: its tile n holds the bias in row 0 and zeros below.  The engine has
 * no broadcast operand, so the reader copies row 0 down the rows of the tile that hold real
 * output rows (rows of M; padding rows stay zero, so C's padding stays zero) and the compute
 * kernel adds the tile to Dst.  The add needs a second operand: a zero tile in CB 3, written once.
 *
 * Runtime arguments:
 *   0 A's address, 1 A in DRAM (1) or L1 (0), 2 B's address, 3 B in DRAM, 4 Mt, 5 Kt, 6 Nt,
 *   7 B's matrices (1: broadcast over A's batch), 8 the first output tile, 9 the number of tiles,
 *   10 has a bias, 11 the bias's address, 12 bias in DRAM, 13 M (logical rows of A),
 *   14 A's matrices (1: broadcast over B's batch).
 */
#include "tessera.h"

#define CB_A 0u
#define CB_B 1u
#define CB_BIAS 2u
#define CB_ZERO 3u

#define FACE_DIM 16u
#define TILE_DIM 32u

/* Copy row 0 of the tile at `tile` (faces of 16x16 elements of `elem_bytes`) into rows 1 .. rows-1. */
static void spread_row0(uint32_t tile, uint32_t elem_bytes, uint32_t rows) {
    const uint32_t row_words = FACE_DIM * elem_bytes / 4u;     /* one face row */
    const uint32_t face_words = FACE_DIM * row_words;
    volatile uint32_t *t = (volatile uint32_t *)tile;
    for (uint32_t r = 1; r < rows; r++) {
        const uint32_t face_base = (r / FACE_DIM) * 2u * face_words + (r % FACE_DIM) * row_words;
        for (uint32_t half = 0; half < 2u; half++)           /* left and right face */
            for (uint32_t w = 0; w < row_words; w++)
                t[face_base + half * face_words + w] = t[half * face_words + w];
    }
}

int main(void) {
    const uint32_t a_addr = get_arg_val(0), a_dram = get_arg_val(1);
    const uint32_t b_addr = get_arg_val(2), b_dram = get_arg_val(3);
    const uint32_t mt = get_arg_val(4), kt = get_arg_val(5), nt = get_arg_val(6);
    const uint32_t b_batches = get_arg_val(7), first = get_arg_val(8), count = get_arg_val(9);
    const uint32_t has_bias = get_arg_val(10), bias_addr = get_arg_val(11), bias_dram = get_arg_val(12);
    const uint32_t m_rows = get_arg_val(13), a_batches = get_arg_val(14);
    const uint32_t a_page = get_tile_size(CB_A), b_page = get_tile_size(CB_B);
    const interleaved_addr_gen_t a = {.bank_base_address = a_addr, .page_size = a_page, .is_dram = a_dram};
    const interleaved_addr_gen_t b = {.bank_base_address = b_addr, .page_size = b_page, .is_dram = b_dram};
    uint32_t bias_page = 0;
    interleaved_addr_gen_t bias = {.bank_base_address = 0, .page_size = 0, .is_dram = 1};

    if (has_bias) {
        bias_page = get_tile_size(CB_BIAS);
        bias.bank_base_address = bias_addr;
        bias.page_size = bias_page;
        bias.is_dram = bias_dram;
        cb_reserve_back(CB_ZERO, 1);
        volatile uint32_t *zero = (volatile uint32_t *)get_write_ptr(CB_ZERO);
        for (uint32_t w = 0; w < get_tile_size(CB_ZERO) / 4u; w++)
            zero[w] = 0;
        cb_push_back(CB_ZERO, 1);
    }

    const uint32_t per_matrix = mt * nt;
    for (uint32_t t = first; t < first + count; t++) {
        const uint32_t batch = t / per_matrix, m = (t / nt) % mt, n = t % nt;
        const uint32_t a_base = ((a_batches == 1u ? 0u : batch) * mt + m) * kt;
        const uint32_t b_base = (b_batches == 1u ? 0u : batch) * kt * nt + n;
        for (uint32_t k = 0; k < kt; k++) {
            cb_reserve_back(CB_A, 1);
            cb_reserve_back(CB_B, 1);
            noc_async_read(interleaved_get_noc_addr(&a, a_base + k, 0), get_write_ptr(CB_A), a_page);
            noc_async_read(interleaved_get_noc_addr(&b, b_base + k * nt, 0), get_write_ptr(CB_B), b_page);
            noc_async_read_barrier();
            cb_push_back(CB_A, 1);
            cb_push_back(CB_B, 1);
        }
        if (has_bias) {
            const uint32_t left = m_rows - m * TILE_DIM;
            cb_reserve_back(CB_BIAS, 1);
            noc_async_read(interleaved_get_noc_addr(&bias, n, 0), get_write_ptr(CB_BIAS), bias_page);
            noc_async_read_barrier();
            __asm__ volatile("" ::: "memory");
            spread_row0(get_write_ptr(CB_BIAS), bias_page / (TILE_DIM * TILE_DIM), left < TILE_DIM ? left : TILE_DIM);
            cb_push_back(CB_BIAS, 1);
        }
    }
    return 0;
}
