/* Access faults on a tile core: loads and stores outside every region of the tile's address map.
 *
 * The core installs its own trap handler, then performs a load from arg0, a
 * store to arg1 and a load from arg2.  The tile answers each with a bus
 * error, so each traps with an access fault; the handler records mcause
 * and mtval of fault n in mailboxes 1 + 2n and 2 + 2n, skips the faulting
 * instruction and returns.  Afterwards mailbox 0 holds the number of
 * faults and the program exits with 0 (the host reads tohost).
 */
#include "tessera.h"

static volatile uint32_t faults;

static __attribute__((interrupt("machine"), aligned(4))) void fault_handler(void) {
    uint32_t cause, tval, epc;
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    __asm__ volatile("csrr %0, mtval" : "=r"(tval));
    __asm__ volatile("csrr %0, mepc" : "=r"(epc));
    uint32_t n = faults;
    if (n < 3) {
        tessera_mailbox_write(1u + 2u * n, cause);
        tessera_mailbox_write(2u + 2u * n, tval);
    }
    faults = n + 1;
    /* Skip the faulting instruction: 2 bytes if compressed, else 4. */
    uint16_t insn = *(volatile uint16_t *)epc;
    epc += (insn & 3u) == 3u ? 4u : 2u;
    __asm__ volatile("csrw mepc, %0" : : "r"(epc));
}

int main(void) {
    __asm__ volatile("csrw mtvec, %0" : : "r"(fault_handler));
    volatile uint32_t *load0 = (volatile uint32_t *)get_arg_val(0);
    volatile uint32_t *store = (volatile uint32_t *)get_arg_val(1);
    volatile uint32_t *load1 = (volatile uint32_t *)get_arg_val(2);
    uint32_t sink = *load0;
    *store = 0x5a5a5a5au;
    sink += *load1;
    tessera_mailbox_write(0, faults);
    tessera_printf("faults %u\n", (unsigned)faults);
    return (int)(sink & 0);
}
