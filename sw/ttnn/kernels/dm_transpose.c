/* ttnn transpose of the last two dimensions (RISCV_1 = ncrisc): output tile (b, r, c) is input
 * tile (b, c, r) with its elements transposed, built here in L1 -> CB 16 (the writer stores it).
 *
 * Face (i, j) of the output is face (j, i) of the input, transposed.  Elements of 2 bytes
 * (bfloat16) or 4 (float32), from the page size.  The input's zero padding becomes the output's.
 * The next input tile is read into the other half of the CB 0 scratch while this one is
 * transposed.
 *
 * Runtime arguments: 0 input address, 1 in DRAM (1) or L1 (0), 2 Ht, 3 Wt (the input's tile
 * grid per matrix), 4 the first output tile, 5 the number of output tiles.
 */
#include "tessera.h"

#include "dm_tile.h"

#define CB_IN 0u
#define CB_OUT 16u

/* One face of 32-bit elements: d[y][x] = s[x][y]. */
static void transpose_face32(uint32_t *d, const uint32_t *s) {
    for (uint32_t y = 0; y < DM_FACE_DIM; y++)
        for (uint32_t x = 0; x < DM_FACE_DIM; x++)
            d[y * DM_FACE_DIM + x] = s[x * DM_FACE_DIM + y];
}

/* One face of 16-bit elements, a 2x2 block per step with word loads and stores: words a (s[x][y],
 * s[x][y+1]) and b (s[x+1][y], s[x+1][y+1]) give d[y][x..x+1] and d[y+1][x..x+1]. */
static void transpose_face16(uint32_t *d, const uint32_t *s) {
    const uint32_t words = DM_FACE_DIM / 2u;        /* per face row */
    for (uint32_t y = 0; y < DM_FACE_DIM; y += 2u)
        for (uint32_t x = 0; x < DM_FACE_DIM; x += 2u) {
            const uint32_t a = s[x * words + y / 2u], b = s[(x + 1u) * words + y / 2u];
            d[y * words + x / 2u] = (a & 0xffffu) | (b << 16);
            d[(y + 1u) * words + x / 2u] = (a >> 16) | (b & 0xffff0000u);
        }
}

/* Output face (i, j) is input face (j, i) transposed. */
static void transpose_tile(uint32_t dst, uint32_t src, uint32_t elem_bytes) {
    const uint32_t face_words = DM_FACE_DIM * DM_FACE_DIM * elem_bytes / 4u;
    for (uint32_t face = 0; face < 4u; face++) {
        uint32_t *d = (uint32_t *)dst + face * face_words;
        const uint32_t *s = (const uint32_t *)src + (((face & 1u) << 1) | (face >> 1)) * face_words;
        if (elem_bytes == 4u)
            transpose_face32(d, s);
        else
            transpose_face16(d, s);
    }
}

int main(void) {
    const uint32_t in_addr = get_arg_val(0), in_dram = get_arg_val(1);
    const uint32_t ht = get_arg_val(2), wt = get_arg_val(3), first = get_arg_val(4), count = get_arg_val(5);
    const uint32_t page = get_tile_size(CB_OUT);
    const interleaved_addr_gen_t src = {.bank_base_address = in_addr, .page_size = page, .is_dram = in_dram};
    const uint32_t scratch = get_write_ptr(CB_IN);      /* two pages, used as plain memory */
    const uint32_t per_matrix = ht * wt;                /* output: wt tile rows of ht tiles */

    for (uint32_t i = 0; i < count; i++) {
        const uint32_t t = first + i;
        if (i == 0) {
            const uint32_t b = t / per_matrix, r = (t / ht) % wt, c = t % ht;
            noc_async_read(interleaved_get_noc_addr(&src, (b * ht + c) * wt + r, 0), scratch, page);
        }
        noc_async_read_barrier();
        dm_memory_fence();
        const uint32_t here = scratch + (i & 1u) * page;
        if (i + 1u < count) {
            const uint32_t n = t + 1u, b = n / per_matrix, r = (n / ht) % wt, c = n % ht;
            noc_async_read(interleaved_get_noc_addr(&src, (b * ht + c) * wt + r, 0), scratch + ((i + 1u) & 1u) * page,
                           page);
        }
        cb_reserve_back(CB_OUT, 1);
        transpose_tile(get_write_ptr(CB_OUT), here, page / DM_TILE_ELEMS);
        cb_push_back(CB_OUT, 1);
    }
    return 0;
}
