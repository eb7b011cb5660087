/* Tile-core demo: sums its runtime arguments and reports where it runs.
 *
 * Runtime arguments: arg0 = n, arg1 .. argn = values.  The core prints its
 * tile coordinates and the sum on the console, writes the sum to the mailbox
 * with its own core index, and exits with (sum & 0x7f).  The host reads the
 * exit status at the manifest's exit_addr (`tohost`) over the NoC.
 *
 *   tessera fw build -o build/fw/sum.fwimg --tile 1,0 --core brisc=sw/kernels/tile_args_sum.c \
 *       --args brisc=3,10,20,30
 */
#include "tessera.h"

static uint32_t calls; /* in .bss: crt0 must have cleared it */

static uint32_t sum_args(uint32_t n) {
    uint32_t sum = 0;
    calls++;
    for (uint32_t i = 1; i <= n && i < TESSERA_MAX_RUNTIME_ARGS; i++)
        sum += get_arg_val(i);
    return sum;
}

int main(void) {
    uint32_t n = get_arg_val(0);
    uint32_t sum = sum_args(n);
    tessera_printf("core %u (%s) on tile (%u,%u): %u args, sum %u, calls %u\n",
                   (unsigned)TESSERA_MY_CORE_INDEX, TESSERA_TARGET_NAME, (unsigned)tessera_tile_x(),
                   (unsigned)tessera_tile_y(), (unsigned)n, (unsigned)sum, (unsigned)calls);
    tessera_mailbox_write(TESSERA_MY_CORE_INDEX, sum);
    return (int)(sum & 0x7f);
}
