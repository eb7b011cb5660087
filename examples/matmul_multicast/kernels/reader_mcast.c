/* Blocked matmul reader with multicast (RISCV_1 = ncrisc), after tt-metal's data_mcast and
 * matmul_multicore_reuse_mcast: A rows are multicast along each row of cores, B columns down
 * each column.
 *
 * The core's block, its circular buffers and the order of the pieces (A row 0 and B column
 * 0 a tile at a time, then the other B columns and A rows whole) are matmul_reuse's
 * (reader_block.c).  For A the core
 * at the left of each row is the sender: it reads the strip from DRAM and multicasts it to
 * the other cores of its row, at the same L1 address (every core lays out the program's
 * circular buffers alike and fills them in the same order); the others receive.  B likewise
 * with the core at the top of each column.  Per piece, the handshake of tt-metal:
 *
 *   receiver  reserve the CB pages; set its receiver semaphore INVALID; increment the
 *             sender's sender semaphore over the NoC; wait for its receiver semaphore VALID;
 *   sender    reserve the pages and read the piece from DRAM; wait until its sender
 *             semaphore counts every receiver, reset it; multicast the piece; wait for every
 *             destination's acknowledgement (so the data is in place before the flag: the
 *             NoC need not keep the two in order); multicast VALID to the receiver
 *             semaphores;
 *   both      push the pages to the compute kernel.
 *
 * When it is done it sets the gate semaphore the writer (RISCV_0) waits on: both would use
 * the NIU's write command buffer, which takes one core at a time.
 *
 * Compile-time arguments: semaphore ids 0 A sender, 1 A receiver, 2 B sender, 3 B receiver,
 * 4 writer gate.  Runtime arguments: 0 A's address, 1 B's, 2 Kt, 3 Nt, 4 m0, 5 n0, 6 Mb,
 * 7 Nb; 8, 9 the NoC x, y of this row's A sender; 10, 11 of this column's B sender;
 * 12 .. 15 the row's rectangle (x0, y0, x1, y1), 16 .. 19 the column's; 20 this core sends
 * A, 21 this core sends B; 22 the A receivers of a row, 23 the B receivers of a column.
 */
#include "tessera.h"

#define CB_IN0 0u
#define CB_IN1 1u
#define INVALID 0u
#define VALID 1u

typedef struct {
    interleaved_addr_gen_t dram;
    uint32_t cb, is_sender, receivers, sender_x, sender_y;
    uint32_t rect[4];
    uint32_t sender_sem, receiver_sem;     /* L1 addresses, the same on every tile */
} operand_t;

static uint32_t kt, page;

static uint64_t rect_addr(const operand_t *op, uint32_t addr) {
    return get_noc_multicast_addr(op->rect[0], op->rect[1], op->rect[2], op->rect[3], addr);
}

/** Tiles k0 .. k0+count-1 of a strip of `op`, tile k at page `first + k * step` of its DRAM buffer. */
static void strip(const operand_t *op, uint32_t first, uint32_t step, uint32_t k0, uint32_t count) {
    volatile uint32_t *sender_sem = (volatile uint32_t *)op->sender_sem;
    volatile uint32_t *receiver_sem = (volatile uint32_t *)op->receiver_sem;
    cb_reserve_back(op->cb, count);
    const uint32_t l1 = get_write_ptr(op->cb);
    if (op->is_sender) {
        for (uint32_t k = 0; k < count; k++)
            noc_async_read(interleaved_get_noc_addr(&op->dram, first + (k0 + k) * step, 0), l1 + k * page, page);
        noc_async_read_barrier();
        if (op->receivers) {
            noc_semaphore_wait(sender_sem, op->receivers);
            noc_semaphore_set(sender_sem, 0);
            noc_async_write_multicast(l1, rect_addr(op, l1), count * page, op->receivers);
            noc_async_write_barrier();
            noc_semaphore_set(receiver_sem, VALID);
            noc_semaphore_set_multicast(op->receiver_sem, rect_addr(op, op->receiver_sem), op->receivers);
        }
    } else {
        noc_semaphore_set(receiver_sem, INVALID);
        noc_semaphore_inc(get_noc_addr(op->sender_x, op->sender_y, op->sender_sem), 1);
        noc_semaphore_wait(receiver_sem, VALID);
    }
    cb_push_back(op->cb, count);
}

int main(void) {
    kt = get_arg_val(2);
    const uint32_t nt = get_arg_val(3), m0 = get_arg_val(4), n0 = get_arg_val(5);
    const uint32_t mb = get_arg_val(6), nb = get_arg_val(7);
    page = get_tile_size(CB_IN0);
    operand_t a = {.dram = {.bank_base_address = get_arg_val(0), .page_size = page, .is_dram = 1},
                   .cb = CB_IN0, .is_sender = get_arg_val(20), .receivers = get_arg_val(22),
                   .sender_x = get_arg_val(8), .sender_y = get_arg_val(9),
                   .rect = {get_arg_val(12), get_arg_val(13), get_arg_val(14), get_arg_val(15)},
                   .sender_sem = get_semaphore(get_compile_time_arg_val(0)),
                   .receiver_sem = get_semaphore(get_compile_time_arg_val(1))};
    operand_t b = {.dram = {.bank_base_address = get_arg_val(1), .page_size = page, .is_dram = 1},
                   .cb = CB_IN1, .is_sender = get_arg_val(21), .receivers = get_arg_val(23),
                   .sender_x = get_arg_val(10), .sender_y = get_arg_val(11),
                   .rect = {get_arg_val(16), get_arg_val(17), get_arg_val(18), get_arg_val(19)},
                   .sender_sem = get_semaphore(get_compile_time_arg_val(2)),
                   .receiver_sem = get_semaphore(get_compile_time_arg_val(3))};

    /* reader_block.c's order: A row 0 and B column 0 a tile at a time, then whole strips. */
    for (uint32_t k = 0; k < kt; k++) {
        strip(&a, m0 * kt, 1, k, 1);
        strip(&b, n0, nt, k, 1);
    }
    for (uint32_t j = 1; j < nb; j++)
        strip(&b, n0 + j, nt, 0, kt);
    for (uint32_t i = 1; i < mb; i++)
        strip(&a, (m0 + i) * kt, 1, 0, kt);
    noc_async_write_barrier();
    noc_semaphore_set((volatile uint32_t *)get_semaphore(get_compile_time_arg_val(4)), 1u);
    return 0;
}
