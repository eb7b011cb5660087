/* Sorting: quicksort and insertion sort of pseudo-random words. */
#include "bench.h"

#define N 1200
static u32 a[N], b[N];

static void quicksort(u32 *v, int lo, int hi)
{
    while (lo < hi) {
        u32 pivot = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) { u32 t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(v, lo, j); lo = i; }
        else { quicksort(v, i, hi); hi = j; }
    }
}

static void insertion_sort(u32 *v, int n)
{
    for (int i = 1; i < n; i++) {
        u32 x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; }
        v[j + 1] = x;
    }
}

int main(void)
{
    for (int i = 0; i < N; i++) a[i] = b[i] = lcg();
    quicksort(a, 0, N - 1);
    insertion_sort(b, 300);
    u32 sum = 0;
    for (int i = 0; i < N; i++) sum = sum * 31u + a[i];
    for (int i = 1; i < N; i++) if (a[i - 1] > a[i]) return 1;
    for (int i = 1; i < 300; i++) if (b[i - 1] > b[i]) return 2;
    report("sort", sum);
    report("isort", b[0] ^ b[150] ^ b[299]);
    return 0;
}
