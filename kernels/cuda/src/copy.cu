// Strided copy: serves Permute, Flip and CopyBox. The box of the given size is
// walked in row-major order; element idx goes from src + sbase + sum idx_k *
// sstride_k to dst + dbase + sum idx_k * dstride_k (strides may be negative).
#include "common.cuh"

#define COPY_MAX_RANK 8

struct CopyParams {
  const float* src;
  float* dst;
  i64 n, rank, sbase, dbase, small;
  i64 size[COPY_MAX_RANK];
  i64 sstride[COPY_MAX_RANK];
  i64 dstride[COPY_MAX_RANK];
};

// small: every index and offset fits in 32 bits (cheaper division).
GM_KERNEL void gm_strided_copy(const CopyParams p) {
  if (p.small) {
    const int rank = (int)p.rank;
    const unsigned n = (unsigned)p.n;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
      unsigned r = i;
      int so = (int)p.sbase, dof = (int)p.dbase;
      for (int k = rank - 1; k >= 0; --k) {
        const unsigned sz = (unsigned)p.size[k];
        const int idx = (int)(r % sz);
        r /= sz;
        so += idx * (int)p.sstride[k];
        dof += idx * (int)p.dstride[k];
      }
      p.dst[dof] = p.src[so];
    }
    return;
  }
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (i64)gridDim.x * blockDim.x) {
    i64 r = i, so = p.sbase, dof = p.dbase;
    for (int k = (int)p.rank - 1; k >= 0; --k) {
      const i64 idx = r % p.size[k];
      r /= p.size[k];
      so += idx * p.sstride[k];
      dof += idx * p.dstride[k];
    }
    p.dst[dof] = p.src[so];
  }
}

// Flip: dst[o, i, k] = src[o, n-1-i, k] for a (outer, n, inner) view of a
// contiguous tensor. vec: inner % 4 == 0 and 16-byte aligned pointers, so
// units are float4 (inner counts floats either way).
struct FlipParams {
  const float* src;
  float* dst;
  i64 outer, n, inner, vec;
};

template <typename V, typename I>
__device__ __forceinline__ void flip_body(const V* __restrict__ src, V* __restrict__ dst, I outer, I n, I inner) {
  const I total = outer * n * inner;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    const I k = i % inner, r = i / inner;
    const I j = r % n, o = r / n;
    dst[i] = src[(o * n + (n - 1 - j)) * inner + k];
  }
}

// inner == 1: reverse each row of n.
template <typename I>
__device__ __forceinline__ void flip_rows(const float* __restrict__ src, float* __restrict__ dst, I outer, I n) {
  const I total = outer * n;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    const I o = i / n, j = i - o * n;
    dst[i] = src[o * n + (n - 1 - j)];
  }
}

GM_KERNEL void gm_flip(const FlipParams p) {
  const i64 inner = p.vec ? p.inner / 4 : p.inner;
  const bool small = p.outer * p.n * inner < (1ll << 31);
  if (p.inner == 1) {
    if (small) {
      flip_rows<unsigned>(p.src, p.dst, (unsigned)p.outer, (unsigned)p.n);
    } else {
      flip_rows<i64>(p.src, p.dst, p.outer, p.n);
    }
  } else if (p.vec) {
    const float4* s = reinterpret_cast<const float4*>(p.src);
    float4* d = reinterpret_cast<float4*>(p.dst);
    if (small) {
      flip_body<float4, unsigned>(s, d, (unsigned)p.outer, (unsigned)p.n, (unsigned)inner);
    } else {
      flip_body<float4, i64>(s, d, p.outer, p.n, inner);
    }
  } else if (small) {
    flip_body<float, unsigned>(p.src, p.dst, (unsigned)p.outer, (unsigned)p.n, (unsigned)inner);
  } else {
    flip_body<float, i64>(p.src, p.dst, p.outer, p.n, inner);
  }
}

// Batched transpose through 32x32 shared-memory tiles: dst[b, c, r] =
// src[b, r, c] with src (batch, rows, cols). Block 32x8 threads, grid
// (ceil(cols/32), ceil(rows/32), batch), batch walked in steps of gridDim.z.
struct TransposeParams {
  const float* src;
  float* dst;
  i64 batch, rows, cols;
};

GM_KERNEL void __launch_bounds__(256) gm_transpose(const TransposeParams p) {
  __shared__ float tile[32][33];
  const int tx = threadIdx.x & 31, ty = threadIdx.x >> 5;
  const i64 R = p.rows, C = p.cols;
  const i64 c0 = (i64)blockIdx.x * 32, r0 = (i64)blockIdx.y * 32;
  // This block's tile, as offsets from the batch's start (a matrix is
  // below 2^31 elements: the Go side sends larger ones to gm_strided_copy).
  const int Ri = (int)R, Ci = (int)C;
  const int rIn = (int)r0 + ty, cIn = (int)c0 + tx;   // load: rows rIn + k
  const int cOut = (int)c0 + ty, rOut = (int)r0 + tx; // store: cols cOut + k
  for (i64 b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const float* __restrict__ s = p.src + b * R * C;
    float* __restrict__ d = p.dst + b * R * C;
#pragma unroll
    for (int k = 0; k < 32; k += 8) {
      if (rIn + k < Ri && cIn < Ci) tile[ty + k][tx] = s[(rIn + k) * Ci + cIn];
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < 32; k += 8) {
      if (cOut + k < Ci && rOut < Ri) d[(cOut + k) * Ri + rOut] = tile[tx][ty + k];
    }
    __syncthreads();
  }
}
