package asm

import (
	"math/rand/v2"
	"testing"
)

// TestGateSumMatchesTwin compares GateSum with GateSumGo on lengths around
// the 16-float step (tails), with dst guarded and aliasing a, and checks
// that its gate is Silu's: (a + b)·Silu(z) bit for bit.
func TestGateSumMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 197, 200} {
		a, b, z := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range z {
			a[i], b[i] = r.Float32()*4-2, r.Float32()*4-2
			z[i] = (r.Float32()*2 - 1) * []float32{3, 30, 100}[i%3]
		}
		if n > 2 {
			z[0], z[1], z[2] = -90, 95, 0
		}
		want := make([]float32, n)
		GateSumGo(want, a, b, z)
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			GateSum(got, a, b, z)
			checkGuards(t, all, n)
			gate := make([]float32, n)
			Silu(gate, z)
			for i := range got {
				if !relClose(float64(got[i]), float64(want[i]), 1e-6, 1e-30) {
					t.Fatalf("n=%d: GateSum(%v, %v, %v) = %v, twin %v", n, a[i], b[i], z[i], got[i], want[i])
				}
				if !AVX512() && got[i] != (a[i]+b[i])*gate[i] {
					t.Fatalf("n=%d: GateSum[%d] = %v, (a+b)·Silu(z) = %v", n, i, got[i], (a[i]+b[i])*gate[i])
				}
			}
			// dst aliasing a.
			al := append([]float32(nil), a...)
			GateSum(al, al, b, z)
			for i := range al {
				if al[i] != got[i] {
					t.Fatalf("n=%d: aliased GateSum[%d] = %v, want %v", n, i, al[i], got[i])
				}
			}
		})
	}
}

func BenchmarkGateSum(b *testing.B) {
	const n = 64 * 197 // a 64-channel range of vim-tiny's (E, L) at 224²
	x, y, z, dst := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range z {
		x[i], y[i], z[i] = float32(i%7)-3, float32(i%5)-2, float32(i%11)-5
	}
	benchModes(b, func(b *testing.B) {
		b.SetBytes(4 * 4 * n)
		for b.Loop() {
			GateSum(dst, x, y, z)
		}
	})
}
