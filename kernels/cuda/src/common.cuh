// Shared helpers of the gomamba CUDA kernels. Every kernel is extern "C" so
// the Go side finds it by a plain name; every kernel takes its operands as one
// parameter struct whose fields are all 8 bytes wide (pointers and int64), so
// the Go side packs it as a flat array of uint64.
#pragma once

typedef long long i64;

#define GM_KERNEL extern "C" __global__

// Activation ids: must equal kernels.Activation in Go (kernels/backend.go).
enum {
  ACT_NONE = 0,
  ACT_SILU = 1,
  ACT_GELU = 2,
  ACT_GELU_TANH = 3,
  ACT_SOFTPLUS = 4,
  ACT_EXP = 5,
  ACT_SIGMOID = 6,
  ACT_RELU = 7,
  ACT_NEGEXP = 8,
};

// PyTorch softplus (beta 1, threshold 20).
__device__ __forceinline__ float gm_softplus(float x) {
  return x <= 20.f ? log1pf(expf(x)) : x;
}

__device__ __forceinline__ float gm_silu(float x) { return x / (1.f + expf(-x)); }

__device__ __forceinline__ float gm_act(int act, float x) {
  switch (act) {
    case ACT_SILU:
      return gm_silu(x);
    case ACT_GELU:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case ACT_GELU_TANH:
      return 0.5f * x * (1.f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ACT_SOFTPLUS:
      return gm_softplus(x);
    case ACT_EXP:
      return expf(x);
    case ACT_SIGMOID:
      return 1.f / (1.f + expf(-x));
    case ACT_RELU:
      return x > 0.f ? x : 0.f;
    case ACT_NEGEXP:
      return -expf(x);
    default:
      return x;
  }
}

// 2^x with the hardware approximation (relative error about 2^-22), as the
// official selective-scan kernel's exp2f on a log2(e)-scaled A.
__device__ __forceinline__ float gm_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Asynchronous 4-byte global->shared copy (sm_80+), its group commit and wait.
__device__ __forceinline__ void gm_cp_async4(float* smem, const float* g) {
  unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(s), "l"(g));
}
__device__ __forceinline__ void gm_cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void gm_cp_wait1() { asm volatile("cp.async.wait_group 1;\n" ::); }

__device__ __forceinline__ float gm_warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float gm_warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
