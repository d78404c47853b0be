// Normalisations and row reductions: RMSNorm, LayerNorm (last dim, one warp
// per row), LayerNorm2d (over channels of NCHW, one thread per pixel),
// softmax (one warp per row) and mean over one axis.
#include "common.cuh"

struct NormParams {
  const float *x, *w, *b;
  float* out;
  i64 rows, C, HW, eps_bits, rms;
  const float* h;  // gm_norm_rows: residual add (fused_add_norm), or null
  float* res;      // where x + h goes (may be x itself)
};

// One warp per row of C values; rms != 0 selects RMSNorm (no mean, no bias).
// With h set, the row is first replaced by res = x + h and res is
// normalised (Mamba's fused residual add + norm; each lane re-reads only
// the values it wrote).
GM_KERNEL void gm_norm_rows(const NormParams p) {
  const i64 row = (i64)blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= p.rows) return;
  const float eps = __int_as_float((int)p.eps_bits);
  const float* x = p.x + row * p.C;
  float* o = p.out + row * p.C;
  if (p.h) {
    const float* h = p.h + row * p.C;
    float* r = p.res + row * p.C;
    for (i64 i = lane; i < p.C; i += 32) r[i] = x[i] + h[i];
    x = r;
  }
  const float invC = 1.f / (float)p.C;
  float scale, mean = 0.f;
  if (p.rms) {
    float ss = 0.f;
    for (i64 i = lane; i < p.C; i += 32) ss = fmaf(x[i], x[i], ss);
    ss = gm_warp_sum(ss);
    scale = rsqrtf(ss * invC + eps);
  } else {
    float s = 0.f;
    for (i64 i = lane; i < p.C; i += 32) s += x[i];
    mean = gm_warp_sum(s) * invC;
    float v = 0.f;
    for (i64 i = lane; i < p.C; i += 32) {
      const float c = x[i] - mean;
      v = fmaf(c, c, v);
    }
    scale = rsqrtf(gm_warp_sum(v) * invC + eps);
  }
  for (i64 i = lane; i < p.C; i += 32) {
    float y = (x[i] - mean) * scale;
    if (p.w) y *= p.w[i];
    if (p.b) y += p.b[i];
    o[i] = y;
  }
}

// LayerNorm2d: x (Bt, C, H, W) normalised over C at every pixel.
GM_KERNEL void gm_layernorm2d(const NormParams p) {
  const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;  // b*HW + pixel
  if (i >= p.rows) return;
  const float eps = __int_as_float((int)p.eps_bits);
  const i64 b = i / p.HW, px = i % p.HW;
  const float* x = p.x + b * p.C * p.HW + px;
  float* o = p.out + b * p.C * p.HW + px;
  const float invC = 1.f / (float)p.C;
  float s = 0.f;
  for (i64 c = 0; c < p.C; ++c) s += x[c * p.HW];
  const float mean = s * invC;
  float v = 0.f;
  for (i64 c = 0; c < p.C; ++c) {
    const float d = x[c * p.HW] - mean;
    v = fmaf(d, d, v);
  }
  const float scale = rsqrtf(v * invC + eps);
  for (i64 c = 0; c < p.C; ++c) {
    float y = (x[c * p.HW] - mean) * scale;
    if (p.w) y *= p.w[c];
    if (p.b) y += p.b[c];
    o[c * p.HW] = y;
  }
}

struct RowParams {
  const float* x;
  float* out;
  i64 rows, C;
};

// Softmax over rows of C values, one warp per row (max-subtracted).
GM_KERNEL void gm_softmax(const RowParams p) {
  const i64 row = (i64)blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= p.rows) return;
  const float* x = p.x + row * p.C;
  float* o = p.out + row * p.C;
  float m = -INFINITY;
  for (i64 i = lane; i < p.C; i += 32) m = fmaxf(m, x[i]);
  m = gm_warp_max(m);
  float s = 0.f;
  for (i64 i = lane; i < p.C; i += 32) s += expf(x[i] - m);
  s = gm_warp_sum(s);
  const float inv = 1.f / s;
  for (i64 i = lane; i < p.C; i += 32) o[i] = expf(x[i] - m) * inv;
}

struct MeanParams {
  const float* x;
  float* out;
  i64 outer, n, inner;
};

// out[o, i] = mean_k x[o, k, i].
GM_KERNEL void gm_mean_axis(const MeanParams p) {
  const i64 total = p.outer * p.inner;
  for (i64 j = (i64)blockIdx.x * blockDim.x + threadIdx.x; j < total; j += (i64)gridDim.x * blockDim.x) {
    const i64 o = j / p.inner, in = j % p.inner;
    const float* x = p.x + o * p.n * p.inner + in;
    float s = 0.f;
    for (i64 k = 0; k < p.n; ++k) s += x[k * p.inner];
    p.out[j] = s / (float)p.n;
  }
}
