/* Circular buffers between the cores of one tile (tt-metal's cb_* API).
 *
 * A circular buffer is a FIFO of num_pages pages of page_size bytes in L1,
 * with one producer core and one consumer core on the same tile.  The host
 * defines it (image manifest "circular_buffers"); the loader writes its entry
 * of the table at TESSERA_CB_TABLE_BASE before releasing the cores.  The
 * state is two counters in the entry, each written by one side only:
 * pages_received (producer) and pages_acked (consumer), both counting modulo
 * 2 * num_pages.  Layout and rules: sw/toolchain/cb.py, docs/firmware.md.
 *
 * Producer:  cb_reserve_back(cb, n); write n pages at get_write_ptr(cb); cb_push_back(cb, n);
 * Consumer:  cb_wait_front(cb, n);   read n pages at get_read_ptr(cb);   cb_pop_front(cb, n);
 *
 * n pages must not run past the end of the FIFO: use an n that divides
 * num_pages (tt-metal has the same rule).  Every function busy-waits; there
 * is no timeout.
 *
 * These are the data-movement forms: the calling core reads and writes the
 * pages itself.  A compute kernel (tessera_compute.h, included before this
 * header) gets its own cb_* functions, in which the engine's unpacker and
 * packer touch the pages; the core-side forms stay available here as
 * tessera_cb_reserve_back, tessera_cb_push_back, tessera_cb_wait_front and
 * tessera_cb_pop_front.
 */
#ifndef TESSERA_CB_H
#define TESSERA_CB_H

#include <stddef.h>
#include <stdint.h>

#include "tessera_io.h"
#include "tessera_waypoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One entry of the circular-buffer table in L1. */
typedef struct {
    uint32_t fifo_addr;               /**< L1 address of page 0 */
    uint32_t fifo_size;               /**< page_size * num_pages */
    uint32_t page_size;               /**< bytes per page */
    uint32_t num_pages;               /**< pages in the FIFO */
    volatile uint32_t pages_received; /**< producer counter, modulo 2 * num_pages */
    volatile uint32_t pages_acked;    /**< consumer counter, modulo 2 * num_pages */
    uint32_t data_format;             /**< TESSERA_ENG_FORMAT_* of the pages + 1; 0: not given */
    uint32_t reserved;
} tessera_cb_t;

_Static_assert(sizeof(tessera_cb_t) == TESSERA_CB_ENTRY_BYTES, "CB entry size differs from the toolchain's");
_Static_assert(offsetof(tessera_cb_t, pages_received) == TESSERA_CB_PAGES_RECEIVED_OFFSET, "CB layout");
_Static_assert(offsetof(tessera_cb_t, pages_acked) == TESSERA_CB_PAGES_ACKED_OFFSET, "CB layout");
_Static_assert(offsetof(tessera_cb_t, data_format) == TESSERA_CB_DATA_FORMAT_OFFSET, "CB layout");

/** The table entry of circular buffer `cb` (0 .. TESSERA_NUM_CBS - 1). */
static inline volatile tessera_cb_t *tessera_cb(uint32_t cb) {
    return (volatile tessera_cb_t *)(TESSERA_CB_TABLE_BASE + TESSERA_CB_ENTRY_BYTES * cb);
}

/* Counter arithmetic modulo 2 * num_pages. */
static inline uint32_t tessera_cb_advance(uint32_t counter, uint32_t n, uint32_t num_pages) {
    counter += n;
    return counter >= 2u * num_pages ? counter - 2u * num_pages : counter;
}

static inline uint32_t tessera_cb_page(uint32_t counter, uint32_t num_pages) {
    return counter >= num_pages ? counter - num_pages : counter;
}

/** L1 address of the page a counter of `c` points at. */
static inline uint32_t tessera_cb_page_addr(volatile tessera_cb_t *c, uint32_t counter) {
    return c->fifo_addr + tessera_cb_page(counter, c->num_pages) * c->page_size;
}

