// Package kernels is gomamba's one compute core: the float32 Tensor, the
// Backend interface that every model family is written against, the CPU
// backend (pure-Go reference loops, with amd64 SIMD for the hot paths in
// kernels/internal/asm) and THE selective scan.
//
// Every fast path has a plain Go twin whose loop is its definition; tests
// compare the two on random and edge-case shapes. Package kernels/cuda
// provides the NVIDIA backend.
//
// # The CPU backend
//
// CPU() computes on host tensors (Tensor.Data). Linear and MatMul go through
// Sgemm; dense Conv2d is im2col (in bands of output rows, so the scratch
// stays within 16 MiB or one output row, whatever the image size) followed
// by Sgemm, 1×1 convolutions skip
// the im2col, and depthwise convolutions (groups == Cin == Cout) run a direct
// loop (3×3 stride-1 rows eight outputs at a time with SIMD). Row- and channel-wise ops are split over GOMAXPROCS goroutines with
// Parallel and run inline below about 32k elements of work; on that serial
// path the elementwise, norm, layout and scan ops allocate nothing.
//
// Reductions (norm statistics, Softmax and Mean sums) accumulate in float64,
// except LayerNorm2d with weight and bias (VMamba's norms), which takes two
// float32 passes over values shifted by each pixel's first channel, 8 or 16
// pixels per SIMD instruction.
// Transcendentals are float32 (fastExpf and friends, the vector SiLU and
// softplus of kernels/internal/asm: within a few ulp of the correctly
// rounded value, the accuracy of PyTorch's vectorised float32 math); exact
// GELU uses a float32 erf within 3e−7 relative. Softplus keeps PyTorch's
// threshold: x itself above 20.
//
// # The selective scan
//
// SelectiveScan follows state-spaces/mamba's selective_scan_ref operation
// for operation in float32 (sequential in time, h_0 = 0), for time-invariant
// (D, N), time-varying (Bt, N, L) and grouped (Bt, G, N, L) B and C. It
// streams over L: the only state is h, O(Bt·D·N), written to LastState when
// given; exp(Δ·A) is never stored. Channels that share B and C rows are
// processed as a block, one chunk of time at a time: the chunk of B and C
// is transposed once to time-major order in a stack buffer, then each
// channel of the block runs scanChannel (the per-channel recurrence, with
// AVX-512 and AVX2 twins for N = 16) over it. N = 1 (VMamba v2) has its own
// path: eight channels at a time, a fused vector pass per channel for Δ,
// exp(Δ·a) and Δ·u·B, the eight scalar recurrences interleaved, and a
// vector pass for the outputs (scan_oct1.go). ScanArgs.Reverse runs the
// scan backwards in time in place (at N = 16 with the backward asm kernel,
// elsewhere through a staged reversal), and Conv1dReverse is the matching
// anti-causal conv: Vim's backward branch and VMamba's reversed directions
// use them instead of flipped copies.
// The parity tests compare it with the official PyTorch outputs in
// ../shared/golden/scan (max abs diff below 1e-6).
//
// Example:
//
//	be := kernels.CPU()
//	x := kernels.New(2, 8)
//	w := kernels.New(4, 8)
//	y := be.New(2, 4)
//	be.Linear(y, x, w, nil)
package kernels
