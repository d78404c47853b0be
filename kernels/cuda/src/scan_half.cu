// Selective scan over 16-bit inputs (issue #8: "bf16/fp16 inputs too", as
// mamba_ssm's selective_scan_fwd accepts them): u, delta, z, B, C and out
// are stored as bf16 or fp16 in device memory; A, D, delta_bias and the
// optional last state are fp32, and everything is computed in fp32 (loads
// widen exactly, the state, exp, softplus and sums are fp32, stores round
// to nearest even). Also the conversion kernels between fp32 and 16 bits.
//
// gm_scan_half_{bf16,f16}_g<N> is scan.cu's lane-per-channel kernel
// (gm_scan_fwd_g<N>) templated on the element type: one lane per (b, d)
// channel with its N states in registers, u/delta/z staged per warp in
// chunks of HSCAN_T steps with cp.async one chunk ahead. cp.async moves 4,
// 8 or 16 bytes, so a chunk's row of 16-bit values is staged as the 4-byte
// words that cover it (HSCAN_W words: the row may start at an odd element);
// the last word of a tensor of odd length reaches 2 bytes past its end,
// which the Go side allocates (HalfTensor rounds its size up to words). The
// kernel walks time backwards natively (Reverse) and adds into out (acc).
#include "common.cuh"

#define HSCAN_T 16
#define HSCAN_W (HSCAN_T / 2 + 1)  // 4-byte words that cover HSCAN_T halves
#define HLOG2E_F 1.4426950408889634f

typedef unsigned short gm_h16;

// Element types: ld widens exactly, st rounds to nearest even.
struct GmBF16 {
  static __device__ __forceinline__ float ld(gm_h16 h) { return __uint_as_float((unsigned)h << 16); }
  static __device__ __forceinline__ gm_h16 st(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (gm_h16)((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (gm_h16)(u >> 16);
  }
};

__device__ __forceinline__ float hscan_f16_to_f32(gm_h16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}
__device__ __forceinline__ gm_h16 hscan_f32_to_f16(float f) {
  gm_h16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}
struct GmF16 {
  static __device__ __forceinline__ float ld(gm_h16 h) { return hscan_f16_to_f32(h); }
  static __device__ __forceinline__ gm_h16 st(float f) { return hscan_f32_to_f16(f); }
};

// Asynchronous copy of one 4-byte word (global -> shared).
__device__ __forceinline__ void hscan_cp4(void* smem, const unsigned* g) {
  unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(s), "l"(g));
}

// ---------------------------------------------------------------------------
// Conversions: dst[i] = st(src[i]) and dst[i] = ld(src[i]), grid-stride.

struct HalfConvParams {
  const void* src;
  void* dst;
  i64 n;
};

template <class E>
__device__ __forceinline__ void half_from_f32(const HalfConvParams& p) {
  const float* s = (const float*)p.src;
  gm_h16* d = (gm_h16*)p.dst;
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (i64)gridDim.x * blockDim.x) d[i] = E::st(s[i]);
}

template <class E>
__device__ __forceinline__ void half_to_f32(const HalfConvParams& p) {
  const gm_h16* s = (const gm_h16*)p.src;
  float* d = (float*)p.dst;
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (i64)gridDim.x * blockDim.x) d[i] = E::ld(s[i]);
}

GM_KERNEL void gm_to_bf16(const HalfConvParams p) { half_from_f32<GmBF16>(p); }
GM_KERNEL void gm_to_f16(const HalfConvParams p) { half_from_f32<GmF16>(p); }
GM_KERNEL void gm_from_bf16(const HalfConvParams p) { half_to_f32<GmBF16>(p); }
GM_KERNEL void gm_from_f16(const HalfConvParams p) { half_to_f32<GmF16>(p); }

// ---------------------------------------------------------------------------
// The scan. B/C addressing as ScanParams (scan.cu): element (b, d, n, l) at
// B + b*bBatch + (d/bDPG)*bGroup + d*bChan + n*bN + l*bL.

struct HalfScanParams {
  const gm_h16 *u, *delta;
  const float* A;
  const gm_h16 *B, *C;
  const float* D;
  const gm_h16* z;
  const float* dbias;
  gm_h16* out;
  float* last;
  i64 bBatch, bGroup, bChan, bN, bL, bDPG;
  i64 cBatch, cGroup, cChan, cN, cL, cDPG;
  i64 Bt, Dm, L, N, softplus, rev, acc;
};

struct __align__(16) HalfScanStage {
  gm_h16 u[32][2 * HSCAN_W];  // row r: the words covering the chunk of channel d0 + r
  gm_h16 dt[32][2 * HSCAN_W];
  gm_h16 z[32][2 * HSCAN_W];
};

