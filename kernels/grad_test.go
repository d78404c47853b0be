package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// fdCheck compares an analytic gradient with central finite differences of
// loss() with respect to every element of x (float64 throughout).
func fdCheck(t *testing.T, name string, x, analytic []float64, loss func() float64) {
	t.Helper()
	const h = 1e-6
	worst := 0.0
	for i := range x {
		old := x[i]
		x[i] = old + h
		lp := loss()
		x[i] = old - h
		lm := loss()
		x[i] = old
		num := (lp - lm) / (2 * h)
		err := math.Abs(num-analytic[i]) / math.Max(1, math.Abs(num))
		worst = math.Max(worst, err)
		if err > 1e-6 {
			t.Errorf("%s[%d]: analytic %.9g, finite difference %.9g", name, i, analytic[i], num)
			return
		}
	}
	t.Logf("%s: %d entries, worst relative error %.2g", name, len(x), worst)
}

func randSlice(r *rand.Rand, n int, scale float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = r.NormFloat64() * scale
	}
	return s
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestLinearGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, n, k := 3, 5, 4
	x, w, b := randSlice(r, m*k, 1), randSlice(r, n*k, 1), randSlice(r, n, 1)
	proj := randSlice(r, m*n, 1)
	y := make([]float64, m*n)
	loss := func() float64 { LinearForward(y, x, w, b, m, n, k); return dot(y, proj) }
	dx, dw, db := make([]float64, m*k), make([]float64, n*k), make([]float64, n)
	LinearBackward(dx, dw, db, proj, x, w, m, n, k)
	fdCheck(t, "dx", x, dx, loss)
	fdCheck(t, "dw", w, dw, loss)
	fdCheck(t, "db", b, db, loss)
}

func TestRMSNormGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n := 3, 7
	x, w, proj := randSlice(r, m*n, 1), randSlice(r, n, 1), randSlice(r, m*n, 1)
	y, rstd := make([]float64, m*n), make([]float64, m)
	loss := func() float64 { RMSNormForward(y, rstd, x, w, m, n, 1e-5); return dot(y, proj) }
	loss()
	dx, dw := make([]float64, m*n), make([]float64, n)
	RMSNormBackward(dx, dw, proj, x, w, rstd, m, n)
	fdCheck(t, "dx", x, dx, loss)
	fdCheck(t, "dw", w, dw, loss)
}

func TestCausalConvGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range []int{1, 2, 9} {
		e, k := 3, 4
		x, w, b, proj := randSlice(r, e*l, 1), randSlice(r, e*k, 1), randSlice(r, e, 1), randSlice(r, e*l, 1)
		y := make([]float64, e*l)
		loss := func() float64 { CausalConvForward(y, x, w, b, e, l, k); return dot(y, proj) }
		dx, dw, db := make([]float64, e*l), make([]float64, e*k), make([]float64, e)
		CausalConvBackward(dx, dw, db, proj, x, w, e, l, k)
		fdCheck(t, "dx", x, dx, loss)
		fdCheck(t, "dw", w, dw, loss)
		fdCheck(t, "db", b, db, loss)
	}
}

func TestScanChannelGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		l, n     int
		gate     bool
		softplus bool
	}{{1, 4, true, true}, {13, 4, true, true}, {9, 16, false, true}, {11, 3, true, false}} {
		l, n := tc.l, tc.n
		s := &ScanChannel[float64]{
			U: randSlice(r, l, 1), Delta: randSlice(r, l, 0.5), B: randSlice(r, n*l, 1), C: randSlice(r, n*l, 1),
			A: make([]float64, n), D: r.NormFloat64(), DeltaBias: -2 + r.Float64(), Softplus: tc.softplus, L: l, N: n,
		}
		if !tc.softplus {
			for i := range s.Delta {
				s.Delta[i] = math.Abs(s.Delta[i])
			}
			s.DeltaBias = 0.1 * r.Float64()
		}
		for i := range s.A {
			s.A[i] = -float64(i+1) * (0.5 + r.Float64())
		}
		if tc.gate {
			s.Z = randSlice(r, l, 1)
		}
		proj := randSlice(r, l, 1)
		out, hs := make([]float64, l), make([]float64, l*n)
		loss := func() float64 { s.Forward(out, nil, nil); return dot(out, proj) }
		das := make([]float64, l*n)
		s.Forward(out, hs, das)
		var dD, dBias float64
		g := &ScanChannelGrad[float64]{
			DU: make([]float64, l), DDelta: make([]float64, l), DZ: make([]float64, l),
			DA: make([]float64, n), DB: make([]float64, n*l), DC: make([]float64, n*l), DD: &dD, DDeltaBias: &dBias,
		}
		s.Backward(g, proj, hs, das, make([]float64, n))
		fdCheck(t, "du", s.U, g.DU, loss)
		fdCheck(t, "ddelta", s.Delta, g.DDelta, loss)
		fdCheck(t, "dA", s.A, g.DA, loss)
		fdCheck(t, "dB", s.B, g.DB, loss)
		fdCheck(t, "dC", s.C, g.DC, loss)
		if tc.gate {
			fdCheck(t, "dz", s.Z, g.DZ, loss)
		}
		dv := []float64{s.D}
		fdCheck(t, "dD", dv, []float64{dD}, func() float64 { s.D = dv[0]; return loss() })
		bias := []float64{s.DeltaBias}
		fdCheck(t, "ddelta_bias", bias, []float64{dBias}, func() float64 { s.DeltaBias = bias[0]; return loss() })
	}
}

