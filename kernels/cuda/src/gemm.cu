// Tiled fp32 SGEMM, batched, with BLAS-style transposes and an optional bias:
// C[z] = op(A[z]) . op(B[z]) (+ bias[n]) for z < batch, row-major storage.
// op(A) is (M, K): A stored (M, K) with leading dimension lda, or (K, M) when
// transA. op(B) is (K, N): B stored (K, N), or (N, K) when transB.
// 64x64 tiles, 16-deep K slices, 256 threads each computing 4x4 outputs.
#include "common.cuh"

#define GT_M 64
#define GT_N 64
#define GT_K 16

struct GemmParams {
  const float *A, *B, *bias;
  float* C;
  i64 M, N, K, lda, ldb, ldc, sA, sB, sC, transA, transB, batch;
};

GM_KERNEL void __launch_bounds__(256) gm_sgemm(const GemmParams p) {
  __shared__ float As[GT_K][GT_M + 1];
  __shared__ float Bs[GT_K][GT_N + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const i64 z = blockIdx.z;
  const i64 m0 = (i64)blockIdx.y * GT_M, n0 = (i64)blockIdx.x * GT_N;
  const float* A = p.A + z * p.sA;
  const float* B = p.B + z * p.sB;
  float* C = p.C + z * p.sC;
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;

  for (i64 k0 = 0; k0 < p.K; k0 += GT_K) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int e = tid + 256 * q;
      int mm, kk;
      if (p.transA) {
        mm = e % GT_M;
        kk = e / GT_M;
      } else {
        kk = e % GT_K;
        mm = e / GT_K;
      }
      const i64 gm = m0 + mm, gk = k0 + kk;
      float v = 0.f;
      if (gm < p.M && gk < p.K) v = p.transA ? A[gk * p.lda + gm] : A[gm * p.lda + gk];
      As[kk][mm] = v;
      int nn;
      if (p.transB) {
        kk = e % GT_K;
        nn = e / GT_K;
      } else {
        nn = e % GT_N;
        kk = e / GT_N;
      }
      const i64 gn = n0 + nn, gk2 = k0 + kk;
      float w = 0.f;
      if (gn < p.N && gk2 < p.K) w = p.transB ? B[gn * p.ldb + gk2] : B[gk2 * p.ldb + gn];
      Bs[kk][nn] = w;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < GT_K; ++kk) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const i64 gm = m0 + ty + 16 * i;
    if (gm >= p.M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const i64 gn = n0 + tx + 16 * j;
      if (gn < p.N) C[gm * p.ldc + gn] = acc[i][j] + (p.bias ? p.bias[gn] : 0.f);
    }
  }
}
