package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// scanRef64 is the float64 definition of SelectiveScan (selective_scan_ref):
// it returns out (Bt, D, L) and last_state (Bt, D, N).
func scanRef64(a *ScanArgs) (out, last []float64) {
	bt, d, l := a.U.Dim(0), a.U.Dim(1), a.U.Dim(2)
	n := a.A.Dim(1)
	sel := func(t *Tensor, b, c, i, s int) float64 {
		switch t.Rank() {
		case 2:
			return float64(t.Data[c*n+i])
		case 3:
			return float64(t.Data[(b*n+i)*l+s])
		}
		g := t.Dim(1)
		return float64(t.Data[((b*g+c/(d/g))*n+i)*l+s])
	}
	out = make([]float64, bt*d*l)
	last = make([]float64, bt*d*n)
	for b := range bt {
		for c := range d {
			h := last[(b*d+c)*n : (b*d+c+1)*n]
			for s := range l {
				k := (b*d+c)*l + s
				dt := float64(a.Delta.Data[k])
				if a.DeltaBias != nil {
					dt += float64(a.DeltaBias.Data[c])
				}
				if a.DeltaSoftplus && dt <= 20 {
					dt = math.Log1p(math.Exp(dt))
				}
				u := float64(a.U.Data[k])
				y := 0.0
				for i := range n {
					h[i] = math.Exp(dt*float64(a.A.Data[c*n+i]))*h[i] + dt*sel(a.B, b, c, i, s)*u
					y += h[i] * sel(a.C, b, c, i, s)
				}
				if a.D != nil {
					y += u * float64(a.D.Data[c])
				}
				if a.Z != nil {
					z := float64(a.Z.Data[k])
					y *= z / (1 + math.Exp(-z))
				}
				out[k] = y
			}
		}
	}
	return out, last
}

// scanCase is a SelectiveScan test case as randScan takes it: Bt, D, L,
// N, the layouts of B and C ("inv" (D, N), "var" (Bt, N, L), otherwise
// grouped (Bt, G, N, L)), G, and opts (D, z, Δ bias and softplus).
type scanCase struct {
	bt, d, l, n  int
	bKind, cKind string
	g            int
	opts         bool
}

// randScan builds random scan operands shaped like Mamba's (A < 0, Δ from
// a softplus of a small value).
func randScan(r *rand.Rand, bt, d, l, n int, bKind, cKind string, g int, opts bool) *ScanArgs {
	bc := func(kind string) *Tensor {
		switch kind {
		case "inv":
			return rndT(r, 1, d, n)
		case "var":
			return rndT(r, 1, bt, n, l)
		}
		return rndT(r, 1, bt, g, n, l)
	}
	a := &ScanArgs{
		U: rndT(r, 1, bt, d, l), Delta: rndT(r, 1.5, bt, d, l), A: New(d, n),
		B: bc(bKind), C: bc(cKind), DeltaSoftplus: opts,
		Out: New(bt, d, l), LastState: New(bt, d, n),
	}
	for i := range a.A.Data {
		a.A.Data[i] = -float32(float64(1+i%n) + r.Float64())
	}
	if opts {
		a.D, a.Z, a.DeltaBias = rndT(r, 1, d), rndT(r, 2, bt, d, l), rndT(r, 1, d)
		for i := range a.DeltaBias.Data {
			a.DeltaBias.Data[i] -= 3 // dt ≈ softplus(-3) ≈ 0.05, as Mamba's init
		}
	} else {
		for i := range a.Delta.Data {
			a.Delta.Data[i] = float32(math.Abs(float64(a.Delta.Data[i]))) * 0.3
		}
	}
	return a
}

