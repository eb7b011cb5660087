/* A kernel that never finishes (for the hung-kernel report): it waits for a semaphore
 * at runtime argument 0 that nobody sets. */
#include "tessera.h"

int main(void) {
    noc_semaphore_wait((volatile uint32_t *)get_arg_val(0), 0x5A5A5A5Au);
    return 0;
}
