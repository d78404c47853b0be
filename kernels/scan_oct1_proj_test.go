package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestSelectiveScanDeltaProj checks the scan with Δ projected inside it
// against the MatMul of each group into Delta followed by SelectiveScan:
// VMamba's layout (two groups of directions, grouped B and C, softplus,
// skip and bias, forward and reverse, 49 to 600 steps over several blocks,
// batches, 1 and 2 goroutines) on the fused path, and the fallback (N = 2,
// channels not a multiple of eight, no softplus, the N = 1 path switched
// off), overwriting Out or (Accumulate) adding to it. The fused Δ sums
// like the micro-kernel, so the outputs agree to rounding.
func TestSelectiveScanDeltaProj(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	for _, c := range []struct {
		bt, d, l, n, g, rk int
		opts, oct          bool
	}{
		{1, 32, 196, 1, 2, 6, true, true},
		{2, 48, 49, 1, 2, 3, true, true},
		{1, 16, 600, 1, 2, 24, true, true},
		{1, 16, 300, 1, 4, 5, false, true}, // no softplus: fallback
		{1, 12, 40, 1, 2, 4, true, true},   // 12 channels: fallback
		{1, 16, 40, 2, 2, 4, true, true},   // N = 2: fallback
		{1, 16, 100, 1, 2, 6, true, false}, // N = 1 octets off: fallback
	} {
		for _, rev := range []bool{false, true} {
			for _, procs := range []int{1, 2} {
				acc := procs == 2 // Out += y on the two-goroutine runs
				name := fmt.Sprintf("%+v/rev=%v/procs=%d/acc=%v", c, rev, procs, acc)
				t.Run(name, func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					if !c.oct {
						useOct1 = false
						defer func() { useOct1 = true }()
					}
					a := randScan(r, c.bt, c.d, c.l, c.n, "grp", "grp", c.g, c.opts)
					a.Reverse, a.LastState = rev, nil
					w, low := rndT(r, 0.5, c.d, c.rk), rndT(r, 1, c.bt, c.g, c.rk, c.l)
					projectDelta(a.Delta, w, low)
					a.Accumulate = acc
					init := rndT(r, 1, a.Out.Shape()...)
					copy(a.Out.Data, init.Data)
					CPU().SelectiveScan(a)
					want := a.Out.Clone()
					got := init.Clone()
					f := *a
					f.Delta, f.Out = nil, got
					CPU().(DeltaProjScanner).SelectiveScanDeltaProj(&f, w, low)
					closeTo(t, "out", got.Data, f64(want.Data), 1e-6, 1e-5)
				})
			}
		}
	}
}

// projectDelta writes the reference Δ of SelectiveScanDeltaProj into delta
// (Bt, D, L): for each batch row and group, the group's rows of w (D, R)
// times its low-rank rows low (Bt, G, R, L), as one Sgemm.
func projectDelta(delta, w, low *Tensor) {
	bt, d, l := delta.Dim(0), delta.Dim(1), delta.Dim(2)
	g, rk := low.Dim(1), low.Dim(2)
	per := d / g
	for b := range bt {
		for gi := range g {
			Sgemm(false, false, per, l, rk, 1, w.Data[gi*per*rk:], rk, low.Data[(b*g+gi)*rk*l:], l,
				0, delta.Data[(b*d+gi*per)*l:], l)
		}
	}
}

// BenchmarkSelectiveScanDeltaProj times vmamba-tiny's stage-1 and stage-3
// scans (one direction pair: 2·Di channels, dt rank R) with Δ projected
// inside the scan, against dt_proj as MatMul then SelectiveScan.
func BenchmarkSelectiveScanDeltaProj(b *testing.B) {
	defer HoldWorkers()()
	r := rand.New(rand.NewPCG(83, 84))
	for _, s := range []struct{ di, l, rk int }{{96, 3136, 6}, {384, 196, 24}} {
		a := randScan(r, 1, 2*s.di, s.l, 1, "grp", "grp", 2, true)
		a.LastState = nil
		w, low := rndT(r, 0.5, 2, s.di, s.rk), rndT(r, 1, 2, s.rk, s.l)
		Prepack(CPU(), w)
		elems := float64(2 * s.di * s.l)
		b.Run(fmt.Sprintf("L%d_Di%d_R%d/fused", s.l, s.di, s.rk), func(b *testing.B) {
			f := *a
			f.Delta = nil
			for b.Loop() {
				CPU().(DeltaProjScanner).SelectiveScanDeltaProj(&f, w.Reshape(2*s.di, s.rk), low.Reshape(1, 2, s.rk, s.l))
			}
			b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		// VMamba's reverse pair: backwards, adding into the forward
		// pair's output.
		b.Run(fmt.Sprintf("L%d_Di%d_R%d/fused-reverse-accumulate", s.l, s.di, s.rk), func(b *testing.B) {
			f := *a
			f.Delta, f.Reverse, f.Accumulate = nil, true, true
			for b.Loop() {
				CPU().(DeltaProjScanner).SelectiveScanDeltaProj(&f, w.Reshape(2*s.di, s.rk), low.Reshape(1, 2, s.rk, s.l))
			}
			b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
		b.Run(fmt.Sprintf("L%d_Di%d_R%d/matmul", s.l, s.di, s.rk), func(b *testing.B) {
			for b.Loop() {
				CPU().MatMul(a.Delta.Reshape(2, s.di, s.l), w, low, false, false)
				CPU().SelectiveScan(a)
			}
			b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
