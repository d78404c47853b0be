package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// BenchmarkGELU measures exact GELU: "slice" is the single-threaded
// activation kernel (applyAct → geluSlice), "unary" the CPU backend's
// Unary(ActGELU) on a VMamba-sized activation (may use several cores).
// elem/s is elements per second of wall time.
func BenchmarkGELU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := New(1, 56, 56, 384) // VMamba-tiny stage-1 MLP hidden (4·96 channels)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64() * 2)
	}
	dst := New(1, 56, 56, 384)
	n := float64(x.Len())
	b.Run("slice", func(b *testing.B) {
		b.SetBytes(int64(4 * x.Len()))
		for b.Loop() {
			applyAct(dst.Data, x.Data, ActGELU)
		}
		b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "elem/s")
	})
	b.Run("scalar", func(b *testing.B) {
		b.SetBytes(int64(4 * x.Len()))
		for b.Loop() {
			geluSliceScalar(dst.Data, x.Data)
		}
		b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "elem/s")
	})
	b.Run("unary", func(b *testing.B) {
		b.SetBytes(int64(4 * x.Len()))
		for b.Loop() {
			CPU().Unary(dst, x, ActGELU)
		}
		b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "elem/s")
	})
}

// geluSliceScalar is the scalar geluSlice this package used before
// asm.Gelu (exp a block at a time via asm.Exp, the rest scalar Go), kept
// as the same-run baseline of BenchmarkGELU/scalar.
const geluBlockScalar = 256

// geluSliceScalar writes geluf(src[i]) to dst[i] (dst may alias src), with the
// exp(−z²) of erff's outer branch computed a block at a time by asm.Exp.
func geluSliceScalar(dst, src []float32) {
	var arg, e [geluBlockScalar]float32
	for i0 := 0; i0 < len(src); i0 += geluBlockScalar {
		n := min(geluBlockScalar, len(src)-i0)
		s, d := src[i0:i0+n], dst[i0:i0+n]
		ab := arg[:n]
		for i, v := range s {
			z := v * 0.70710678118654752
			ab[i] = -min(z*z, 81) // erf(9) is 1 in float32
		}
		eb := e[:n]
		asm.Exp(eb, ab)
		for i, v := range s {
			z := v * 0.70710678118654752
			az := z
			if az < 0 {
				az = -az
			}
			var r float32
			if az < 1 {
				r = erfSmall(z)
			} else {
				if az > 9 {
					az = 9
				}
				t := 1 / (1 + 0.3275911*az)
				q := float32(1.061405429)
				q = q*t - 1.453152027
				q = q*t + 1.421413741
				q = q*t - 0.284496736
				q = q*t + 0.254829592
				r = 1 - q*t*eb[i]
				if z < 0 {
					r = -r
				}
			}
			d[i] = 0.5 * v * (1 + r)
		}
	}
}
