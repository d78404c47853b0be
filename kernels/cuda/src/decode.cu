// Decode-step kernels of the Mamba LM (one token for a batch of a few rows):
// a matrix-vector product with an optional fused RMSNorm of its input and an
// optional residual accumulate (in_proj, x_proj, out_proj, LM head), the
// rolling conv-state step reading x from in_proj's output, and dt_proj +
// softplus + selective state update + D skip + silu(z) gate in one kernel.
// Launched by kernels/cuda/decode.go; the Mamba LM uses them through
// Backend.Decode* (mamba/decode.go), where a step costs 5 kernels per layer.
#include "common.cuh"

#define DEC_MAXM 8

struct DecGemvParams {
  const float *x, *norm, *w, *bias;
  float* y;
  i64 M, N, K, eps_bits, accumulate, vec, S;
};

// y[m, n] = (y[m, n] if accumulate) + (bias[n] + Σ_k xs[m, k]·w[n, k]) for
// m < M ≤ DEC_MAXM, x (M, K), w (N, K), y (M, N), where xs = x, or
// (x·rsqrt(mean(x²) + eps))·norm[k] (RMSNorm of row m, as gm_norm_rows) when
// norm is set. S warps (1, 2, 4 or 8) share an output column n, each
// summing one contiguous slice of K, so that short or few columns still keep
// many loads in flight; a block of 8 warps covers 8/S columns, grid-stride
// over n. vec selects float4 loads (K % 4 == 0, 16-byte aligned rows).
GM_KERNEL void __launch_bounds__(256) gm_dec_gemv(const DecGemvParams p) {
  __shared__ float rinv[DEC_MAXM];
  __shared__ float part[8][DEC_MAXM];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  const int M = (int)p.M, S = (int)p.S, cols = nw / S;
  const int g = warp / S, sl = warp % S;
  const i64 K = p.K;
  if (p.norm) {
    const float eps = __int_as_float((int)p.eps_bits);
    const float invK = 1.f / (float)K;
    for (int m = warp; m < M; m += nw) {
      const float* xr = p.x + m * K;
      float ss = 0.f;
      for (i64 k = lane; k < K; k += 32) ss = fmaf(xr[k], xr[k], ss);
      ss = gm_warp_sum(ss);
      if (lane == 0) rinv[m] = rsqrtf(ss * invK + eps);
    }
    __syncthreads();
  }
  for (i64 n0 = (i64)blockIdx.x * cols; n0 < p.N; n0 += (i64)gridDim.x * cols) {
    const i64 n = n0 + g;
    float acc[DEC_MAXM];
#pragma unroll
    for (int m = 0; m < DEC_MAXM; ++m) acc[m] = 0.f;
    if (n < p.N) {
      const float* wr = p.w + n * K;
      if (p.vec) {
        const i64 K4 = K >> 2, chunk = (K4 + S - 1) / S;
        const i64 lo = sl * chunk, hi = min(K4, lo + chunk);
        const float4* w4 = (const float4*)wr;
#pragma unroll 4
        for (i64 k = lo + lane; k < hi; k += 32) {
          const float4 wv = __ldg(w4 + k);
          float4 nv = make_float4(1.f, 1.f, 1.f, 1.f);
          if (p.norm) nv = __ldg((const float4*)p.norm + k);
#pragma unroll
          for (int m = 0; m < DEC_MAXM; ++m) {
            if (m < M) {
              float4 xv = __ldg((const float4*)(p.x + m * K) + k);
              if (p.norm) {
                const float r = rinv[m];
                xv.x = xv.x * r * nv.x;
                xv.y = xv.y * r * nv.y;
                xv.z = xv.z * r * nv.z;
                xv.w = xv.w * r * nv.w;
              }
              float a = acc[m];
              a = fmaf(wv.x, xv.x, a);
              a = fmaf(wv.y, xv.y, a);
              a = fmaf(wv.z, xv.z, a);
              a = fmaf(wv.w, xv.w, a);
              acc[m] = a;
            }
          }
        }
      } else {
        const i64 chunk = (K + S - 1) / S;
        const i64 lo = sl * chunk, hi = min(K, lo + chunk);
        for (i64 k = lo + lane; k < hi; k += 32) {
          const float wv = __ldg(wr + k);
          const float nv = p.norm ? __ldg(p.norm + k) : 1.f;
#pragma unroll
          for (int m = 0; m < DEC_MAXM; ++m) {
            if (m < M) {
              float xv = __ldg(p.x + m * K + k);
              if (p.norm) xv = xv * rinv[m] * nv;
              acc[m] = fmaf(wv, xv, acc[m]);
            }
          }
        }
      }
    }
#pragma unroll
    for (int m = 0; m < DEC_MAXM; ++m) {
      if (m < M) {
        const float v = gm_warp_sum(acc[m]);
        if (lane == 0) part[warp][m] = v;
      }
    }
    __syncthreads();
    if (sl == 0 && lane < M && n < p.N) {
      float t = 0.f;
      for (int j = 0; j < S; ++j) t += part[g * S + j][lane];
      if (p.bias) t += p.bias[n];
      float* yp = p.y + lane * p.N + n;
      *yp = p.accumulate ? *yp + t : t;
    }
    __syncthreads();
  }
}

