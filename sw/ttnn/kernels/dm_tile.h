/* What the ttnn data-movement kernels share: where an element lives in a tile, and clearing a page.
 *
 * A 32x32 tile is stored as four 16x16 faces (top left, top right, bottom left, bottom right),
 * each row-major; element (r, c) of a tile is element tile_elem(r, c) of the page.  Face rows
 * are the longest runs of a tile row that are contiguous in memory (16 elements).
 */
#ifndef DM_TILE_H
#define DM_TILE_H

#include <stdint.h>

#define DM_FACE_DIM 16u
#define DM_TILE_DIM 32u
#define DM_TILE_ELEMS (DM_TILE_DIM * DM_TILE_DIM)

/** Index of element (r, c), 0 <= r, c < 32, in the tile's face order. */
static inline uint32_t tile_elem(uint32_t r, uint32_t c) {
    return ((r >> 4) << 9) | ((c >> 4) << 8) | ((r & 15u) << 4) | (c & 15u);
}

/** Store zeros to the `bytes` (a multiple of 4) at `addr`. */
static inline void dm_zero(uint32_t addr, uint32_t bytes) {
    volatile uint32_t *p = (volatile uint32_t *)addr;
    for (uint32_t w = 0; w < bytes / 4u; w++)
        p[w] = 0;
}

/** Keep the compiler from moving L1 loads and stores across a NoC barrier. */
static inline void dm_memory_fence(void) {
    __asm__ volatile("" ::: "memory");
}

static inline uint32_t dm_min(uint32_t a, uint32_t b) {
    return a < b ? a : b;
}

#endif /* DM_TILE_H */
