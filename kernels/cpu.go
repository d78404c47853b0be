package kernels

import (
	"fmt"
	"sync"
)

// CPU returns the CPU backend: every op runs on host tensors (Tensor.Data)
// with plain Go loops, parallelised over rows or channels with Parallel, and
// linear algebra goes through Sgemm. The returned value is stateless and safe
// for concurrent use by goroutines that do not write the same tensors.
func CPU() Backend { return cpuBackend{} }

// CPUSerial returns the CPU backend with every op run on the calling
// goroutine (no worker goroutines, whatever the size), for callers that
// parallelise at a coarser grain: Vim runs its two branches on two
// goroutines, each with CPUSerial, which saves the fork and join of every
// op. Its Name is "cpu", and it is safe for concurrent use like CPU().
func CPUSerial() Backend { return cpuBackend{serial: true} }

// cpuBackend implements Backend on host memory.
type cpuBackend struct {
	serial bool // run every op inline (CPUSerial)
}

// inline reports whether an op over n items of the given grain runs on the
// calling goroutine.
func (cb cpuBackend) inline(n, grain int) bool { return cb.serial || serialWork(n, grain) }

// par is Parallel, or fn(0, n) inline for the serial backend.
func (cb cpuBackend) par(n, grain int, fn func(lo, hi int)) {
	if cb.serial {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	Parallel(n, grain, fn)
}

func (cb cpuBackend) Name() string { return "cpu" }

func (cb cpuBackend) New(shape ...int) *Tensor { return New(shape...) }

func (cb cpuBackend) FromHost(t *Tensor) *Tensor {
	if t.Data == nil && t.Len() > 0 {
		panic(fmt.Sprintf("kernels: FromHost: %v is not a host tensor", t))
	}
	return t
}

func (cb cpuBackend) ToHost(t *Tensor) *Tensor {
	if t.Data == nil && t.Len() > 0 {
		panic(fmt.Sprintf("kernels: ToHost: %v is not a host tensor", t))
	}
	return t
}

func (cb cpuBackend) Free(*Tensor) {}

func (cb cpuBackend) Sync() error { return nil }

// shp formats a possibly nil tensor's shape for panic messages.
func shp(t *Tensor) string {
	if t == nil {
		return "nil"
	}
	return fmt.Sprint(t.shape)
}

// host panics unless every non-nil tensor has host storage.
func host(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t != nil && t.Data == nil && t.Len() > 0 {
			panic(fmt.Sprintf("kernels: %s: %v is not a host tensor (the CPU backend computes on Data)", op, t))
		}
	}
}

// panicf panics with a "kernels: <op>: ..." message.
func panicf(op, format string, args ...any) {
	panic("kernels: " + op + ": " + fmt.Sprintf(format, args...))
}

// elemGrain is the number of elements below which elementwise ops run on
// one goroutine (spawning costs about a microsecond).
const elemGrain = 1 << 15

// rowGrain returns the Parallel grain for rows of the given length so that
// each chunk holds at least elemGrain elements.
func rowGrain(rowLen int) int { return max(1, elemGrain/max(rowLen, 1)) }

// scratchPool recycles float32 scratch buffers (im2col, LayerNorm2d).
var scratchPool sync.Pool

// getScratch returns a buffer of length n from the pool.
func getScratch(n int) *[]float32 {
	if p, ok := scratchPool.Get().(*[]float32); ok {
		if cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	s := make([]float32, n)
	return &s
}

func putScratch(p *[]float32) { scratchPool.Put(p) }
