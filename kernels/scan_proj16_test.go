package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// TestSelectiveScanDeltaProjN16 checks SelectiveScanDeltaProj's N = 16
// path (scanProjN16: Δ projected per channel and chunk) against the MatMul
// of each group into Delta followed by SelectiveScan: Mamba's and Vim's
// layout (one group, dt rank 12, time-varying B and C) and grouped ones,
// forwards and reversed, with and without z/D/bias/softplus, LastState,
// Accumulate, chunks of 256 steps (L 600), batches, 1 and 2 goroutines.
// With the SIMD kernels DeltaRow sums like the GEMM micro-kernel, so the
// outputs and states are bit-equal; the Go twins agree to rounding.
func TestSelectiveScanDeltaProjN16(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	for _, c := range []struct {
		bt, d, l, g, rk int
		opts            bool
	}{
		{1, 40, 197, 1, 12, true},
		{2, 24, 600, 1, 5, true},
		{1, 32, 70, 2, 3, false},
		{2, 16, 33, 4, 1, true},
	} {
		for _, rev := range []bool{false, true} {
			for _, procs := range []int{1, 2} {
				acc := procs == 2 // Out += y on the two-goroutine runs
				name := fmt.Sprintf("%+v/rev=%v/procs=%d/acc=%v", c, rev, procs, acc)
				t.Run(name, func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					a := randScan(r, c.bt, c.d, c.l, 16, "grp", "var", c.g, c.opts)
					a.Reverse, a.Accumulate = rev, acc
					w, low := rndT(r, 0.5, c.d, c.rk), rndT(r, 1, c.bt, c.g, c.rk, c.l)
					if !c.opts { // no softplus: keep Δ ≥ 0, as randScan does
						for _, t := range []*Tensor{w, low} {
							for i, v := range t.Data {
								t.Data[i] = 0.3 * float32(math.Abs(float64(v)))
							}
						}
					}
					projectDelta(a.Delta, w, low)
					init := rndT(r, 1, a.Out.Shape()...)
					copy(a.Out.Data, init.Data)
					CPU().SelectiveScan(a)
					f := *a
					f.Delta, f.Out, f.LastState = nil, init.Clone(), New(a.LastState.Shape()...)
					CPU().(DeltaProjScanner).SelectiveScanDeltaProj(&f, w, low)
					atol, rtol := 0.0, 0.0
					if !asm.Enabled() {
						atol, rtol = 1e-6, 1e-5
					}
					closeTo(t, "out", f.Out.Data, f64(a.Out.Data), atol, rtol)
					closeTo(t, "last_state", f.LastState.Data, f64(a.LastState.Data), atol, rtol)
				})
			}
		}
	}
}

// BenchmarkSelectiveScanDeltaProjN16 times one direction of a vim-tiny
// mixer at 224² (E = 384 channels, 197 tokens, N = 16, dt rank 12) with Δ
// projected inside the scan, against dt_proj as MatMul then SelectiveScan,
// on one goroutine (as Vim's balanced branches run them).
func BenchmarkSelectiveScanDeltaProjN16(b *testing.B) {
	r := rand.New(rand.NewPCG(93, 94))
	const e, l, rk = 384, 197, 12
	a := randScan(r, 1, e, l, 16, "var", "var", 1, true)
	a.LastState = nil
	w, low := rndT(r, 0.5, e, rk), rndT(r, 1, 1, rk, l)
	be := CPUSerial()
	elems := float64(e * l * 16)
	b.Run("fused", func(b *testing.B) {
		f := *a
		f.Delta = nil
		for b.Loop() {
			be.(DeltaProjScanner).SelectiveScanDeltaProj(&f, w, low.Reshape(1, 1, rk, l))
		}
		b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gupd/s")
	})
	b.Run("matmul", func(b *testing.B) {
		for b.Loop() {
			be.MatMul(a.Delta, w, low, false, false)
			be.SelectiveScan(a)
		}
		b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gupd/s")
	})
}
