/* The step every fused normalization kernel repeats: a committed Dst tile into the next page of a
 * circular buffer (the kernel feeding itself between its passes).  Include after
 * compute_kernel_api.h.  NORM_PACK_ATTRIBUTES lets a kernel whose program region is tight keep the
 * function out of line (norm_layer.c: `__attribute__((noinline))`).
 */
#ifndef TTNN_NORM_PACK_H
#define TTNN_NORM_PACK_H

#ifndef NORM_PACK_ATTRIBUTES
#define NORM_PACK_ATTRIBUTES
#endif

/* Pack Dst tile 0 (committed) into the next page of cb. */
NORM_PACK_ATTRIBUTES static void pack_to(uint32_t cb) {
    cb_reserve_back(cb, 1);
    tile_regs_wait();
    pack_tile(0, cb);
    tile_regs_release();
    cb_push_back(cb, 1);
}

#endif
