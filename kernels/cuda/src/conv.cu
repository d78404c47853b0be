// Convolutions: Mamba's causal depthwise conv1d (full sequence and one-token
// step) and a grouped NCHW conv2d (depthwise 3x3 of VMamba, patch embeddings).
#include "common.cuh"

struct Conv1dParams {
  const float *x, *w, *bias;
  float* out;
  i64 Bt, Dm, L, K, act;
  i64 rev;  // 0: causal, 1: anti-causal (the causal conv run backwards in time)
};

// Causal:      out[b,d,t] = act(bias[d] + sum_k w[d,k] * x[b,d,t-K+1+k]), zeros before t=0.
// Anti-causal: out[b,d,t] = act(bias[d] + sum_k w[d,k] * x[b,d,t+K-1-k]), zeros after t=L-1,
//              which is flip(causal(flip(x))) with the same order of additions.
//
// gm_conv1d_naive is the definition kernel (any K): grid x covers t (one
// thread per position), y walks the Bt*D rows. Every output reads its K taps
// from global memory (L1), so it runs at about a quarter of copy bandwidth;
// it serves K > C1_MAXK only (and huge row counts).
GM_KERNEL void gm_conv1d_naive(const Conv1dParams p) {
  const int L = (int)p.L, K = (int)p.K, act = (int)p.act;
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= L) return;
  const i64 rows = p.Bt * p.Dm;
  for (i64 row = blockIdx.y; row < rows; row += gridDim.y) {
    const int d = (int)(row % p.Dm);
    const float* xr = p.x + row * p.L;
    const float* wr = p.w + (i64)d * K;
    float acc = p.bias ? p.bias[d] : 0.f;
    if (p.rev) {
      for (int k = 0; k < K; ++k) {
        const int s = t + K - 1 - k;
        if (s < L) acc = fmaf(wr[k], xr[s], acc);
      }
    } else {
      for (int k = 0; k < K; ++k) {
        const int s = t - K + 1 + k;
        if (s >= 0) acc = fmaf(wr[k], xr[s], acc);
      }
    }
    p.out[row * p.L + t] = gm_act(act, acc);
  }
}

#define C1_MAXK 16

// conv_act is gm_act with SiLU on the hardware exp and reciprocal
// (x / (1 + 2^(-x log2 e)), relative error about 1e-6, far inside the 1e-4
// parity bound): with the precise expf and IEEE division the arithmetic,
// not memory, limited the conv kernel.
__device__ __forceinline__ float conv_act(int act, float x) {
  if (act == ACT_SILU) return __fdividef(x, 1.f + __expf(-x));
  return gm_act(act, x);
}

// Warp-segment conv1d: each warp owns CW_SEG = 32*CW_V consecutive outputs of
// one row. Its lanes load the segment's inputs plus the K-1 halo (left for
// causal, right for anti-causal; zeros outside the row) with CW_V+1
// coalesced loads each, all in flight before any is stored, stage them in
// the warp's own shared-memory strip (no block barrier), then compute CW_V
// outputs each from shared memory and store them coalesced. Index math is
// 32-bit (the launcher checks that rows*segments fits) and done once per
// segment, so the kernel moves each input and output once with a handful of
// instructions per element.
#define CW_V 8
#define CW_SEG (32 * CW_V)
#define CW_WARPS 8