// TestScanChannel32MatchesGeneric checks the float32 specialisation against
// the generic definition evaluated in float64.
func TestScanChannel32MatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		l, n       int
		gate, soft bool
	}{{1, 1, true, true}, {50, 8, true, true}, {33, 16, false, true}, {7, 3, true, false}, {20, 70, true, true}} {
		l, n := tc.l, tc.n
		s64 := &ScanChannel[float64]{U: randSlice(r, l, 1), Delta: randSlice(r, l, 0.5), B: randSlice(r, n*l, 1), C: randSlice(r, n*l, 1),
			A: make([]float64, n), D: r.NormFloat64(), DeltaBias: -2 + r.Float64(), Softplus: tc.soft, L: l, N: n}
		if !tc.soft {
			for i := range s64.Delta {
				s64.Delta[i] = math.Abs(s64.Delta[i])
			}
			s64.DeltaBias = 0.05
		}
		for i := range s64.A {
			s64.A[i] = -float64(i+1) * 0.5
		}
		if tc.gate {
			s64.Z = randSlice(r, l, 1)
		}
		to32 := func(v []float64) []float32 {
			if v == nil {
				return nil
			}
			o := make([]float32, len(v))
			for i := range v {
				o[i] = float32(v[i])
			}
			return o
		}
		back := func(v []float32) []float64 {
			o := make([]float64, len(v))
			for i := range v {
				o[i] = float64(v[i])
			}
			return o
		}
		// round the float64 inputs to float32 so both see the same values
		for _, v := range [][]float64{s64.U, s64.Delta, s64.B, s64.C, s64.A, s64.Z} {
			copy(v, back(to32(v)))
		}
		s32 := &ScanChannel[float32]{U: to32(s64.U), Delta: to32(s64.Delta), Z: to32(s64.Z), B: to32(s64.B), C: to32(s64.C), A: to32(s64.A),
			D: float32(s64.D), DeltaBias: float32(s64.DeltaBias), Softplus: tc.soft, L: l, N: n}
		s64.D, s64.DeltaBias = float64(s32.D), float64(s32.DeltaBias)
		dout := randSlice(r, l, 1)
		o64, h64, a64 := make([]float64, l), make([]float64, l*n), make([]float64, l*n)
		o32, h32, a32 := make([]float32, l), make([]float32, l*n), make([]float32, l*n)
		s64.Forward(o64, h64, a64)
		s32.Forward(o32, h32, a32)
		var d64, b64 float64
		var d32, b32 float32
		g64 := &ScanChannelGrad[float64]{DU: make([]float64, l), DDelta: make([]float64, l), DZ: make([]float64, l), DA: make([]float64, n), DB: make([]float64, n*l), DC: make([]float64, n*l), DD: &d64, DDeltaBias: &b64}
		g32 := &ScanChannelGrad[float32]{DU: make([]float32, l), DDelta: make([]float32, l), DZ: make([]float32, l), DA: make([]float32, n), DB: make([]float32, n*l), DC: make([]float32, n*l), DD: &d32, DDeltaBias: &b32}
		s64.Backward(g64, dout, h64, a64, make([]float64, n))
		s32.Backward(g32, to32(dout), h32, a32, make([]float32, n))
		for _, c := range []struct {
			name string
			a    []float64
			b    []float32
		}{{"out", o64, o32}, {"du", g64.DU, g32.DU}, {"ddelta", g64.DDelta, g32.DDelta}, {"dA", g64.DA, g32.DA},
			{"dB", g64.DB, g32.DB}, {"dC", g64.DC, g32.DC}, {"dD", []float64{d64}, []float32{d32}}, {"dbias", []float64{b64}, []float32{b32}}} {
			for i := range c.a {
				if d := math.Abs(c.a[i] - float64(c.b[i])); d > 2e-4*math.Max(1, math.Abs(c.a[i])) {
					t.Fatalf("L=%d N=%d %s[%d]: float64 %.7g, float32 %.7g", l, n, c.name, i, c.a[i], c.b[i])
				}
			}
		}
		if tc.gate {
			for i := range g64.DZ {
				if d := math.Abs(g64.DZ[i] - float64(g32.DZ[i])); d > 2e-4*math.Max(1, math.Abs(g64.DZ[i])) {
					t.Fatalf("dz[%d]: %.7g vs %.7g", i, g64.DZ[i], g32.DZ[i])
				}
			}
		}
	}
}
