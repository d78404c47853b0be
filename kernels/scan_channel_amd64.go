//go:build amd64 && !noasm

package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

// scanChannel is scanChannelGo's contract with the amd64 kernels. For
// N = 16 it computes Δ (softplus) and the SiLU gate for a block of steps
// with vector code, then runs the recurrence with asm.ScanStates16
// (AVX2+FMA, vectorised over the 16 states). Other N, CPUs without AVX2,
// the noasm tag and GOMAMBA_NOASM=1 take scanChannelGo.
func scanChannel(sc *scanScratch, h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	if len(h) != 16 || !asm.Enabled() {
		scanChannelGo(h, a, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
		return
	}
	dSkip = sc.begin(z, dSkip, hasD)
	dt, gate := &sc.dt, &sc.gate
	for t0 := 0; t0 < len(u); t0 += scanBlock {
		t1 := min(len(u), t0+scanBlock)
		n := t1 - t0
		scanBlockDelta(dt[:n], delta[t0:t1], dBias, softplus) // before out (may alias delta) is written
		if z != nil {
			asm.Silu(gate[:n], z[t0:t1])
		}
		asm.ScanStates16(h, a, dt[:n], u[t0:t1], gate[:n], out[t0:t1], bt[t0*bStride:], ct[t0*cStride:], bStride, cStride, dSkip)
	}
}

// scanChannelRev is scanChannelRevStaged's contract (the chunk walked
// backwards) with the amd64 kernels. For N = 16 it computes Δ and the gate
// for a block of steps in time order, as scanChannel does, and runs the
// recurrence backwards over the block in place with asm.ScanStates16Rev,
// blocks taken from the end: no reversed copies of u, delta, z and out.
// Other N, CPUs without AVX2, the noasm tag, GOMAMBA_NOASM=1 and
// revStaged16 take scanChannelRevStaged.
func scanChannelRev(sc *scanScratch, h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	if len(h) != 16 || !asm.Enabled() || revStaged16 {
		scanChannelRevStaged(sc, h, a, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
		return
	}
	dSkip = sc.begin(z, dSkip, hasD)
	dt, gate := &sc.dt, &sc.gate
	steps := len(u)
	for s0 := 0; s0 < steps; s0 += scanBlock {
		m := min(scanBlock, steps-s0)
		lo, hi := steps-s0-m, steps-s0                        // times of this block
		scanBlockDelta(dt[:m], delta[lo:hi], dBias, softplus) // before out (may alias delta) is written
		if z != nil {
			asm.Silu(gate[:m], z[lo:hi])
		}
		asm.ScanStates16Rev(h, a, dt[:m], u[lo:hi], gate[:m], out[lo:hi], bt[s0*bStride:], ct[s0*cStride:], bStride, cStride, dSkip)
	}
}

// revStaged16 makes N = 16 reverse scans run the forward kernel over
// reversed copies of each block (scanChannelRevStaged) instead of the
// in-place reverse kernel. Off: here (AVX2) the reverse kernel is as fast as
// the forward one, while the closing note of session 3 measured the AVX-512
// reverse kernel 20-30% slower than its forward twin on the device Xeon.
// BenchmarkScanReverseStaged times both ways on the CPU it runs on (tests
// and benchmarks set it).
var revStaged16 = false

// scanChannel1 is scanChannel1Go (N = 1, VMamba v2) with Δ, the decays
// exp(Δ·a) and the SiLU gate computed by vector code for a block of steps
// at a time; the recurrence (one fused multiply-add per step) is
// asm.ScanState1. CPUs
// without AVX2, the noasm tag and GOMAMBA_NOASM=1 take scanChannel1Go.
func scanChannel1(sc *scanScratch, h []float32, a0 float32, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	if !asm.Enabled() {
		scanChannel1Go(h, a0, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
		return
	}
	dSkip = sc.begin(z, dSkip, hasD)
	dt, da, gate := &sc.dt, &sc.da, &sc.gate
	for t0 := 0; t0 < len(u); t0 += scanBlock {
		t1 := min(len(u), t0+scanBlock)
		n := t1 - t0
		var zb []float32
		if z != nil {
			zb = z[t0:t1]
		}
		decayBlock(dt[:n], da[:n], gate[:n], delta[t0:t1], zb, a0, dBias, softplus) // before out (may alias delta) is written
		asm.ScanState1(h, da[:n], dt[:n], u[t0:t1], gate[:n], out[t0:t1], bt[t0*bStride:], ct[t0*cStride:], bStride, cStride, dSkip)
	}
}
