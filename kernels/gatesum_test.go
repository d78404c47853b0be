package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGateSum checks the CPU backend's GateSum against its definition,
// (a + b)·silu(z) with SiLU in float64, within 1e-6 relative, on sizes with
// SIMD tails, with dst aliasing a, serial and on several goroutines.
func TestGateSum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, shape := range [][]int{{1}, {3, 5}, {1, 64, 197}, {2, 33, 70}, {1, 384, 197}} {
		for _, be := range []Backend{CPU(), CPUSerial()} {
			t.Run(fmt.Sprintf("%v/%s", shape, map[bool]string{true: "serial", false: "par"}[be == CPUSerial()]), func(t *testing.T) {
				a, b, z := randTensor(r, shape...), randTensor(r, shape...), randTensor(r, shape...)
				for i := range z.Data {
					z.Data[i] *= 8
				}
				want := make([]float64, a.Len())
				for i, v := range z.Data {
					want[i] = float64(a.Data[i]+b.Data[i]) * float64(v) / (1 + math.Exp(-float64(v)))
				}
				dst := New(shape...)
				be.(GateSummer).GateSum(dst, a, b, z)
				closeTo(t, "dst", dst.Data, want, 1e-30, 1e-6)
				be.(GateSummer).GateSum(a, a, b, z) // dst aliasing a
				closeTo(t, "aliased", a.Data, f64(dst.Data), 0, 0)
			})
		}
	}
}

// BenchmarkGateSum times the gated sum of one vim-tiny mixer at 224²
// (E = 384 channels × 197 tokens) against the Add and the second SiLU pass
// it replaces (a scan gates each direction itself: the Unary stands for
// that SiLU).
func BenchmarkGateSum(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y, z, dst := randTensor(r, 1, 384, 197), randTensor(r, 1, 384, 197), randTensor(r, 1, 384, 197), New(1, 384, 197)
	be := CPUSerial()
	b.Run("GateSum", func(b *testing.B) {
		b.SetBytes(16 * int64(x.Len()))
		for b.Loop() {
			be.(GateSummer).GateSum(dst, x, y, z)
		}
	})
	b.Run("Add+SiLU", func(b *testing.B) {
		b.SetBytes(16 * int64(x.Len()))
		for b.Loop() {
			be.Add(dst, x, y)
			be.Unary(dst, z, ActSiLU)
		}
	})
}