template <int KT>
__device__ __forceinline__ void conv1d_warp(const Conv1dParams& p, float* s) {
  const int K = KT > 0 ? KT : (int)p.K;
  const int lane = threadIdx.x & 31;
  const int L = (int)p.L, Dm = (int)p.Dm, act = (int)p.act;
  const bool rev = p.rev != 0;
  const unsigned nseg = (unsigned)((L + CW_SEG - 1) / CW_SEG);
  const unsigned total = (unsigned)(p.Bt * p.Dm) * nseg;
  for (unsigned sg = blockIdx.x * CW_WARPS + (threadIdx.x >> 5); sg < total; sg += gridDim.x * CW_WARPS) {
    const unsigned row = sg / nseg;
    const int t0 = (int)(sg - row * nseg) * CW_SEG;
    const int d = (int)(row % (unsigned)Dm);
    const float* __restrict__ xr = p.x + (i64)row * L;
    float* __restrict__ orow = p.out + (i64)row * L;
    const int s0 = rev ? t0 : t0 - (K - 1);
    float v[CW_V + 1];
#pragma unroll
    for (int u = 0; u < CW_V; ++u) {
      const int i = s0 + lane + 32 * u;
      v[u] = (unsigned)i < (unsigned)L ? __ldg(xr + i) : 0.f;
    }
    {
      const int i = s0 + CW_SEG + lane;
      v[CW_V] = (lane < K - 1 && (unsigned)i < (unsigned)L) ? __ldg(xr + i) : 0.f;
    }
    float w[KT > 0 ? KT : C1_MAXK];
#pragma unroll
    for (int k = 0; k < (KT > 0 ? KT : C1_MAXK); ++k) w[k] = k < K ? __ldg(p.w + d * K + k) : 0.f;
    const float b0 = p.bias ? __ldg(p.bias + d) : 0.f;
    __syncwarp();  // the previous segment's reads of s are done
#pragma unroll
    for (int u = 0; u < CW_V; ++u) s[lane + 32 * u] = v[u];
    if (lane < K - 1) s[CW_SEG + lane] = v[CW_V];
    __syncwarp();
    const int len = min(CW_SEG, L - t0);
#pragma unroll
    for (int u = 0; u < CW_V; ++u) {
      const int c = lane + 32 * u;
      if (c < len) {
        float acc = b0;
        if (rev) {  // w[k] times x[t+K-1-k], k ascending, as the definition
#pragma unroll
          for (int k = 0; k < (KT > 0 ? KT : C1_MAXK); ++k)
            if (k < K) acc = fmaf(w[k], s[c + K - 1 - k], acc);
        } else {
#pragma unroll
          for (int k = 0; k < (KT > 0 ? KT : C1_MAXK); ++k)
            if (k < K) acc = fmaf(w[k], s[c + k], acc);
        }
        orow[t0 + c] = conv_act(act, acc);
      }
    }
  }
}

GM_KERNEL void __launch_bounds__(32 * CW_WARPS) gm_conv1d_causal(const Conv1dParams p) {
  __shared__ float strip[CW_WARPS][CW_SEG + C1_MAXK];
  float* s = strip[threadIdx.x >> 5];
  if (p.K == 4) {
    conv1d_warp<4>(p, s);  // Mamba's d_conv
  } else {
    conv1d_warp<0>(p, s);
  }
}

struct Conv1dStepParams {
  float* state;
  const float *x, *w, *bias;
  float* out;
  i64 Bt, Dm, K, act;
};

// state (Bt,D,K) shifts left, x is appended, out = act(bias + w . state).
GM_KERNEL void gm_conv1d_step(const Conv1dStepParams p) {
  const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.Bt * p.Dm) return;
  const i64 d = i % p.Dm;
  float* s = p.state + i * p.K;
  for (i64 k = 0; k + 1 < p.K; ++k) s[k] = s[k + 1];
  s[p.K - 1] = p.x[i];
  float acc = p.bias ? p.bias[d] : 0.f;
  for (i64 k = 0; k < p.K; ++k) acc = fmaf(p.w[d * p.K + k], s[k], acc);
  p.out[i] = gm_act((int)p.act, acc);
}

struct Conv2dParams {
  const float *x, *w, *bias;
  float* out;
  i64 Bt, Cin, H, W, Cout, KH, KW, OH, OW, SH, SW, PH, PW, G;
};

// Grouped 2-D cross-correlation, one thread per output element.
GM_KERNEL void gm_conv2d(const Conv2dParams p) {
  const i64 total = p.Bt * p.Cout * p.OH * p.OW;
  const i64 cinG = p.Cin / p.G, coutG = p.Cout / p.G;
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (i64)gridDim.x * blockDim.x) {
    const i64 ox = i % p.OW;
    i64 r = i / p.OW;
    const i64 oy = r % p.OH;
    r /= p.OH;
    const i64 co = r % p.Cout, b = r / p.Cout;
    const i64 g = co / coutG;
    float acc = p.bias ? p.bias[co] : 0.f;
    const i64 iy0 = oy * p.SH - p.PH, ix0 = ox * p.SW - p.PW;
    for (i64 ci = 0; ci < cinG; ++ci) {
      const float* xp = p.x + ((b * p.Cin) + g * cinG + ci) * p.H * p.W;
      const float* wp = p.w + (co * cinG + ci) * p.KH * p.KW;
      for (i64 ky = 0; ky < p.KH; ++ky) {
        const i64 iy = iy0 + ky;
        if (iy < 0 || iy >= p.H) continue;
        for (i64 kx = 0; kx < p.KW; ++kx) {
          const i64 ix = ix0 + kx;
          if (ix < 0 || ix >= p.W) continue;
          acc = fmaf(wp[ky * p.KW + kx], xp[iy * p.W + ix], acc);
        }
      }
    }
    p.out[i] = acc;
  }
}

