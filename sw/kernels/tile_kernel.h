/* Conventions shared by the tile kernels of sw/kernels/tile_*.c (tb/tile reads the same mailboxes). */
#ifndef TILE_KERNEL_H
#define TILE_KERNEL_H

#include "tessera.h"

/** Mailbox where the first core to start a kernel records the tile cycle counter. */
#define KERNEL_MAILBOX_START 0u
/** Mailbox where the last core records the tile cycle counter once the results are in L1. */
#define KERNEL_MAILBOX_END 1u

/** Record the low word of the tile cycle counter in mailbox `box`. */
static inline void kernel_mark(uint32_t box) {
    tessera_mailbox_write(box, tessera_mmio_read32(TESSERA_TILE_CTRL_CYCLE_LO));
}

#endif /* TILE_KERNEL_H */
