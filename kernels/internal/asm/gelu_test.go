package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// geluRef is the float64 exact GELU.
func geluRef(x float32) float64 {
	v := float64(x)
	return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
}

// geluInputs returns edge values and random values over the whole float32
// range (log-uniform magnitudes) and around the branch point |x| = √2.
func geluInputs(rng *rand.Rand) []float32 {
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, -1e-38, 1e-20, -1e-20,
		1.4142135, -1.4142135, 1.4142137, -1.4142137, 1, -1, 3, -3, 5.5, -5.5, 12.7, -12.7, 13, -13,
		100, -100, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for range 20000 {
		xs = append(xs, float32(rng.NormFloat64()*3))
		m := math.Exp(rng.Float64()*180 - 100) // 4e-44 .. 2e34
		if rng.IntN(2) == 0 {
			m = -m
		}
		xs = append(xs, float32(m))
		xs = append(xs, float32(1.4142135623730951+(rng.Float64()-0.5)*1e-3)*float32(1-2*rng.IntN(2)))
	}
	return xs
}

// geluClose reports whether got is within the accuracy class of the float32
// erf: rel·|want| plus the erf error 0.5·|x|·erfTol (which dominates in the
// negative tail, where 1 + erf cancels).
func geluClose(got float32, want float64, x float32, rel, erfTol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	if math.IsInf(want, 0) {
		return float64(got) == want
	}
	d := math.Abs(float64(got) - want)
	return d <= rel*math.Abs(want)+0.5*math.Abs(float64(x))*erfTol+1.5e-45 // + one subnormal step
}

func TestGeluMatchesTwinAndReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := geluInputs(rng)
	got := make([]float32, len(xs))
	twin := make([]float32, len(xs))
	Gelu(got, xs)
	GeluGo(twin, xs)
	var worstTwin, worstRef, worstPos float64
	var worstAt float32
	for i, x := range xs {
		ref := geluRef(x)
		// twin vs asm: a few ulp of the result and of erf.
		if !geluClose(got[i], float64(twin[i]), x, 3e-7, 4.8e-7) {
			t.Errorf("Gelu(%g) = %g, twin %g", x, got[i], twin[i])
		}
		for _, v := range []float32{got[i], twin[i]} {
			// erf error ≤ 1.5e−7 (A–S 7.1.26) plus float32 rounding.
			if !geluClose(v, ref, x, 3e-7, 3e-7) {
				t.Errorf("Gelu(%g) = %g, float64 reference %g", x, v, ref)
			}
		}
		if math.IsNaN(ref) || math.IsInf(ref, 0) || math.Abs(ref) < 0x1p-126 { // subnormal results have no relative accuracy
			continue
		}
		if r := math.Abs(float64(got[i])-float64(twin[i])) / math.Abs(ref); r > worstTwin {
			worstTwin = r
		}
		r := math.Abs(float64(got[i])-ref) / math.Abs(ref)
		worstRef = max(worstRef, r)
		if x >= 0 {
			if r > worstPos {
				worstPos, worstAt = r, x
			}
		}
	}
	t.Logf("Gelu: max rel diff to twin %.3g; to float64 erf %.3g overall, %.3g for x ≥ 0 (at %g)", worstTwin, worstRef, worstPos, worstAt)
	if worstPos > 2e-7 {
		t.Errorf("Gelu relative error %.3g for x ≥ 0, want ≤ 2e-7", worstPos)
	}
	// Exact special values.
	in := []float32{0, float32(math.Inf(1)), float32(math.NaN())}
	out := make([]float32, 3)
	Gelu(out, in)
	if out[0] != 0 || !math.IsInf(float64(out[1]), 1) || !math.IsNaN(float64(out[2])) {
		t.Errorf("Gelu(0, +Inf, NaN) = %v", out)
	}
}

func TestGeluTailsAndGuards(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const guard = float32(-12345.5)
	for n := 0; n <= 67; n++ {
		for _, alias := range []bool{false, true} {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 4)
			}
			want := make([]float32, n)
			GeluGo(want, src)
			buf := make([]float32, n+2)
			buf[0], buf[n+1] = guard, guard
			dst := buf[1 : n+1]
			in := src
			if alias {
				copy(dst, src)
				in = dst
			}
			Gelu(dst, in)
			if buf[0] != guard || buf[n+1] != guard {
				t.Fatalf("n=%d alias=%v: guard overwritten: %v %v", n, alias, buf[0], buf[n+1])
			}
			for i := range n {
				if !geluClose(dst[i], float64(want[i]), src[i], 3e-7, 4.8e-7) {
					t.Errorf("n=%d alias=%v i=%d: Gelu(%g) = %g, twin %g", n, alias, i, src[i], dst[i], want[i])
				}
			}
		}
	}
}

func TestGeluNoSIMDIsTwin(t *testing.T) {
	prev := SetEnabled(false)
	defer SetEnabled(prev)
	xs := geluInputs(rand.New(rand.NewPCG(5, 6)))
	got, want := make([]float32, len(xs)), make([]float32, len(xs))
	Gelu(got, xs)
	GeluGo(want, xs)
	for i := range xs {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("SIMD off: Gelu(%g) = %g, twin %g", xs[i], got[i], want[i])
		}
	}
}

func BenchmarkGelu(b *testing.B) {
	src := make([]float32, 1<<14)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 2)
	}
	dst := make([]float32, len(src))
	benchModes(b, func(b *testing.B) {
		b.SetBytes(int64(4 * len(src)))
		for b.Loop() {
			Gelu(dst, src)
		}
		b.ReportMetric(float64(b.N)*float64(len(src))/b.Elapsed().Seconds(), "elem/s")
	})
}
