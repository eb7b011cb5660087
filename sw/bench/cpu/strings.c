/* String operations: length, copy, compare, reverse, search, decimal conversion. */
#include "bench.h"

static char text[2048], copy[2048];

static int str_len(const char *s) { const char *p = s; while (*p) p++; return (int)(p - s); }
static void str_copy(char *d, const char *s) { while ((*d++ = *s++)) ; }
static int str_cmp(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return (unsigned char)*a - (unsigned char)*b;
}
static void str_reverse(char *s, int n)
{
    for (int i = 0, j = n - 1; i < j; i++, j--) { char t = s[i]; s[i] = s[j]; s[j] = t; }
}
static int count_substr(const char *s, const char *pat)
{
    int count = 0, m = str_len(pat);
    for (; *s; s++) {
        int k = 0;
        while (k < m && s[k] == pat[k]) k++;
        if (k == m) count++;
    }
    return count;
}
static u32 parse_uint(const char *s, int n)
{
    u32 v = 0;
    for (int i = 0; i < n; i++) v = v * 10u + (u32)(s[i] - '0');
    return v;
}

int main(void)
{
    for (int i = 0; i < (int)sizeof text - 1; i++) text[i] = "abcd efgh"[lcg() >> 29];
    text[sizeof text - 1] = 0;
    str_copy(copy, text);
    if (str_cmp(copy, text) != 0) return 1;
    int n = str_len(copy);
    if (n != (int)sizeof text - 1) return 2;
    str_reverse(copy, n);
    u32 h = 0;
    for (int i = 0; i < n; i++) h = h * 131u + (unsigned char)copy[i];
    report("strhash", h);
    report("count", (u32)count_substr(text, "ab") * 65536u + (u32)count_substr(text, "h e"));
    report("cmp", (u32)str_cmp(text, copy));
    report("parse", parse_uint("4294967", 7));
    return 0;
}
