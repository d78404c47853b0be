// Selective scan (Mamba S6) forward and its single-step state update, as
// ../shared/spec/scan.md and state-spaces/mamba selective_scan_ref define them.
//
// Two forward kernels share one parameter struct:
//
//   - gm_scan_fwd_s<N> / gm_scan_rev_s<N> (split states, the fast path) when
//     B and C are time-varying and a block's 32 channels share one group. A
//     block owns 32 channels of one batch row; LPC = 1, 2 or 4 lanes share a
//     channel, each holding SPL = N/LPC of its states in registers, so
//     Bt·D·LPC lanes work at once (four times v1's parallelism at N = 16).
//     Time is walked in chunks of SCAN2_T steps, staged in shared memory
//     with cp.async one chunk ahead (double buffer), in three phases split
//     by __syncthreads: a prologue (softplus of delta + bias once per
//     element, B and C transposed to one row of states per step), the
//     recurrence (per lane: SPL exp2, one partial y per step), and an
//     epilogue (partials summed, D skip, silu(z) gate, coalesced store).
//     The rev kernels walk time backwards (ScanArgs.Reverse) over the same
//     chunks in reverse order.
//   - gm_scan_fwd_g<N> (v1, general B/C layouts): one lane per (b, d)
//     channel, its N states in registers, u/delta/z staged per warp.
#include "common.cuh"

#define SCAN_T 16
#define LOG2E_F 1.4426950408889634f

// B/C element (b, d, n, l) lives at ptr + b*batch + (d/dpg)*group + d*chan +
// n*nstride + l*lstride; this covers (D,N) time-invariant, (Bt,N,L) and
// (Bt,G,N,L) layouts.
struct ScanParams {
  const float *u, *delta, *A, *B, *C, *D, *z, *dbias;
  float *out, *last;
  i64 bBatch, bGroup, bChan, bN, bL, bDPG;
  i64 cBatch, cGroup, cChan, cN, cL, cDPG;
  i64 Bt, Dm, L, N, softplus;
  // Segments over L (split kernels only): segment blockIdx.z covers chunks
  // [z·segChunks, (z+1)·segChunks) of SCAN2_T steps in processing order;
  // carry holds, per (b, segment, d), the state a segment reaches from
  // zero (N floats, (Bt, nseg, D, N)) and then, after all of those, the sum
  // of its softplus'd Δ ((Bt, nseg, D)). acc: out += y instead of out = y.
  float* carry;
  i64 segChunks, acc;
};

__device__ __forceinline__ void scan_cp_wait0() { asm volatile("cp.async.wait_group 0;\n" ::); }

// cp.async of 4 bytes issued only when ok (a predicated instruction, no
// branch); smem is a shared-space address.
__device__ __forceinline__ void scan_cp4_if(unsigned smem, const float* g, bool ok) {
  asm volatile(
      "{\n .reg .pred p;\n setp.ne.b32 p, %2, 0;\n @p cp.async.ca.shared.global [%0], [%1], 4;\n}\n" ::"r"(smem),
      "l"(g), "r"((int)ok));
}

// PyTorch's softplus (log1p(exp(x)), x itself above 20) in 16 instructions:
// max(x, 0) + log1p(e) with e = exp(-|x|) in (0, 1], and log1p(e) =
// 2·atanh(s), s = e/(2+e) in (0, 1/3], summed to s^15 (truncation below
// 3e-9 relative). Above 20 the correction is below half an ulp of x, so the
// result is x exactly, as PyTorch's threshold gives.
__device__ __forceinline__ float scan_softplus(float x) {
  const float e = gm_exp2(-fabsf(x) * LOG2E_F);
  const float s = __fdividef(e, 2.f + e);
  const float s2 = s * s;
  float q = 1.f / 15.f;
  q = fmaf(q, s2, 1.f / 13.f);
  q = fmaf(q, s2, 1.f / 11.f);
  q = fmaf(q, s2, 1.f / 9.f);
  q = fmaf(q, s2, 1.f / 7.f);
  q = fmaf(q, s2, 1.f / 5.f);
  q = fmaf(q, s2, 1.f / 3.f);
  const float s2x = 2.f * s;
  return fmaxf(x, 0.f) + fmaf(s2x * s2, q, s2x);
}

