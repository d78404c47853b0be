package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// flipL returns a copy of t flipped along its last axis (nil and rank-2
// time-invariant tensors are returned as they are).
func flipL(t *Tensor) *Tensor {
	if t == nil || t.Rank() < 3 {
		return t
	}
	f := New(t.Shape()...)
	CPU().Flip(f, t, t.Rank()-1)
	return f
}

// TestSelectiveScanReverse checks ScanArgs.Reverse against its definition:
// flip the time-varying operands, scan forward (float64 reference), flip
// the output back; and against the CPU forward scan of the flipped inputs.
func TestSelectiveScanReverse(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	be := CPU()
	for _, c := range []scanCase{
		{1, 1, 1, 16, "var", "var", 1, true},
		{2, 3, 5, 16, "var", "var", 1, false},
		{1, 4, 7, 4, "inv", "inv", 1, true},
		{2, 5, 9, 3, "inv", "var", 1, true},
		{2, 8, 33, 16, "grp", "grp", 4, true},
		{1, 40, 197, 16, "var", "var", 1, true},  // vim-tiny's length
		{2, 12, 700, 16, "grp", "var", 2, true},  // several chunks, the last partial
		{1, 3, 1100, 5, "var", "var", 1, true},   // chunk not a multiple of N
		{1, 2, 600, 3000, "var", "var", 1, true}, // N beyond the stack scratch
		{2, 8, 300, 1, "grp", "grp", 4, true},    // N = 1
		{1, 4, 50, 1, "inv", "var", 1, true},
		{2, 6, 20, 1, "var", "inv", 1, false},
		{1, 6, 777, 1, "grp", "var", 2, false},
		{2, 16, 600, 1, "grp", "grp", 2, true}, // N = 1, four channels at a time
		{1, 13, 70, 1, "var", "var", 1, false},
		{1, 40, 4096, 16, "var", "var", 1, true}, // large enough for touchNext
	} {
		name := fmt.Sprintf("%d_%d_%d_%d_%s_%s_g%d_%v", c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts)
		t.Run(name, func(t *testing.T) {
			a := randScan(r, c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts)
			f := *a
			f.U, f.Delta, f.Z, f.B, f.C = flipL(a.U), flipL(a.Delta), flipL(a.Z), flipL(a.B), flipL(a.C)
			f.Out, f.LastState = New(a.Out.Shape()...), New(a.LastState.Shape()...)
			wantOut, wantLast := scanRef64(&f)
			be.SelectiveScan(&f) // forward scan of the flipped operands

			a.Reverse = true
			be.SelectiveScan(a)
			got := flipL(a.Out)
			closeTo(t, "out vs float64 ref", got.Data, wantOut, 2e-5, 2e-5)
			closeTo(t, "last_state vs float64 ref", a.LastState.Data, wantLast, 2e-6, 2e-5)
			closeTo(t, "out vs forward scan of flipped", got.Data, f64(f.Out.Data), 1e-6, 1e-6)
			closeTo(t, "last_state vs forward scan of flipped", a.LastState.Data, f64(f.LastState.Data), 1e-6, 1e-6)
		})
	}
}

// TestSelectiveScanReverseAliased runs a reverse scan whose Out aliases U
// (allowed by the CPU scan) and compares it with a non-aliased run.
func TestSelectiveScanReverseAliased(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, n := range []int{16, 1, 4} {
		a := randScan(r, 1, 5, 600, n, "var", "var", 1, true)
		a.Reverse = true
		CPU().SelectiveScan(a)
		b := *a
		b.U = a.U.Clone()
		b.Out = b.U
		b.LastState = New(a.LastState.Shape()...)
		CPU().SelectiveScan(&b)
		closeTo(t, fmt.Sprintf("N=%d out aliasing u", n), b.Out.Data, f64(a.Out.Data), 0, 0)
	}
}

func TestConv1dReverse(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	be := CPU()
	for _, c := range []struct{ bt, d, l, k int }{{1, 1, 1, 4}, {2, 3, 5, 4}, {1, 7, 2, 4}, {3, 5, 33, 3}, {2, 9, 64, 1}, {1, 4, 197, 4}} {
		x := rndT(r, 2, c.bt, c.d, c.l)
		w := rndT(r, 1, c.d, c.k)
		bias := rndT(r, 1, c.d)
		for _, act := range []Activation{ActNone, ActSiLU} {
			for _, bb := range []*Tensor{nil, bias} {
				y := New(x.Shape()...)
				be.Conv1dReverse(y, x, w, bb, act)
				want := New(x.Shape()...)
				be.Conv1dCausal(want, flipL(x), w, bb, act)
				closeTo(t, fmt.Sprintf("Conv1dReverse %v %v vs flipped causal", c, act), y.Data, f64(flipL(want).Data), 0, 0)
				ref := conv1dRef(flipL(x), w, bb, act)
				closeTo(t, fmt.Sprintf("Conv1dReverse %v %v vs float64 ref", c, act), flipL(y).Data, ref, 1e-5, 1e-5)
			}
		}
	}
	mustPanic(t, "kernels: Conv1dReverse:", func() { be.Conv1dReverse(New(1, 2, 3), New(1, 2, 3), New(3, 4), nil, ActNone) })
}

