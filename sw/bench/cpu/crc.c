/* CRC-32 (IEEE, reflected): bitwise and table-driven over generated data. */
#include "bench.h"

static unsigned char data[4096];
static u32 table[256];

static u32 crc_bitwise(const unsigned char *p, int n)
{
    u32 crc = 0xFFFFFFFFu;
    for (int i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
    }
    return ~crc;
}

static u32 crc_table(const unsigned char *p, int n)
{
    u32 crc = 0xFFFFFFFFu;
    for (int i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

int main(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
        table[i] = c;
    }
    if (crc_bitwise((const unsigned char *)"123456789", 9) != 0xCBF43926u) return 1;
    for (int i = 0; i < (int)sizeof data; i++) data[i] = (unsigned char)(lcg() >> 24);
    u32 a = crc_bitwise(data, 1024);
    u32 b = crc_table(data, sizeof data);
    if (crc_table(data, 1024) != a) return 2;
    report("crc1k", a);
    report("crc4k", b);
    return 0;
}