// ---------------------------------------------------------------------------
// Split-state kernel.

#ifndef SCAN2_T
#define SCAN2_T 16  // time steps per chunk (16 or 32)
#endif
#ifndef SCAN2_RED
#define SCAN2_RED 0  // y partials: 0 through shared memory, 1 shuffle reduce-scatter
#endif
#ifndef SCAN2_SPL16
#define SCAN2_SPL16 4  // states per lane at N = 16 (4: 4 lanes per channel, 8: 2, 2: 8)
#endif
#define SCAN2_CH 32  // channels per block

// States per lane and lanes per channel for a register array of NMAX states.
template <int NMAX>
struct ScanSplit {
  static constexpr int SPL = NMAX <= 4 ? NMAX : (NMAX == 16 ? SCAN2_SPL16 : (NMAX < 16 ? 4 : NMAX / 4));
  static constexpr int LPC = NMAX / SPL;  // 1, 2, 4 or 8 (SCAN2_SPL16=2): must match scanLanes in scan.go
  static constexpr int NT = SCAN2_CH * LPC;
  static constexpr int T = NMAX <= 16 ? SCAN2_T : 16;
  // Row stride of the partial sums y[t][ch*LPC + g], padded so that the
  // epilogue's vector loads along t are free of bank conflicts.
  static constexpr int YS = SCAN2_CH * LPC + (LPC >= 4 ? 4 : LPC == 2 ? 2 : 1);
};

template <int NMAX, int T>
struct ScanStage {
  float2 ud[SCAN2_CH][T + 1];  // (u, delta), then (u, softplus(delta + bias))
  float z[SCAN2_CH][T + 1];
  float B[NMAX][T + 2];  // as loaded: one row of steps per state
  float C[NMAX][T + 2];
};

template <int NMAX>
struct ScanShared {
  static constexpr int T = ScanSplit<NMAX>::T;
  ScanStage<NMAX, T> st[2];
  alignas(16) float Bt[T][NMAX];  // transposed: one row of states per step
  alignas(16) float Ct[T][NMAX];
#if SCAN2_RED == 0
  alignas(16) float y[T][ScanSplit<NMAX>::YS];
#else
  float y[SCAN2_CH][T + 1];
#endif
  float Dv[SCAN2_CH], db[SCAN2_CH];
};

template <int K>
__device__ __forceinline__ void scan_load_row(float (&v)[K], const float* s) {
  if constexpr (K % 4 == 0) {
#pragma unroll
    for (int j = 0; j < K; j += 4) {
      const float4 q = *reinterpret_cast<const float4*>(s + j);
      v[j] = q.x;
      v[j + 1] = q.y;
      v[j + 2] = q.z;
      v[j + 3] = q.w;
    }
  } else {
#pragma unroll
    for (int j = 0; j < K; ++j) v[j] = s[j];
  }
}

// Sum of p over the LPC lanes of a channel, scattered: lane g of the group
// returns the total of p[g].
template <int LPC>
__device__ __forceinline__ float scan_reduce_scatter(const float (&p)[LPC], int g) {
  if constexpr (LPC == 1) {
    return p[0];
  } else if constexpr (LPC == 2) {
    const bool hi = g & 1;
    return (hi ? p[1] : p[0]) + __shfl_xor_sync(0xffffffffu, hi ? p[0] : p[1], 1);
  } else {
    const bool h2 = g & 2, h1 = g & 1;
    float k0 = h2 ? p[2] : p[0], k1 = h2 ? p[3] : p[1];
    k0 += __shfl_xor_sync(0xffffffffu, h2 ? p[0] : p[2], 2);
    k1 += __shfl_xor_sync(0xffffffffu, h2 ? p[1] : p[3], 2);
    return (h1 ? k1 : k0) + __shfl_xor_sync(0xffffffffu, h1 ? k0 : k1, 1);
  }
}

