package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGeluSliceAccuracy checks the CPU backend's Unary(ActGELU) (geluSlice
// → asm.Gelu) against the float64 definition 0.5·x·(1+erf(x/√2)) and the
// scalar geluf: within 2e−7 relative for x ≥ 0 (normal results), and
// within 3e−7 relative plus 0.5·|x|·3e−7 (the erf approximation's absolute
// error, which dominates where 1+erf cancels for x ≪ 0) everywhere.
func TestGeluSliceAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 1e-30, -1e-30, 1.4142135, -1.4142135,
		6, -6, 13, -13, 1e30, -1e30, float32(math.Inf(1)), float32(math.NaN())}
	for range 50000 {
		xs = append(xs, float32(rng.NormFloat64()*3))
		m := math.Exp(rng.Float64()*160 - 80)
		if rng.IntN(2) == 0 {
			m = -m
		}
		xs = append(xs, float32(m))
	}
	x, err := FromSlice(xs, len(xs))
	if err != nil {
		t.Fatal(err)
	}
	dst := New(len(xs))
	CPU().Unary(dst, x, ActGELU)
	var worstPos float64
	var at float32
	for i, v := range xs {
		got := dst.Data[i]
		want := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Errorf("gelu(%g) = %g, want NaN", v, got)
			}
			continue
		}
		if math.IsInf(want, 0) {
			if float64(got) != want {
				t.Errorf("gelu(%g) = %g, want %g", v, got, want)
			}
			continue
		}
		d := math.Abs(float64(got) - want)
		if d > 3e-7*math.Abs(want)+0.5*math.Abs(float64(v))*3e-7+1.5e-45 {
			t.Errorf("gelu(%g) = %g, float64 reference %g", v, got, want)
		}
		if s := geluf(v); math.Abs(float64(s)-float64(got)) > 3e-7*math.Abs(want)+0.5*math.Abs(float64(v))*5e-7+1.5e-45 {
			t.Errorf("gelu(%g) = %g, scalar geluf %g", v, got, s)
		}
		if v >= 0 && math.Abs(want) >= 0x1p-126 {
			if r := d / math.Abs(want); r > worstPos {
				worstPos, at = r, v
			}
		}
	}
	t.Logf("Unary(ActGELU): max relative error %.3g for x ≥ 0 (at %g)", worstPos, at)
	if worstPos > 2e-7 {
		t.Errorf("Unary(ActGELU): relative error %.3g at %g, want ≤ 2e-7", worstPos, at)
	}
}