/** Pages filled and not yet popped (0 .. num_pages). */
static inline uint32_t tessera_cb_pages_filled(uint32_t cb) {
    volatile tessera_cb_t *c = tessera_cb(cb);
    uint32_t received = c->pages_received, acked = c->pages_acked;
    return received >= acked ? received - acked : received + 2u * c->num_pages - acked;
}

/** Non-blocking: are `n` free pages available to the producer? */
static inline int cb_pages_reservable_at_back(uint32_t cb, uint32_t n) {
    return tessera_cb(cb)->num_pages - tessera_cb_pages_filled(cb) >= n;
}

/** Non-blocking: are `n` filled pages available to the consumer? */
static inline int cb_pages_available_at_front(uint32_t cb, uint32_t n) {
    return tessera_cb_pages_filled(cb) >= n;
}

/** Producer: wait until `n` pages are free at the back. */
static inline void tessera_cb_reserve_back(uint32_t cb, uint32_t n) {
    if (cb_pages_reservable_at_back(cb, n))
        return;  /* the common case stores no waypoint: these calls are hot */
    TESSERA_WAYPOINT(CB_RESERVE_BACK);
    while (!cb_pages_reservable_at_back(cb, n)) {
    }
    TESSERA_WAYPOINT(RUNNING);
}

/** Producer: L1 address of the first reserved page. */
static inline uint32_t get_write_ptr(uint32_t cb) {
    volatile tessera_cb_t *c = tessera_cb(cb);
    return tessera_cb_page_addr(c, c->pages_received);
}

/** Producer: publish `n` written pages (the page stores are ordered before the counter). */
static inline void tessera_cb_push_back(uint32_t cb, uint32_t n) {
    volatile tessera_cb_t *c = tessera_cb(cb);
    __asm__ volatile("fence w, w" ::: "memory");
    c->pages_received = tessera_cb_advance(c->pages_received, n, c->num_pages);
}

/** Consumer: wait until `n` filled pages are at the front. */
static inline void tessera_cb_wait_front(uint32_t cb, uint32_t n) {
    if (!cb_pages_available_at_front(cb, n)) {
        TESSERA_WAYPOINT(CB_WAIT_FRONT);
        while (!cb_pages_available_at_front(cb, n)) {
        }
        TESSERA_WAYPOINT(RUNNING);
    }
    __asm__ volatile("fence r, r" ::: "memory");
}

/** Consumer: L1 address of the first page at the front. */
static inline uint32_t get_read_ptr(uint32_t cb) {
    volatile tessera_cb_t *c = tessera_cb(cb);
    return tessera_cb_page_addr(c, c->pages_acked);
}

/** Consumer: free `n` pages (the page reads are ordered before the counter). */
static inline void tessera_cb_pop_front(uint32_t cb, uint32_t n) {
    volatile tessera_cb_t *c = tessera_cb(cb);
    __asm__ volatile("fence rw, w" ::: "memory");
    c->pages_acked = tessera_cb_advance(c->pages_acked, n, c->num_pages);
}

/** Bytes per page of circular buffer `cb`. */
static inline uint32_t get_tile_size(uint32_t cb) {
    return tessera_cb(cb)->page_size;
}

#ifndef TESSERA_COMPUTE_API
/* tt-metal's names for the core-side forms (a compute kernel's are in tessera_compute.h). */
static inline void cb_reserve_back(uint32_t cb, uint32_t n) {
    tessera_cb_reserve_back(cb, n);
}

static inline void cb_push_back(uint32_t cb, uint32_t n) {
    tessera_cb_push_back(cb, n);
}

static inline void cb_wait_front(uint32_t cb, uint32_t n) {
    tessera_cb_wait_front(cb, n);
}

static inline void cb_pop_front(uint32_t cb, uint32_t n) {
    tessera_cb_pop_front(cb, n);
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_CB_H */