// One split-state scan over the chunks of segment blockIdx.z (the whole
// sequence when p.segChunks covers it). END (the first pass of a segmented
// scan) runs the recurrence from zero without C, z or outputs and stores
// the segment's end state and Σ softplus(Δ) in p.carry; otherwise a
// segment after the first starts from the state that the carries of the
// segments before it fold to: h ← exp2(A·log2e·ΣΔ)·h + h_end, segment by
// segment (the recurrence over a segment is linear in its initial state).
template <int NMAX, bool REV, bool END>
__device__ __forceinline__ void scan_split(const ScanParams& p) {
  using S = ScanSplit<NMAX>;
  constexpr int SPL = S::SPL, LPC = S::LPC, NT = S::NT, T = S::T, CH = SCAN2_CH;
  __shared__ ScanShared<NMAX> sm;
  const int tid = threadIdx.x;
  const int Dm = (int)p.Dm, L = (int)p.L, N = (int)p.N;
  const int d0 = blockIdx.x * CH;
  const bool hasZ = !END && p.z != nullptr;
  const bool sp = p.softplus != 0;
  const bool acc = p.acc != 0;

  // Recurrence role: channel chl of the block, states g*SPL .. g*SPL+SPL-1.
  const int lane = tid & 31;
  const int chl = (tid >> 5) * (32 / LPC) + lane / LPC;
  const int g = lane % LPC;
  const int dr = min(d0 + chl, Dm - 1);
  float A2[SPL];
#pragma unroll
  for (int j = 0; j < SPL; ++j) {
    const int n = g * SPL + j;
    A2[j] = n < N ? p.A[(i64)dr * N + n] * LOG2E_F : 0.f;
  }
  if (tid < CH) {
    const int dc = min(d0 + tid, Dm - 1);
    sm.Dv[tid] = p.D ? p.D[dc] : 0.f;
    sm.db[tid] = p.dbias ? p.dbias[dc] : 0.f;
  }
  const int nch = (L + T - 1) / T;
  const int seg = blockIdx.z, segC = (int)p.segChunks;
  const int nseg = (nch + segC - 1) / segC;
  const int cBeg = seg * segC, cEnd = min(cBeg + segC, nch);
  // Element-wise role: step te of channels ch0, ch0 + CPI, ... (nOwn of them
  // inside D).
  constexpr int CPI = NT / T;
  const int te = tid % T, ch0 = tid / T;
  const int nOwn = (Dm - d0 - ch0 + CPI - 1) / CPI;

  for (int b = blockIdx.y; b < (int)p.Bt; b += gridDim.y) {
    const i64 rowBase = (i64)b * Dm * L;
    const float* Bw = p.B + b * p.bBatch + (d0 / p.bDPG) * p.bGroup;
    const float* Cw = p.C + b * p.cBatch + (d0 / p.cDPG) * p.cGroup;
    // carry of (b, segment q, channel dr): end state, then ΣΔ.
    const i64 carryRow = (i64)b * nseg * Dm + dr;
    float* const sdelta = p.carry + (i64)p.Bt * nseg * Dm * N;
    float h[SPL];
#pragma unroll
    for (int j = 0; j < SPL; ++j) h[j] = 0.f;
    if (!END) {
      for (int q = 0; q < seg; ++q) {
        const i64 row = carryRow + (i64)q * Dm;
        const float sd = sdelta[row];
#pragma unroll
        for (int j = 0; j < SPL; ++j) {
          const int n = g * SPL + j;
          if (n < N) h[j] = fmaf(gm_exp2(A2[j] * sd), h[j], p.carry[row * N + n]);
        }
      }
    }
    float dsum = 0.f;

    // Chunk c covers steps [lo, lo + tl): from the start forwards, from the
    // end backwards when REV.
    auto span = [&](int c, int& lo, int& tl) {
      if (REV) {
        const int hi = L - c * T;
        lo = max(hi - T, 0);
        tl = hi - lo;
      } else {
        lo = c * T;
        tl = min(T, L - lo);
      }
    };
    // Element-wise phases: thread tid handles step te of channels
    // ch0 + i·CPI (and of states ch0 + i·CPI for B, C), the same every chunk,
    // through pointers stepped by whole rows.
    const i64 elem0 = rowBase + (i64)(d0 + ch0) * L + te;
    const i64 rowStep = (i64)CPI * L;
    const float* Bt0 = Bw + ch0 * p.bN + te;
    const float* Ct0 = Cw + ch0 * p.cN + te;
    const i64 bStep = (i64)CPI * p.bN, cStep = (i64)CPI * p.cN;
    auto issue = [&](int c) {
      ScanStage<NMAX, T>& s = sm.st[c & 1];
      int lo, tl;
      span(c, lo, tl);
      const bool tok = te < tl;
      const unsigned su = (unsigned)__cvta_generic_to_shared(&s.ud[ch0][te]);
      const unsigned sz = (unsigned)__cvta_generic_to_shared(&s.z[ch0][te]);
      const float* gu = p.u + elem0 + lo;
      const float* gd = p.delta + elem0 + lo;
      if (hasZ) {
        const float* gz = p.z + elem0 + lo;
#pragma unroll
        for (int i = 0; i < CH / CPI; ++i) {
          const bool ok = tok && i < nOwn;
          scan_cp4_if(su + i * CPI * (T + 1) * 8, gu, ok);
          scan_cp4_if(su + i * CPI * (T + 1) * 8 + 4, gd, ok);
          scan_cp4_if(sz + i * CPI * (T + 1) * 4, gz, ok);
          gu += rowStep;
          gd += rowStep;
          gz += rowStep;
        }
      } else {
#pragma unroll
        for (int i = 0; i < CH / CPI; ++i) {
          const bool ok = tok && i < nOwn;
          scan_cp4_if(su + i * CPI * (T + 1) * 8, gu, ok);
          scan_cp4_if(su + i * CPI * (T + 1) * 8 + 4, gd, ok);
          gu += rowStep;
          gd += rowStep;
        }
      }
      const unsigned sb = (unsigned)__cvta_generic_to_shared(&s.B[ch0][te]);
      const unsigned sc = (unsigned)__cvta_generic_to_shared(&s.C[ch0][te]);
      const float* gb = Bt0 + lo;
      const float* gc = Ct0 + lo;
#pragma unroll
      for (int i = 0; i < (NMAX + CPI - 1) / CPI; ++i) {
        const bool ok = tok && ch0 + i * CPI < N;
        scan_cp4_if(sb + i * CPI * (T + 2) * 4, gb, ok);
        if (!END) scan_cp4_if(sc + i * CPI * (T + 2) * 4, gc, ok);
        gb += bStep;
        gc += cStep;
      }
      gm_cp_commit();
    };

    __syncthreads();  // the previous row's epilogue is done with the buffers
    issue(cBeg);
    for (int c = cBeg; c < cEnd; ++c) {
      ScanStage<NMAX, T>& s = sm.st[c & 1];
      int lo, tl;
      span(c, lo, tl);
      scan_cp_wait0();
      __syncthreads();  // chunk c landed; chunk c-1 is fully consumed
      if (c + 1 < cEnd) issue(c + 1);
      // With acc, the values out holds are loaded now, so that their
      // latency hides behind the prologue and the recurrence rather than
      // stalling the epilogue's stores.
      float prior[CH / CPI];
      if (!END && acc && te < tl) {
        const float* go = p.out + elem0 + lo;
#pragma unroll
        for (int i = 0; i < CH / CPI; ++i, go += rowStep) prior[i] = i < nOwn ? *go : 0.f;
      }

      // Prologue: softplus once per element, B and C transposed.
      if (te < tl) {
        if (sp) {
#pragma unroll
          for (int i = 0; i < CH / CPI; ++i) {
            const int ch = ch0 + i * CPI;
            s.ud[ch][te].y = scan_softplus(s.ud[ch][te].y + sm.db[ch]);
          }
        } else {
#pragma unroll
          for (int i = 0; i < CH / CPI; ++i) {
            const int ch = ch0 + i * CPI;
            s.ud[ch][te].y += sm.db[ch];
          }
        }
      }
#pragma unroll
      for (int i = 0; i < (NMAX * T + NT - 1) / NT; ++i) {
        const int e = tid + i * NT, n = e % NMAX, t = e / NMAX;
        if (e < NMAX * T) {
          const bool ok = n < N && t < tl;
          sm.Bt[t][n] = ok ? s.B[n][t] : 0.f;
          if (!END) sm.Ct[t][n] = ok ? s.C[n][t] : 0.f;
        }
      }
      __syncthreads();

      // Recurrence over the chunk's steps in time order.
      auto step = [&](int t) -> float {
        const float2 v = s.ud[chl][t];
        const float du = v.x * v.y;
        float Bv[SPL], Cv[SPL];
        scan_load_row<SPL>(Bv, &sm.Bt[t][g * SPL]);
        if (!END) scan_load_row<SPL>(Cv, &sm.Ct[t][g * SPL]);
        float y = 0.f;
#pragma unroll
        for (int j = 0; j < SPL; ++j) {
          const float dA = gm_exp2(v.y * A2[j]);
          h[j] = fmaf(dA, h[j], Bv[j] * du);
          if (!END) y = fmaf(h[j], Cv[j], y);
        }
        if (END) dsum += v.y;
        return y;
      };
      if (END) {
        if (tl == T) {
#pragma unroll
          for (int i = 0; i < T; ++i) step(REV ? T - 1 - i : i);
        } else {
#pragma unroll 1
          for (int i = 0; i < tl; ++i) step(REV ? tl - 1 - i : i);
        }
        continue;  // the next chunk's first barrier orders the buffer reuse
      }
#if SCAN2_RED == 0
      if (tl == T) {
        // The chunk's y are stored after the loop, so that no shared store
        // sits between one step's loads and the next's and the compiler can
        // overlap steps.
        float yv[T];
#pragma unroll
        for (int i = 0; i < T; ++i) yv[i] = step(REV ? T - 1 - i : i);
#pragma unroll
        for (int i = 0; i < T; ++i) sm.y[REV ? T - 1 - i : i][chl * LPC + g] = yv[i];
      } else {
#pragma unroll 1
        for (int i = 0; i < tl; ++i) {
          const int t = REV ? tl - 1 - i : i;
          sm.y[t][chl * LPC + g] = step(t);
        }
      }
#else
      auto group = [&](int i0, bool full) -> float {
        float part[LPC];
#pragma unroll
        for (int k = 0; k < LPC; ++k) {
          const int i = i0 + k;
          const int t = REV ? tl - 1 - i : i;
          part[k] = (full || i < tl) ? step(t) : 0.f;
        }
        return scan_reduce_scatter<LPC>(part, g);
      };
      if (tl == T) {
        float yv[T / LPC];
#pragma unroll
        for (int k = 0; k < T / LPC; ++k) yv[k] = group(k * LPC, true);
#pragma unroll
        for (int k = 0; k < T / LPC; ++k) {
          const int i = k * LPC + g;
          sm.y[chl][REV ? T - 1 - i : i] = yv[k];
        }
      } else {
#pragma unroll 1
        for (int i0 = 0; i0 < tl; i0 += LPC) {
          const float y = group(i0, false);
          const int i = i0 + g;
          if (i < tl) sm.y[chl][REV ? tl - 1 - i : i] = y;
        }
      }
#endif
      __syncthreads();

      // Epilogue: y = (Σ partials + D·u)·silu(z), stored along L (added to
      // what out held, prior, when acc). Branch-free per element (only the store
      // is predicated), so that the shared addresses are computed once.
      auto ysum = [&](int ch) -> float {
#if SCAN2_RED == 0
        float part[LPC];
        scan_load_row<LPC>(part, &sm.y[te][ch * LPC]);
        float y = part[0];
#pragma unroll
        for (int k = 1; k < LPC; ++k) y += part[k];
#else
        float y = sm.y[ch][te];
#endif
        return fmaf(sm.Dv[ch], s.ud[ch][te].x, y);
      };
      if (te < tl) {
        float* go = p.out + elem0 + lo;
        if (hasZ) {
#pragma unroll
          for (int i = 0; i < CH / CPI; ++i, go += rowStep) {
            const int ch = ch0 + i * CPI;
            const float zz = s.z[ch][te];
            const float y = ysum(ch) * __fdividef(zz, 1.f + gm_exp2(-zz * LOG2E_F));
            if (i < nOwn) *go = acc ? prior[i] + y : y;
          }
        } else {
#pragma unroll
          for (int i = 0; i < CH / CPI; ++i, go += rowStep) {
            const float y = ysum(ch0 + i * CPI);
            if (i < nOwn) *go = acc ? prior[i] + y : y;
          }
        }
      }
    }
    if (d0 + chl < Dm) {
      if (END) {
        const i64 row = carryRow + (i64)seg * Dm;
#pragma unroll
        for (int j = 0; j < SPL; ++j) {
          const int n = g * SPL + j;
          if (n < N) p.carry[row * N + n] = h[j];
        }
        if (g == 0) sdelta[row] = dsum;
      } else if (p.last && cEnd == nch) {
#pragma unroll
        for (int j = 0; j < SPL; ++j) {
          const int n = g * SPL + j;
          if (n < N) p.last[((i64)b * Dm + d0 + chl) * N + n] = h[j];
        }
      }
    }
  }
}

