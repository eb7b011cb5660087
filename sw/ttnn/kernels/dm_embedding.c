/* ttnn embedding (RISCV_1 = ncrisc): output row s of matrix b is row ids[b][s] of the weight,
 * gathered face row by face row -> CB 16 (the writer stores the tiles).
 *
 * ids: uint32, ROW_MAJOR, one page per batch row (the ids of a sequence).  weight: [vocab, dim]
 * in TILE layout (bfloat16 or float32).  Output: [batch, seq, dim] in TILE layout, tile grid
 * (batch, St, Wt).  Row `id` of weight tile column tc is two face rows of weight tile
 * (id / 32, tc), each 16 contiguous elements: two NoC reads straight into the output row's
 * face rows.  The weight's zero padding columns become the output's; padding rows (past seq)
 * are cleared.  An id >= vocab gives a zero row and the kernel exits with code 3 at the end.
 *
 * Runtime arguments: 0 ids address, 1 ids in DRAM (1) or L1 (0), 2 ids page size (bytes),
 * 3 weight address, 4 weight in DRAM, 5 vocab, 6 Wt (weight tile columns), 7 seq, 8 St,
 * 9 the first output tile, 10 the number of tiles.
 */
#include "tessera.h"

#include "dm_tile.h"

#define CB_IDS 1u
#define CB_OUT 16u
#define BAD_ID_EXIT_CODE 3

int main(void) {
    const uint32_t ids_addr = get_arg_val(0), ids_dram = get_arg_val(1), ids_page = get_arg_val(2);
    const uint32_t w_addr = get_arg_val(3), w_dram = get_arg_val(4), vocab = get_arg_val(5), wt = get_arg_val(6);
    const uint32_t seq = get_arg_val(7), st = get_arg_val(8), first = get_arg_val(9), count = get_arg_val(10);
    const uint32_t page = get_tile_size(CB_OUT), elem = page / DM_TILE_ELEMS;
    const uint32_t face_row = DM_FACE_DIM * elem, face = DM_FACE_DIM * face_row;
    const interleaved_addr_gen_t ids = {.bank_base_address = ids_addr, .page_size = ids_page, .is_dram = ids_dram};
    const interleaved_addr_gen_t weight = {.bank_base_address = w_addr, .page_size = page, .is_dram = w_dram};
    const uint32_t ids_l1 = get_write_ptr(CB_IDS);      /* scratch: the ids of one batch row */
    uint32_t loaded = 0xffffffffu, bad = 0;

    for (uint32_t t = first; t < first + count; t++) {
        const uint32_t b = t / (st * wt), tr = (t / wt) % st, tc = t % wt;
        if (b != loaded) {
            noc_async_read(interleaved_get_noc_addr(&ids, b, 0), ids_l1, ids_page);
            noc_async_read_barrier();
            dm_memory_fence();
            loaded = b;
        }
        const volatile uint32_t *row_ids = (const volatile uint32_t *)ids_l1 + tr * DM_TILE_DIM;
        const uint32_t rows = dm_min(DM_TILE_DIM, seq - tr * DM_TILE_DIM);
        cb_reserve_back(CB_OUT, 1);
        const uint32_t out = get_write_ptr(CB_OUT);
        if (rows < DM_TILE_DIM)
            dm_zero(out, page);
        for (uint32_t i = 0; i < rows; i++) {
            const uint32_t id = row_ids[i];
            const uint32_t dst = out + (i / DM_FACE_DIM) * 2u * face + (i % DM_FACE_DIM) * face_row;
            if (id >= vocab) {
                bad = 1;
                dm_zero(dst, face_row);
                dm_zero(dst + face, face_row);
                continue;
            }
            const uint32_t src = (id % DM_TILE_DIM / DM_FACE_DIM) * 2u * face + (id % DM_FACE_DIM) * face_row;
            const uint32_t w_page = (id / DM_TILE_DIM) * wt + tc;
            noc_async_read(interleaved_get_noc_addr(&weight, w_page, src), dst, face_row);
            noc_async_read(interleaved_get_noc_addr(&weight, w_page, src + face), dst + face, face_row);
        }
        noc_async_read_barrier();
        cb_push_back(CB_OUT, 1);
    }
    return bad ? BAD_ID_EXIT_CODE : 0;
}