func TestSelectiveScanRef64(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	be := CPU()
	for _, c := range []scanCase{
		{1, 1, 1, 1, "var", "var", 1, true},
		{2, 3, 5, 16, "var", "var", 1, false},
		{1, 4, 7, 4, "inv", "inv", 1, true},
		{2, 5, 9, 3, "inv", "var", 1, true},
		{2, 8, 33, 16, "grp", "grp", 4, true},
		{1, 6, 19, 8, "var", "grp", 3, false},
		{1, 300, 40, 16, "var", "var", 1, true},  // one channel block
		{1, 600, 20, 16, "var", "var", 1, true},  // channel blocks of 512
		{2, 12, 700, 16, "grp", "var", 2, true},  // chunks of 256 steps
		{1, 3, 1100, 5, "var", "var", 1, true},   // chunk not a multiple of N
		{1, 2, 3, 3000, "var", "var", 1, true},   // N beyond the stack scratch
		{3, 129, 260, 16, "grp", "grp", 3, true}, // blocks straddling groups and batches
		{2, 8, 300, 1, "grp", "grp", 4, true},    // N = 1 (VMamba v2)
		{1, 4, 50, 1, "inv", "var", 1, true},
		{2, 6, 20, 1, "var", "inv", 1, false},
		{2, 6, 5000, 1, "grp", "var", 2, false},
		{1, 96, 2, 1, "grp", "grp", 4, true}, // B/C smaller than D (regression: VMamba's last stage)
		{1, 64, 3, 16, "grp", "var", 4, true},
	} {
		name := fmt.Sprintf("%d_%d_%d_%d_%s_%s_g%d_%v", c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts)
		t.Run(name, func(t *testing.T) {
			a := randScan(r, c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts)
			wantOut, wantLast := scanRef64(a)
			be.SelectiveScan(a)
			closeTo(t, "out", a.Out.Data, wantOut, 2e-5, 2e-5)
			closeTo(t, "last_state", a.LastState.Data, wantLast, 2e-6, 2e-5)
			var md float64
			for i, v := range a.Out.Data {
				md = max(md, math.Abs(float64(v)-wantOut[i]))
			}
			t.Logf("max |out − float64 ref| = %.3g", md)
		})
	}
}

// TestScanThenSteps checks that a scan over L tokens followed by T single
// steps equals one scan over L+T tokens (spec §4).
func TestScanThenSteps(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	be := CPU()
	for _, c := range []struct {
		bt, d, l, T, n, g int
	}{{2, 6, 9, 5, 16, 1}, {1, 8, 1, 12, 4, 2}, {2, 4, 300, 3, 16, 4}, {2, 8, 40, 7, 1, 4}} {
		total := c.l + c.T
		kind := "var"
		if c.g > 1 {
			kind = "grp"
		}
		full := randScan(r, c.bt, c.d, total, c.n, kind, kind, c.g, true)
		be.SelectiveScan(full)
		// Prefix scan over the first l tokens.
		sub := func(x *Tensor) *Tensor {
			sh := append([]int(nil), x.Shape()...)
			sh[len(sh)-1] = c.l
			y := New(sh...)
			be.CopyBox(y, make([]int, len(sh)), x, make([]int, len(sh)), sh)
			return y
		}
		pre := &ScanArgs{U: sub(full.U), Delta: sub(full.Delta), A: full.A, B: sub(full.B), C: sub(full.C), D: full.D,
			Z: sub(full.Z), DeltaBias: full.DeltaBias, DeltaSoftplus: true, Out: New(c.bt, c.d, c.l), LastState: New(c.bt, c.d, c.n)}
		be.SelectiveScan(pre)
		closeTo(t, "prefix out", pre.Out.Data, f64(sub(full.Out).Data), 1e-6, 1e-6)
		state := pre.LastState
		x, dt, z, out := New(c.bt, c.d), New(c.bt, c.d), New(c.bt, c.d), New(c.bt, c.d)
		var bs, cs *Tensor
		if c.g > 1 {
			bs, cs = New(c.bt, c.g, c.n), New(c.bt, c.g, c.n)
		} else {
			bs, cs = New(c.bt, c.n), New(c.bt, c.n)
		}
		for s := c.l; s < total; s++ {
			col := func(dst, src *Tensor) {
				for i := range dst.Data {
					dst.Data[i] = src.Data[i*total+s]
				}
			}
			col(x, full.U)
			col(dt, full.Delta)
			col(z, full.Z)
			col(bs, full.B)
			col(cs, full.C)
			be.SelectiveStateUpdate(&StepArgs{State: state, X: x, DT: dt, A: full.A, B: bs, C: cs, D: full.D, Z: z,
				DTBias: full.DeltaBias, DTSoftplus: true, Out: out})
			want := make([]float64, out.Len())
			for i := range want {
				want[i] = float64(full.Out.Data[i*total+s])
			}
			closeTo(t, fmt.Sprintf("step %d", s), out.Data, want, 1e-5, 1e-5)
		}
		closeTo(t, "final state", state.Data, f64(full.LastState.Data), 1e-6, 1e-5)
	}
}