// Depthwise conv2d (Groups == Cin == Cout), K x K taps: one block per
// (b, c) plane (grid-stride over planes), the plane's K*K weights and bias in
// registers. Each thread computes DW_ROWS vertically adjacent outputs of one
// column, so a warp's loads and stores are coalesced along x, the input rows
// the outputs share are loaded once, and the rest of the neighbourhood reuse
// is served by L1.
#define DW_ROWS 4

struct DwConvParams {
  const float *x, *w, *bias;
  float* out;
  i64 planes, C, H, W, OH, OW, SH, SW, PH, PW;
};

template <int K>
__device__ __forceinline__ void dwconv_plane(const DwConvParams& p) {
  const int H = (int)p.H, W = (int)p.W, OH = (int)p.OH, OW = (int)p.OW;
  const int SH = (int)p.SH, SW = (int)p.SW, PH = (int)p.PH, PW = (int)p.PW;
  const unsigned groups = (unsigned)(OH + DW_ROWS - 1) / DW_ROWS;
  const unsigned items = groups * (unsigned)OW;
  for (i64 pl = blockIdx.x; pl < p.planes; pl += gridDim.x) {
    const int c = (int)(pl % p.C);
    float w[K * K];
#pragma unroll
    for (int k = 0; k < K * K; ++k) w[k] = __ldg(p.w + (i64)c * K * K + k);
    const float b0 = p.bias ? __ldg(p.bias + c) : 0.f;
    const float* __restrict__ xp = p.x + pl * H * W;
    float* __restrict__ op = p.out + pl * OH * OW;
    for (unsigned it = threadIdx.x; it < items; it += blockDim.x) {
      const int g = (int)(it / (unsigned)OW), ox = (int)(it - (unsigned)g * (unsigned)OW);
      const int oy0 = g * DW_ROWS, ix0 = ox * SW - PW;
      // Input taps along x for this column (zero outside the image).
      float acc[DW_ROWS];
#pragma unroll
      for (int r = 0; r < DW_ROWS; ++r) acc[r] = b0;
      if (SH == 1) {
        // Rows oy0-PH .. oy0-PH+DW_ROWS+K-2 feed the DW_ROWS outputs.
#pragma unroll
        for (int j = 0; j < DW_ROWS + K - 1; ++j) {
          const int iy = oy0 - PH + j;
          if ((unsigned)iy >= (unsigned)H) continue;
          float v[K];
#pragma unroll
          for (int kx = 0; kx < K; ++kx) {
            const int ix = ix0 + kx;
            v[kx] = (unsigned)ix < (unsigned)W ? __ldg(xp + iy * W + ix) : 0.f;
          }
#pragma unroll
          for (int r = 0; r < DW_ROWS; ++r) {
            const int ky = j - r;
            if (ky >= 0 && ky < K) {
#pragma unroll
              for (int kx = 0; kx < K; ++kx) acc[r] = fmaf(w[ky * K + kx], v[kx], acc[r]);
            }
          }
        }
      } else {
#pragma unroll
        for (int r = 0; r < DW_ROWS; ++r) {
          const int iy0 = (oy0 + r) * SH - PH;
#pragma unroll
          for (int ky = 0; ky < K; ++ky) {
            const int iy = iy0 + ky;
            if ((unsigned)iy >= (unsigned)H) continue;
#pragma unroll
            for (int kx = 0; kx < K; ++kx) {
              const int ix = ix0 + kx;
              if ((unsigned)ix < (unsigned)W) acc[r] = fmaf(w[ky * K + kx], __ldg(xp + iy * W + ix), acc[r]);
            }
          }
        }
      }
#pragma unroll
      for (int r = 0; r < DW_ROWS; ++r)
        if (oy0 + r < OH) op[(oy0 + r) * OW + ox] = acc[r];
    }
  }
}

GM_KERNEL void __launch_bounds__(256) gm_dwconv2d_k3(const DwConvParams p) { dwconv_plane<3>(p); }
