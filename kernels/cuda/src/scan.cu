// Selective scan (Mamba S6) forward and its single-step state update, as
// ../shared/spec/scan.md and state-spaces/mamba selective_scan_ref define them.
//
// Parallel over batch x channels: one lane owns one (b, d) channel and keeps
// its N states in registers, walking L sequentially. A warp owns 32
// consecutive channels of one batch row; it stages chunks of SCAN_T time steps
// of u, delta, z (and of B, C when the 32 channels share one group) in shared
// memory with cp.async, double-buffered so the next chunk loads while this one
// is computed, and writes the outputs back through shared memory so that every
// global access is coalesced. Warps are independent (only __syncwarp).
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
};

template <int NMAX, bool STAGED>
struct __align__(16) ScanSmem {
  float u[SCAN_T][33];  // u, then the outputs y of the chunk
  float dt[SCAN_T][33];
  float z[SCAN_T][33];
  float B[STAGED ? SCAN_T : 1][STAGED ? NMAX : 4];
  float C[STAGED ? SCAN_T : 1][STAGED ? NMAX : 4];
};

template <int NMAX, bool STAGED>
__device__ __forceinline__ void scan_load_vec(float (&v)[NMAX], const float* srow) {
  if (NMAX % 4 == 0) {
#pragma unroll
    for (int n = 0; n < NMAX; n += 4) {
      float4 q = *reinterpret_cast<const float4*>(srow + n);
      v[n] = q.x;
      v[n + 1] = q.y;
      v[n + 2] = q.z;
      v[n + 3] = q.w;
    }
  } else {
#pragma unroll
    for (int n = 0; n < NMAX; ++n) v[n] = srow[n];
  }
}

// STAGED: B and C are time-varying (l stride 1, no channel stride) and the 32
// channels of every warp share one group, so one tile serves the whole warp.
template <int NMAX, bool STAGED, int WARPS>
__device__ __forceinline__ void scan_fwd(const ScanParams& p) {
  __shared__ ScanSmem<NMAX, STAGED> sm[WARPS][2];
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
    const float* Bw = p.B + b * p.bBatch + (d0 / p.bDPG) * p.bGroup;
    const float* Cw = p.C + b * p.cBatch + (d0 / p.cDPG) * p.cGroup;
    float h[NMAX];
#pragma unroll
    for (int n = 0; n < NMAX; ++n) h[n] = 0.f;

    const int nch = (L + SCAN_T - 1) / SCAN_T;
    auto issue = [&](int c) {
      ScanSmem<NMAX, STAGED>& s = sm[warp][c & 1];
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
      if constexpr (STAGED) {
#pragma unroll
        for (int e = lane; e < NMAX * SCAN_T; e += 32) {
          const int n = e / SCAN_T, t = e % SCAN_T;
          if (n < N && t < tl) {
            gm_cp_async4(&s.B[t][n], Bw + n * p.bN + l0 + t);
            gm_cp_async4(&s.C[t][n], Cw + n * p.cN + l0 + t);
          } else {
            s.B[t][n] = 0.f;  // padded states stay exactly zero
            s.C[t][n] = 0.f;
          }
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
      ScanSmem<NMAX, STAGED>& s = sm[warp][c & 1];
      const int l0 = c * SCAN_T;
      const int tl = min(SCAN_T, L - l0);
      for (int t = 0; t < tl; ++t) {
        const float uu = s.u[t][lane];
        float dtv = s.dt[t][lane] + db;
        if (sp) dtv = gm_softplus(dtv);
        const float du = dtv * uu;
        float Bv[NMAX], Cv[NMAX];
        if constexpr (STAGED) {
          scan_load_vec<NMAX, STAGED>(Bv, &s.B[t][0]);
          scan_load_vec<NMAX, STAGED>(Cv, &s.C[t][0]);
        } else {
          const i64 lb = (i64)(l0 + t) * p.bL, lc = (i64)(l0 + t) * p.cL;
#pragma unroll
          for (int n = 0; n < NMAX; ++n) {
            Bv[n] = n < N ? __ldg(Bl + n * p.bN + lb) : 0.f;
            Cv[n] = n < N ? __ldg(Cl + n * p.cN + lc) : 0.f;
          }
        }
        float y = Dv * uu;
#pragma unroll
        for (int n = 0; n < NMAX; ++n) {
          const float dA = gm_exp2(dtv * A2[n]);
          h[n] = fmaf(dA, h[n], Bv[n] * du);
          y = fmaf(h[n], Cv[n], y);
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
  GM_KERNEL void __launch_bounds__(WARPS * 32) gm_scan_fwd_s##NM(const ScanParams p) {        \
    scan_fwd<NM, true, WARPS>(p);                                                              \
  }                                                                                            \
  GM_KERNEL void __launch_bounds__(WARPS * 32) gm_scan_fwd_g##NM(const ScanParams p) {        \
    scan_fwd<NM, false, WARPS>(p);                                                             \
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