struct DecConvParams {
  float* state;
  const float *xz, *w, *bias;
  float* xc;
  i64 Bt, E, K;
};

// One thread per (b, e): state (Bt, E, K) shifts left and takes
// x = xz[b, e] (xz is in_proj's (Bt, 2E) output, x first), then
// xc[b, e] = silu(bias[e] + Σ_k w[e, k]·state[b, e, k]) (as gm_conv1d_step).
GM_KERNEL void gm_dec_conv(const DecConvParams p) {
  const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.Bt * p.E) return;
  const i64 b = i / p.E, e = i % p.E;
  float* s = p.state + i * p.K;
  for (i64 k = 0; k + 1 < p.K; ++k) s[k] = s[k + 1];
  s[p.K - 1] = p.xz[b * 2 * p.E + e];
  float acc = p.bias ? p.bias[e] : 0.f;
  for (i64 k = 0; k < p.K; ++k) acc = fmaf(p.w[e * p.K + k], s[k], acc);
  p.xc[i] = gm_silu(acc);
}

struct DecScanParams {
  float* state;
  const float *xc, *xz, *xdbl, *dtW, *dtB, *A, *D;
  float* y;
  i64 Bt, E, N, R, G;
};

// G lanes (a power of two, N ≤ G ≤ 32) per (b, e), lane n owning state n:
//   dt = softplus(dtB[e] + Σ_r dtW[e, r]·xdbl[b, r])
//   state[b,e,n] = state·exp(A[e,n]·dt) + B[n]·dt·xc     (B = xdbl[b, R:R+N])
//   y[b, e] = (Σ_n state·C[n] + D[e]·xc)·silu(z[b, e])   (C = xdbl[b, R+N:])
// with z = xz[b, E + e]. Every lane of a warp reaches the shuffles.
GM_KERNEL void gm_dec_scan(const DecScanParams p) {
  const i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  const int G = (int)p.G;
  const i64 i = t / G;
  const int n = (int)(t % G);
  const bool valid = i < p.Bt * p.E;
  const i64 b = valid ? i / p.E : 0, e = valid ? i % p.E : 0;
  const float* xd = p.xdbl + b * (p.R + 2 * p.N);
  float part = 0.f;
  if (valid)
    for (i64 r = n; r < p.R; r += G) part = fmaf(p.dtW[e * p.R + r], xd[r], part);
  for (int o = G >> 1; o > 0; o >>= 1) part += __shfl_xor_sync(0xffffffffu, part, o);
  const float dt = gm_softplus(part + (valid && p.dtB ? p.dtB[e] : 0.f));
  const float x = valid ? p.xc[i] : 0.f;
  float c = 0.f;
  if (valid && n < p.N) {
    const float dA = expf(p.A[e * p.N + n] * dt);
    float* s = p.state + i * p.N + n;
    const float v = *s * dA + xd[p.R + n] * dt * x;
    *s = v;
    c = v * xd[p.R + p.N + n];
  }
  for (int o = G >> 1; o > 0; o >>= 1) c += __shfl_xor_sync(0xffffffffu, c, o);
  if (valid && n == 0) {
    if (p.D) c += x * p.D[e];
    p.y[i] = c * gm_silu(p.xz[b * 2 * p.E + p.E + e]);
  }
}
