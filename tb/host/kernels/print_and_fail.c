/* Prints its core and a compile-time argument, then exits with runtime argument 0 as its code. */
#include "tessera.h"

int main(void) {
    tessera_printf("core %u,%u says %u\n", (unsigned)tessera_tile_x(), (unsigned)tessera_tile_y(),
                   (unsigned)get_compile_time_arg_val(0));
    return (int)get_arg_val(0);
}