// gm_scan_{fwd,rev}_s<N>: the scan (or, with segments, its second pass);
// gm_scan_{fwd,rev}_e<N>: the first pass of a segmented scan (grid.z = the
// segments but the last).
#define SCAN_SPLIT_KERNEL(NM)                                                                    \
  GM_KERNEL void __launch_bounds__(ScanSplit<NM>::NT, 768 / ScanSplit<NM>::NT)                   \
      gm_scan_fwd_s##NM(const ScanParams p) {                                                    \
    scan_split<NM, false, false>(p);                                                             \
  }                                                                                              \
  GM_KERNEL void __launch_bounds__(ScanSplit<NM>::NT, 768 / ScanSplit<NM>::NT)                   \
      gm_scan_rev_s##NM(const ScanParams p) {                                                    \
    scan_split<NM, true, false>(p);                                                              \
  }                                                                                              \
  GM_KERNEL void __launch_bounds__(ScanSplit<NM>::NT, 768 / ScanSplit<NM>::NT)                   \
      gm_scan_fwd_e##NM(const ScanParams p) {                                                    \
    scan_split<NM, false, true>(p);                                                              \
  }                                                                                              \
  GM_KERNEL void __launch_bounds__(ScanSplit<NM>::NT, 768 / ScanSplit<NM>::NT)                   \
      gm_scan_rev_e##NM(const ScanParams p) {                                                    \
    scan_split<NM, true, true>(p);                                                               \
  }

