package kernels

import (
	"math"
	"testing"
)

// ulpDiff is the distance in float32 units in the last place.
func ulpDiff(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0 || ib < 0 {
		return math.MaxInt64
	}
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}

func TestFastExpf(t *testing.T) {
	worst, at := int64(0), float32(0)
	for x := float32(-100); x <= 100; x += 0.00173 {
		got, want := fastExpf(x), float32(math.Exp(float64(x)))
		if d := ulpDiff(got, want); d > worst {
			worst, at = d, x
		}
	}
	for _, x := range []float32{0, -0, 1e-30, -1e-30, -87, 88, -87.0001, 88.0001, -103, -104, -200, 89, 100} {
		got, want := fastExpf(x), float32(math.Exp(float64(x)))
		if d := ulpDiff(got, want); d > worst {
			worst, at = d, x
		}
	}
	t.Logf("fastExpf: max error %d ulp (at x = %g)", worst, at)
	if worst > 2 {
		t.Errorf("fastExpf: %d ulp at x = %g, want ≤ 2", worst, at)
	}
	if v := fastExpf(float32(math.NaN())); v == v {
		t.Errorf("fastExpf(NaN) = %v", v)
	}
	if v := fastExpf(float32(math.Inf(-1))); v != 0 {
		t.Errorf("fastExpf(-Inf) = %v", v)
	}
	if v := fastExpf(float32(math.Inf(1))); !math.IsInf(float64(v), 1) {
		t.Errorf("fastExpf(+Inf) = %v", v)
	}
}

func TestFastLogSoftplusSilu(t *testing.T) {
	worstLog, worstSp, worstSilu := int64(0), 0.0, 0.0
	for x := float32(1e-37); x < 3e38; x *= 1.0007 {
		if d := ulpDiff(fastLogf(x), float32(math.Log(float64(x)))); d > worstLog {
			worstLog = d
		}
	}
	for x := float32(-120); x <= 40; x += 0.00071 {
		want := math.Log1p(math.Exp(float64(x)))
		if x > 20 {
			want = float64(x)
		}
		got := float64(fastSoftplusf(x))
		if rel := math.Abs(got-want) / want; want > 1e-37 && rel > worstSp {
			worstSp = rel
		}
		ws := float64(x) / (1 + math.Exp(-float64(x)))
		if d := math.Abs(float64(fastSiluf(x))-ws) / math.Max(math.Abs(ws), 1e-30); d > worstSilu && math.Abs(ws) > 1e-37 {
			worstSilu = d
		}
	}
	t.Logf("fastLogf ≤ %d ulp; fastSoftplusf rel err ≤ %.3g; fastSiluf rel err ≤ %.3g", worstLog, worstSp, worstSilu)
	if worstLog > 2 || worstSp > 3e-7 || worstSilu > 3e-7 {
		t.Errorf("fast transcendental too inaccurate: log %d ulp, softplus %.3g, silu %.3g", worstLog, worstSp, worstSilu)
	}
	if v := fastSoftplusf(20.5); v != 20.5 {
		t.Errorf("fastSoftplusf(20.5) = %v, want 20.5 (threshold)", v)
	}
}

func TestErff(t *testing.T) {
	worst, at := 0.0, float32(0)
	for x := float32(-12); x <= 12; x += 0.000917 {
		want := math.Erf(float64(x))
		d := math.Abs(float64(erff(x))-want) / math.Max(math.Abs(want), 1e-30)
		if d > worst {
			worst, at = d, x
		}
	}
	t.Logf("erff: max relative error %.3g at %g", worst, at)
	if worst > 5e-7 {
		t.Errorf("erff: relative error %.3g at %g, want ≤ 5e-7", worst, at)
	}
	if erff(0) != 0 || erff(20) != 1 || erff(-20) != -1 {
		t.Errorf("erff(0, 20, -20) = %v %v %v", erff(0), erff(20), erff(-20))
	}
}