func TestReverseInto(t *testing.T) {
	for n := range 40 {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i + 1)
		}
		dst := make([]float32, n+2)
		dst[n], dst[n+1] = -1, -1 // guards
		reverseInto(dst, src)
		for i := range n {
			if dst[i] != float32(n-i) {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], n-i)
			}
		}
		if dst[n] != -1 || dst[n+1] != -1 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

// TestCPUSerial checks that the serial CPU backend computes what CPU()
// does (bit for bit) on sizes that CPU() splits over goroutines.
func TestCPUSerial(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	par, ser := CPU(), CPUSerial()
	if ser.Name() != "cpu" {
		t.Fatalf("CPUSerial().Name() = %q", ser.Name())
	}
	a, b := rndT(r, 1, 300, 200), rndT(r, 1, 250, 200)
	run := func(be Backend) []*Tensor {
		mm := New(300, 250)
		be.MatMul(mm, a, b, false, true)
		lin := New(300, 250)
		be.Linear(lin, a, b, b.Reshape(-1).Narrow0(0, 250))
		x := rndT(rand.New(rand.NewPCG(1, 1)), 1, 2, 64, 900)
		cv := New(x.Shape()...)
		be.Conv1dReverse(cv, x, rndT(rand.New(rand.NewPCG(2, 2)), 1, 64, 4), nil, ActSiLU)
		sa := randScan(rand.New(rand.NewPCG(3, 3)), 2, 64, 300, 16, "var", "var", 1, true)
		be.SelectiveScan(sa)
		ln := New(300, 200)
		be.LayerNorm(ln, a, nil, nil, 1e-5)
		sm := New(300, 200)
		be.Softmax(sm, a)
		return []*Tensor{mm, lin, cv, sa.Out, sa.LastState, ln, sm}
	}
	want, got := run(par), run(ser)
	for i := range want {
		closeTo(t, fmt.Sprintf("output %d", i), got[i].Data, f64(want[i].Data), 0, 0)
	}
}

// TestScanReverseStaged16 checks the staged N = 16 reverse scan
// (revStaged16: the forward kernel over reversed blocks) against the
// in-place reverse kernel, with and without the gate, over several chunks,
// and with Δ projected in the scan.
func TestScanReverseStaged16(t *testing.T) {
	r := rand.New(rand.NewPCG(39, 40))
	for _, c := range []struct {
		d, l int
		opts bool
	}{{40, 197, true}, {40, 197, false}, {8, 700, true}, {3, 5, true}} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			a := randScan(r, 1, c.d, c.l, 16, "var", "var", 1, c.opts)
			a.Reverse = true
			CPUSerial().SelectiveScan(a)
			want, wantH := a.Out.Clone(), a.LastState.Clone()
			defer func(v bool) { revStaged16 = v }(revStaged16)
			revStaged16 = true
			CPUSerial().SelectiveScan(a)
			closeTo(t, "out", a.Out.Data, f64(want.Data), 1e-6, 1e-6)
			closeTo(t, "last_state", a.LastState.Data, f64(wantH.Data), 1e-6, 1e-6)
		})
	}
}

// BenchmarkScanReverseStaged times one reverse direction of a vim-tiny
// mixer at 224² (384 channels × 197 steps, N = 16, one goroutine) with the
// in-place reverse kernel and staged (the forward kernel over reversed
// copies), beside the forward scan, ungated as Vim's CPU path runs them
// and gated: which reverse way is faster depends on the CPU's kernels
// (revStaged16).
func BenchmarkScanReverseStaged(b *testing.B) {
	r := rand.New(rand.NewPCG(41, 42))
	a := randScan(r, 1, 384, 197, 16, "var", "var", 1, true)
	a.LastState = nil
	for _, gated := range []bool{false, true} {
		for _, way := range []string{"forward", "inplace", "staged"} {
			b.Run(fmt.Sprintf("gated=%v/%s", gated, way), func(b *testing.B) {
				f := *a
				if !gated {
					f.Z = nil
				}
				f.Reverse = way != "forward"
				defer func(v bool) { revStaged16 = v }(revStaged16)
				revStaged16 = way == "staged"
				for b.Loop() {
					CPUSerial().SelectiveScan(&f)
				}
				b.ReportMetric(float64(384*197*16)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gupd/s")
			})
		}
	}
}
