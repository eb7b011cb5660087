/* Run-elf demo: prints through the console and exits with a checked code.
 *
 *   tessera fw build --runelf -o build/fw/hello_runelf.elf sw/kernels/hello_runelf.c
 *   tessera run-elf build/fw/hello_runelf.elf
 *
 * It computes a few things an RV32IMC core must get right (multiply, divide,
 * 64-bit arithmetic through libgcc, a table in .data, zeroed .bss), prints
 * them, and exits with (checksum & 0x7f) so a test can check both output and
 * exit code.
 */
#include "tessera_runelf.h"

static uint32_t table[8] = {3, 1, 4, 1, 5, 9, 2, 6};
static uint32_t zeroed[16];

static uint32_t fib(uint32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void) {
    uint32_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum += table[i] * (uint32_t)(i + 1);
    for (int i = 0; i < 16; i++)
        sum += zeroed[i]; /* crt0 cleared .bss */
    uint64_t big = (uint64_t)0x12345678u * 0x9abcdefu;
    uint32_t q = (uint32_t)(big / 1000003u);
    int32_t neg = -1234567;
    tessera_printf("hello from tessera\n");
    tessera_printf("sum=%u fib(15)=%u\n", (unsigned)sum, (unsigned)fib(15));
    tessera_printf("big=%llx q=%u neg/7=%d rem=%d\n", (unsigned long long)big, (unsigned)q,
                   (int)(neg / 7), (int)(neg % 7));
    uint32_t checksum = sum + fib(15) + q;
    tessera_printf("checksum=%08x\n", (unsigned)checksum);
    return (int)(checksum & 0x7f);
}