SCAN_SPLIT_KERNEL(1)
SCAN_SPLIT_KERNEL(2)
SCAN_SPLIT_KERNEL(4)
SCAN_SPLIT_KERNEL(8)
SCAN_SPLIT_KERNEL(16)
SCAN_SPLIT_KERNEL(32)
SCAN_SPLIT_KERNEL(64)

// ---------------------------------------------------------------------------
// v1 general kernel: B/C read per lane through the read-only cache.

struct __align__(16) ScanSmem {
  float u[SCAN_T][33];  // u, then the outputs y of the chunk
  float dt[SCAN_T][33];
  float z[SCAN_T][33];
};

template <int NMAX, int WARPS>
__device__ __forceinline__ void scan_fwd(const ScanParams& p) {
  __shared__ ScanSmem sm[WARPS][2];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int Dm = (int)p.Dm, L = (int)p.L, N = (int)p.N;
  const int d0 = (blockIdx.x * WARPS + warp) * 32;
  if (d0 >= Dm) return;  // whole warp, uniformly
  const int d = d0 + lane;
  const int dc = d < Dm ? d : Dm - 1;
  const bool hasZ = p.z != nullptr;
  const bool sp = p.softplus != 0;

  float A2[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; ++n) A2[n] = n < N ? p.A[(i64)dc * N + n] * LOG2E_F : 0.f;
  const float Dv = p.D ? p.D[dc] : 0.f;
  const float db = p.dbias ? p.dbias[dc] : 0.f;

  for (int b = blockIdx.y; b < (int)p.Bt; b += gridDim.y) {
    const i64 rowBase = (i64)b * Dm * L;
    const float* Bl = p.B + b * p.bBatch + (dc / p.bDPG) * p.bGroup + dc * p.bChan;
    const float* Cl = p.C + b * p.cBatch + (dc / p.cDPG) * p.cGroup + dc * p.cChan;
    float h[NMAX];
#pragma unroll
    for (int n = 0; n < NMAX; ++n) h[n] = 0.f;

    const int nch = (L + SCAN_T - 1) / SCAN_T;
    auto issue = [&](int c) {
      ScanSmem& s = sm[warp][c & 1];
      const int l0 = c * SCAN_T;
      const int tl = min(SCAN_T, L - l0);
#pragma unroll
      for (int e = lane; e < 32 * SCAN_T; e += 32) {
        const int r = e / SCAN_T, t = e % SCAN_T;
        if (d0 + r < Dm && t < tl) {
          const i64 off = rowBase + (i64)(d0 + r) * L + l0 + t;
          gm_cp_async4(&s.u[t][r], p.u + off);
          gm_cp_async4(&s.dt[t][r], p.delta + off);
          if (hasZ) gm_cp_async4(&s.z[t][r], p.z + off);
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
      ScanSmem& s = sm[warp][c & 1];
      const int l0 = c * SCAN_T;
      const int tl = min(SCAN_T, L - l0);
      for (int t = 0; t < tl; ++t) {
        const float uu = s.u[t][lane];
        float dtv = s.dt[t][lane] + db;
        if (sp) dtv = gm_softplus(dtv);
        const float du = dtv * uu;
        const i64 lb = (i64)(l0 + t) * p.bL, lc = (i64)(l0 + t) * p.cL;
        float y = Dv * uu;
#pragma unroll
        for (int n = 0; n < NMAX; ++n) {
          const float Bv = n < N ? __ldg(Bl + n * p.bN + lb) : 0.f;
          const float Cv = n < N ? __ldg(Cl + n * p.cN + lc) : 0.f;
          const float dA = gm_exp2(dtv * A2[n]);
          h[n] = fmaf(dA, h[n], Bv * du);
          y = fmaf(h[n], Cv, y);
        }
        if (hasZ) {
          const float zz = s.z[t][lane];
          y *= zz / (1.f + expf(-zz));
        }
        s.u[t][lane] = y;
      }
      __syncwarp();
#pragma unroll
      for (int e = lane; e < 32 * SCAN_T; e += 32) {
        const int r = e / SCAN_T, t = e % SCAN_T;
        if (d0 + r < Dm && t < tl) p.out[rowBase + (i64)(d0 + r) * L + l0 + t] = s.u[t][r];
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

#define SCAN_KERNEL(NM, WARPS)                                                                 \
  GM_KERNEL void __launch_bounds__(WARPS * 32) gm_scan_fwd_g##NM(const ScanParams p) {        \
    scan_fwd<NM, WARPS>(p);                                                                    \
  }

SCAN_KERNEL(1, 2)
SCAN_KERNEL(2, 2)
SCAN_KERNEL(4, 2)
SCAN_KERNEL(8, 2)
SCAN_KERNEL(16, 2)
SCAN_KERNEL(32, 2)
SCAN_KERNEL(64, 1)

// One token of the recurrence (selective_state_update_ref). B and C are
// (Bt, G, N) with dpg = D/G channels per group (G = 1 for (Bt, N)).
struct StepParams {
  float* state;
  const float *x, *dt, *A, *B, *C, *D, *z, *dtBias;
  float* out;
  i64 Bt, Dm, N, G, softplus;
};

GM_KERNEL void gm_scan_step(const StepParams p) {
  const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.Bt * p.Dm) return;
  const i64 b = i / p.Dm, d = i % p.Dm;
  const i64 N = p.N;
  float dt = p.dt[i] + (p.dtBias ? p.dtBias[d] : 0.f);
  if (p.softplus) dt = gm_softplus(dt);
  const float x = p.x[i];
  const i64 g = d / (p.Dm / p.G);
  const float* Bp = p.B + (b * p.G + g) * N;
  const float* Cp = p.C + (b * p.G + g) * N;
  float* s = p.state + i * N;
  float y = 0.f;
  for (i64 n = 0; n < N; ++n) {
    const float dA = expf(p.A[d * N + n] * dt);
    const float v = s[n] * dA + Bp[n] * dt * x;
    s[n] = v;
    y += v * Cp[n];
  }
  if (p.D) y += x * p.D[d];
  if (p.z) y *= gm_silu(p.z[i]);
  p.out[i] = y;
}