func TestSelectiveScanPanics(t *testing.T) {
	be := CPU()
	ok := func() *ScanArgs {
		return &ScanArgs{U: New(2, 4, 5), Delta: New(2, 4, 5), A: New(4, 3), B: New(2, 3, 5), C: New(2, 3, 5), Out: New(2, 4, 5)}
	}
	be.SelectiveScan(ok()) // valid
	for name, mut := range map[string]func(a *ScanArgs){
		"delta":       func(a *ScanArgs) { a.Delta = New(2, 4, 6) },
		"A":           func(a *ScanArgs) { a.A = New(3, 3) },
		"B":           func(a *ScanArgs) { a.B = New(2, 3, 4) },
		"C groups":    func(a *ScanArgs) { a.C = New(2, 3, 3, 5) },
		"z":           func(a *ScanArgs) { a.Z = New(1, 4, 5) },
		"D":           func(a *ScanArgs) { a.D = New(5) },
		"last_state":  func(a *ScanArgs) { a.LastState = New(2, 4, 4) },
		"nil B":       func(a *ScanArgs) { a.B = nil },
		"out":         func(a *ScanArgs) { a.Out = New(2, 5, 4) },
		"delta_bias":  func(a *ScanArgs) { a.DeltaBias = New(2, 4) },
		"device-less": func(a *ScanArgs) { a.U = &Tensor{shape: []int{2, 4, 5}} },
	} {
		a := ok()
		mut(a)
		t.Run(name, func(t *testing.T) { mustPanic(t, "kernels: SelectiveScan:", func() { be.SelectiveScan(a) }) })
	}
	mustPanic(t, "kernels: SelectiveStateUpdate:", func() {
		be.SelectiveStateUpdate(&StepArgs{State: New(2, 4, 3), X: New(2, 4), DT: New(2, 4), A: New(4, 3), B: New(2, 4), C: New(2, 3), Out: New(2, 4)})
	})
}

func TestSelectiveScanAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	be := CPU()
	a := randScan(r, 1, 4, 64, 16, "var", "var", 1, true) // below the parallel threshold
	if n := testing.AllocsPerRun(10, func() { be.SelectiveScan(a) }); n != 0 {
		t.Errorf("SelectiveScan (serial) allocates %v times per call, want 0", n)
	}
	st := &StepArgs{State: New(1, 4, 16), X: New(1, 4), DT: New(1, 4), A: a.A, B: New(1, 16), C: New(1, 16), D: a.D, Z: New(1, 4), DTBias: a.DeltaBias, DTSoftplus: true, Out: New(1, 4)}
	if n := testing.AllocsPerRun(10, func() { be.SelectiveStateUpdate(st) }); n != 0 {
		t.Errorf("SelectiveStateUpdate allocates %v times per call, want 0", n)
	}
	x, y, w32 := rndT(r, 1, 8, 32), New(8, 32), New(32)
	yt, m8, x4 := New(32, 8), New(8), rndT(r, 1, 1, 8, 4, 4)
	off, box, perm := []int{1, 2}, []int{3, 4}, []int{1, 0}
	c3, c3x, c3w := New(1, 8, 32), rndT(r, 1, 1, 8, 32), rndT(r, 1, 8, 4)
	for name, fn := range map[string]func(){
		"Unary": func() { be.Unary(y, x, ActSiLU) }, "Add": func() { be.Add(y, x, x) }, "Mul": func() { be.Mul(y, x, x) },
		"Scale": func() { be.Scale(y, x, 2) }, "Softmax": func() { be.Softmax(y, x) }, "RMSNorm": func() { be.RMSNorm(y, x, w32, 1e-5) },
		"LayerNorm": func() { be.LayerNorm(y, x, w32, w32, 1e-5) }, "Copy": func() { be.Copy(y, x) },
		"Permute": func() { be.Permute(yt, x, perm...) }, "Flip": func() { be.Flip(y, x, 0) }, "Mean": func() { be.Mean(m8, x, 1) },
		"CopyBox": func() { be.CopyBox(y, off, x, off, box) }, "LayerNorm2d": func() { be.LayerNorm2d(x4, x4, nil, nil, 1e-6) },
		"Conv1dCausal": func() { be.Conv1dCausal(c3, c3x, c3w, nil, ActSiLU) },
	} {
		if n := testing.AllocsPerRun(10, fn); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", name, n)
		}
	}
	// The parallel path allocates only its goroutines, a bounded number
	// independent of L.
	big := randScan(r, 1, 64, 2048, 16, "var", "var", 1, true)
	if n := testing.AllocsPerRun(3, func() { be.SelectiveScan(big) }); n > 64 {
		t.Errorf("SelectiveScan (parallel) allocates %v times per call, want a small constant", n)
	}
}

