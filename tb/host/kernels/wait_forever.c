/* Waits on a semaphore nobody raises (runtime argument 0: the semaphore id): the hang report's subject. */
#include "tessera.h"

int main(void) {
    volatile uint32_t *sem = (volatile uint32_t *)get_semaphore(get_arg_val(0));
    noc_semaphore_wait(sem, 1);
    return 0;
}