template <class E, int NMAX, int WARPS>
__device__ __forceinline__ void scan_half(const HalfScanParams& p) {
  __shared__ HalfScanStage st[WARPS][2];
  __shared__ float ys[WARPS][HSCAN_T][33];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int Dm = (int)p.Dm, L = (int)p.L, N = (int)p.N;
  const int d0 = (blockIdx.x * WARPS + warp) * 32;
  if (d0 >= Dm) return;  // whole warp, uniformly
  const int d = d0 + lane;
  const int dc = d < Dm ? d : Dm - 1;
  const bool hasZ = p.z != nullptr;
  const bool sp = p.softplus != 0;
  const bool rev = p.rev != 0;
  const bool acc = p.acc != 0;

  float A2[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; ++n) A2[n] = n < N ? p.A[(i64)dc * N + n] * HLOG2E_F : 0.f;
  const float Dv = p.D ? p.D[dc] : 0.f;
  const float db = p.dbias ? p.dbias[dc] : 0.f;
  const unsigned* uw = (const unsigned*)p.u;
  const unsigned* dw = (const unsigned*)p.delta;
  const unsigned* zw = (const unsigned*)p.z;

  for (int b = blockIdx.y; b < (int)p.Bt; b += gridDim.y) {
    const i64 rowBase = (i64)b * Dm * L;
    const gm_h16* Bl = p.B + b * p.bBatch + (dc / p.bDPG) * p.bGroup + dc * p.bChan;
    const gm_h16* Cl = p.C + b * p.cBatch + (dc / p.cDPG) * p.cGroup + dc * p.cChan;
    float h[NMAX];
#pragma unroll
    for (int n = 0; n < NMAX; ++n) h[n] = 0.f;

    const int nch = (L + HSCAN_T - 1) / HSCAN_T;
    // Chunk c covers steps [lo, lo + tl): from the start forwards, from the
    // end backwards when rev.
    auto span = [&](int c, int& lo, int& tl) {
      if (rev) {
        const int hi = L - c * HSCAN_T;
        lo = max(hi - HSCAN_T, 0);
        tl = hi - lo;
      } else {
        lo = c * HSCAN_T;
        tl = min(HSCAN_T, L - lo);
      }
    };
    auto issue = [&](int c) {
      HalfScanStage& s = st[warp][c & 1];
      int lo, tl;
      span(c, lo, tl);
#pragma unroll
      for (int e = lane; e < 32 * HSCAN_W; e += 32) {
        const int r = e / HSCAN_W, w = e % HSCAN_W;
        const i64 off = rowBase + (i64)(d0 + r) * L + lo;  // first element of row r's chunk
        const int par = (int)(off & 1);
        if (d0 + r < Dm && 2 * w < par + tl) {
          const i64 wi = (off >> 1) + w;
          hscan_cp4(&s.u[r][2 * w], uw + wi);
          hscan_cp4(&s.dt[r][2 * w], dw + wi);
          if (hasZ) hscan_cp4(&s.z[r][2 * w], zw + wi);
        }
      }
      gm_cp_commit();
    };

    issue(0);
    for (int c = 0; c < nch; ++c) {
      if (c + 1 < nch) {
        issue(c + 1);
      } else {
        gm_cp_commit();
      }
      gm_cp_wait1();
      __syncwarp();
      HalfScanStage& s = st[warp][c & 1];
      int lo, tl;
      span(c, lo, tl);
      const int par = (int)((rowBase + (i64)dc * L + lo) & 1);
      for (int i = 0; i < tl; ++i) {
        const int t = rev ? tl - 1 - i : i;
        const float uu = E::ld(s.u[lane][par + t]);
        float dtv = E::ld(s.dt[lane][par + t]) + db;
        if (sp) dtv = gm_softplus(dtv);
        const float du = dtv * uu;
        const i64 lb = (i64)(lo + t) * p.bL, lc = (i64)(lo + t) * p.cL;
        float y = Dv * uu;
#pragma unroll
        for (int n = 0; n < NMAX; ++n) {
          const float Bv = n < N ? E::ld(__ldg(Bl + n * p.bN + lb)) : 0.f;
          const float Cv = n < N ? E::ld(__ldg(Cl + n * p.cN + lc)) : 0.f;
          const float dA = gm_exp2(dtv * A2[n]);
          h[n] = fmaf(dA, h[n], Bv * du);
          y = fmaf(h[n], Cv, y);
        }
        if (hasZ) {
          const float zz = E::ld(s.z[lane][par + t]);
          y *= zz / (1.f + expf(-zz));
        }
        ys[warp][t][lane] = y;
      }
      __syncwarp();
#pragma unroll
      for (int e = lane; e < 32 * HSCAN_T; e += 32) {
        const int r = e / HSCAN_T, t = e % HSCAN_T;
        if (d0 + r < Dm && t < tl) {
          const i64 o = rowBase + (i64)(d0 + r) * L + lo + t;
          float y = ys[warp][t][r];
          if (acc) y += E::ld(p.out[o]);
          p.out[o] = E::st(y);
        }
      }
      __syncwarp();
    }
    if (p.last && d < Dm) {
#pragma unroll
      for (int n = 0; n < NMAX; ++n)
        if (n < N) p.last[((i64)b * Dm + d) * N + n] = h[n];
    }
  }
}

#define SCAN_HALF_KERNEL(NM, WARPS)                                                                        \
  GM_KERNEL void __launch_bounds__(WARPS * 32) gm_scan_half_bf16_g##NM(const HalfScanParams p) {          \
    scan_half<GmBF16, NM, WARPS>(p);                                                                       \
  }                                                                                                        \
  GM_KERNEL void __launch_bounds__(WARPS * 32) gm_scan_half_f16_g##NM(const HalfScanParams p) {           \
    scan_half<GmF16, NM, WARPS>(p);                                                                        \
  }

SCAN_HALF_KERNEL(1, 2)
SCAN_HALF_KERNEL(2, 2)
SCAN_HALF_KERNEL(4, 2)
SCAN_HALF_KERNEL(8, 2)
SCAN_HALF_KERNEL(16, 2)
SCAN_HALF_KERNEL(32, 2)
SCAN_HALF_KERNEL(64, 1)
