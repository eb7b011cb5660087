/* Smallest run-elf program: prints a line and exits with code 0. */
#include "bench.h"

int main(void)
{
    put_str("hello from tessera\n");
    return 0;
}
