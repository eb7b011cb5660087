/* Background traffic for the tile bench: a data-movement core copies a block of L1 over and over.
 *
 * Runtime arguments: 0 source, 1 destination, 2 words, 3 rounds.  Each round
 * copies `words` 32-bit words from source to destination through the core's
 * data bus (L1 reads and writes competing with the engine and the other
 * cores for the banks) and reads the tile cycle counter (tile_ctrl traffic).
 * Exits with 0 when the destination equals the source.
 */
#include "tessera.h"

int main(void) {
    const volatile uint32_t *src = (const volatile uint32_t *)get_arg_val(0);
    volatile uint32_t *dst = (volatile uint32_t *)get_arg_val(1);
    uint32_t words = get_arg_val(2), rounds = get_arg_val(3);
    uint32_t stamp = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < words; i++)
            dst[i] = src[i] ^ (r + 1u == rounds ? 0u : r + 1u);
        stamp ^= tessera_mmio_read32(TESSERA_TILE_CTRL_CYCLE_LO);
    }
    for (uint32_t i = 0; i < words; i++)
        if (dst[i] != src[i])
            return 1;
    tessera_printf("%s copied %u words x %u (%x)\n", TESSERA_TARGET_NAME, (unsigned)words,
                   (unsigned)rounds, (unsigned)(stamp & 0xf));
    return 0;
}