func BenchmarkSelectiveScan(b *testing.B) {
	for _, s := range []struct{ bt, d, l, n int }{{1, 384, 197, 16}, {1, 384, 4096, 16}, {2, 768, 1024, 16}} {
		b.Run(fmt.Sprintf("%dx%dx%dx%d", s.bt, s.d, s.l, s.n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a := randScan(r, s.bt, s.d, s.l, s.n, "var", "var", 1, true)
			be := CPU()
			elems := float64(s.bt * s.d * s.l * s.n)
			b.SetBytes(int64(4 * s.bt * s.d * s.l * 4)) // u, delta, z in; out
			b.ResetTimer()
			for b.Loop() {
				be.SelectiveScan(a)
			}
			b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
		})
	}
}

func BenchmarkLinear(b *testing.B) {
	// vim-tiny: 197 tokens, d_model 192, d_inner 384 (in_proj 192→768,
	// out_proj 384→192, x_proj 384→44, dt_proj 12→384, head 192→1000).
	for _, s := range []struct {
		name    string
		m, n, k int
	}{{"in_proj", 197, 768, 192}, {"out_proj", 197, 192, 384}, {"x_proj", 197, 44, 384}, {"dt_proj", 197, 384, 12}, {"head", 1, 1000, 192}} {
		b.Run(fmt.Sprintf("%s_%dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 2))
			x, w, bias, y := rndT(r, 1, s.m, s.k), rndT(r, 1, s.n, s.k), rndT(r, 1, s.n), New(s.m, s.n)
			be := CPU()
			for b.Loop() {
				be.Linear(y, x, w, bias)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestTransposeChunk checks transposeChunk against its definition for
// every state count up to 9 (the four-row blocks and the leftover rows),
// both time orders and chunks inside the row, with guards after dst.
func TestTransposeChunk(t *testing.T) {
	r := rand.New(rand.NewPCG(57, 58))
	for n := 1; n <= 9; n++ {
		for _, tc := range []struct{ l, t0, t1 int }{{1, 0, 1}, {7, 0, 7}, {37, 5, 30}, {197, 0, 197}, {300, 256, 300}} {
			base := 3
			src := make([]float32, base+n*tc.l)
			for i := range src {
				src[i] = r.Float32()
			}
			for _, rev := range []bool{false, true} {
				m := tc.t1 - tc.t0
				dst := make([]float32, m*n+4)
				for i := range dst {
					dst[i] = -7
				}
				transposeChunk(dst, src, base, n, tc.l, tc.t0, tc.t1, rev)
				for tt := tc.t0; tt < tc.t1; tt++ {
					s := tt - tc.t0
					if rev {
						s = tc.t1 - 1 - tt
					}
					for i := range n {
						if got, want := dst[s*n+i], src[base+i*tc.l+tt]; got != want {
							t.Fatalf("n=%d %+v rev=%v: dst[%d·%d+%d] = %v, want %v", n, tc, rev, s, n, i, got, want)
						}
					}
				}
				for i := m * n; i < len(dst); i++ {
					if dst[i] != -7 {
						t.Fatalf("n=%d %+v rev=%v: wrote past the chunk at %d", n, tc, rev, i)
					}
				}
			}
		}
	}
}

// BenchmarkTransposeChunk measures the B/C staging of one vim-tiny scan
// call (N = 16, L = 197, reversed).
func BenchmarkTransposeChunk(b *testing.B) {
	const n, l = 16, 197
	src, dst := make([]float32, n*l), make([]float32, n*l)
	b.SetBytes(n * l * 4)
	for b.Loop() {
		transposeChunk(dst, src, 0, n, l, 0, l, true)
	}
}
