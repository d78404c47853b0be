// Package kernels is gomamba's one compute core: the float32 Tensor, the
// Backend interface that every model family is written against, the CPU
// backend (pure-Go reference loops, with amd64 SIMD for the hot paths in
// kernels/internal/asm) and THE selective scan.
//
// Every fast path has a plain Go twin whose loop is its definition; tests
// compare the two on random and edge-case shapes. Package kernels/cuda
// provides the NVIDIA backend.
//
// Example:
//
//	be := kernels.CPU()
//	x := kernels.New(2, 8)
//	w := kernels.New(4, 8)
//	y := be.New(2, 4)
//	be.Linear(y, x, w, nil)
package kernels
