// Strided copy: serves Permute, Flip and CopyBox. The box of the given size is
// walked in row-major order; element idx goes from src + sbase + sum idx_k *
// sstride_k to dst + dbase + sum idx_k * dstride_k (strides may be negative).
#include "common.cuh"

#define COPY_MAX_RANK 8

struct CopyParams {
  const float* src;
  float* dst;
  i64 n, rank, sbase, dbase;
  i64 size[COPY_MAX_RANK];
  i64 sstride[COPY_MAX_RANK];
  i64 dstride[COPY_MAX_RANK];
};

GM_KERNEL void gm_strided_copy(const CopyParams p) {
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
