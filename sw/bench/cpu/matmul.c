/* Integer matrix multiply C = A * B (N x N), then a checksum of C. */
#include "bench.h"

#define N 20
static int A[N][N], B[N][N], C[N][N];

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (int)(lcg() >> 20) - 2048;
            B[i][j] = (int)(lcg() >> 20) - 2048;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int acc = 0;
            for (int k = 0; k < N; k++) acc += A[i][k] * B[k][j];
            C[i][j] = acc;
        }
    u32 sum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) sum = sum * 31u + (u32)C[i][j];
    report("matmul", sum);
    return 0;
}
