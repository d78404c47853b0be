// Elementwise ops: activations, broadcast add/mul (b repeats over a's leading
// dimensions), scaling. Grid-stride loops over int64 indices.
#include "common.cuh"

struct UnaryParams {
  const float* x;
  float* out;
  i64 n, act, scale_bits;
};

GM_KERNEL void gm_unary(const UnaryParams p) {
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (i64)gridDim.x * blockDim.x)
    p.out[i] = gm_act((int)p.act, p.x[i]);
}

GM_KERNEL void gm_scale(const UnaryParams p) {
  const float s = __int_as_float((int)p.scale_bits);
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (i64)gridDim.x * blockDim.x)
    p.out[i] = s * p.x[i];
}

struct BinaryParams {
  const float *a, *b;
  float* out;
  i64 n, nb, mul;
};

// out[i] = a[i] (+ or *) b[i % nb].
GM_KERNEL void gm_binary(const BinaryParams p) {
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (i64)gridDim.x * blockDim.x) {
    const float bv = p.nb == p.n ? p.b[i] : p.b[i % p.nb];
    p.out[i] = p.mul ? p.a[i] * bv : p.a[i] + bv;
  }
}
