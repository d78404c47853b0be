// Package cuda is the NVIDIA GPU backend of gomamba: a kernels.Backend whose
// tensors live in device memory, so model code written against
// kernels.Backend runs unchanged on a GPU.
//
// No CUDA toolkit is needed to build or run it. The driver library
// (libcuda.so.1) is opened at run time with dlopen, and the kernels — the
// selective scan and its one-token step, causal depthwise conv1d, grouped
// conv2d, RMSNorm/LayerNorm/LayerNorm2d, activations, broadcast add/mul,
// softmax, mean, permute/flip/copy-box and a tiled SGEMM — are CUDA C++
// sources in src/ compiled to PTX (kernels.ptx, made by gen.sh with
// nvcc -ptx -arch=compute_80 and embedded), which the driver compiles for
// the GPU at Open (compute capability 8.0 or newer). A test checks that the
// embedded PTX carries the sha256 of the committed sources.
//
// GEMMs (Linear, MatMul) and dense convolutions (as im2col + GEMM) run on
// cuBLAS, loaded at run time like the driver (libcublas.so.13/.12, or
// $GOMAMBA_CUBLAS); without it they fall back to the built-in SGEMM kernel
// with a one-line notice. SetPrecision picks fp32 (the default, exact), tf32
// or bf16 tensor-core GEMMs; storage, accumulation and every other op stay
// fp32 (docs/gpu.md has the measured differences). GOMAMBA_CUDA_PROFILE=1
// times every op with CUDA events (ProfileReport).
//
// Open returns an error wrapping ErrNoDevice when the machine has no driver
// or GPU, and builds without cgo report ErrNotBuilt; callers then fall back
// to kernels.CPU(). Every driver failure is an *Error carrying the CUDA error
// name.
//
// Memory: tensors are allocated from a caching allocator (size-bucketed
// free lists). Backend.Free returns a tensor's memory to the cache at once;
// tensors that are never freed return when the garbage collector finds them
// unreachable. All work runs in order on one CUDA stream, so reuse of a
// freed buffer never races with queued work. EmptyCache gives cached memory
// back to the driver; New panics with an *Error only when the device is out
// of memory even after that.
//
// Concurrency: a Backend may be used by several goroutines at once as long
// as they do not write the same tensors (the kernels.Backend rule); ops are
// asynchronous and ordered by call; ToHost and Sync wait, and Sync reports
// the first error met by any op.
//
// LM decoding: the one-token step has fused kernels (src/decode.cu: GEMV with
// RMSNorm/residual folded in, the conv-state step, dt_proj + softplus + state
// update) and Capture records a step's work as a Graph replayed with one
// launch (package mamba uses both; see mamba.DecodeAuto).
//
// Measured on an NVIDIA H200 (NOTES.md and docs/gpu.md have the tables): the
// scan matches the official selective_scan_ref fixtures to under 1e-6
// absolute; at Bt=64, D=384, N=16, L=4096 the split-state kernel runs in
// 1.0 ms, 1632 GB/s against a 4257 GB/s device-to-device copy in the same run
// (38%; its exp2/reciprocal work bounds it near 83%). A scan with too few
// channels to fill the GPU (vim-tiny's 1248² passes: Bt 16 × 384 channels,
// L 6085) is cut into segments over L run side by side, a first pass
// carrying each segment's end state to the next (0.62 against 0.70 ms per
// call). vim-tiny classifies 5807 images/s at 224x224 in batches of 128 in
// fp32 and 8157 with bf16 GEMMs (session 4), and a mamba-130m-shaped LM
// decodes 1233 tokens/s at batch 1.
package cuda
