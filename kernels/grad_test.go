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
