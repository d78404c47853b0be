package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// TestConv4MatchesScalar checks that asm.Conv4 and asm.Conv4Rev, which
// conv1dRows runs for K = 4, equal the scalar conv4 and conv4Rev bit for
// bit (the decode step's Conv1dStep is kept bit-equal to those).
func TestConv4MatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	for _, n := range []int{1, 3, 5, 11, 12, 19, 33, 197, 1025} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		w := []float32{float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())}
		b := float32(r.NormFloat64())
		want, got := make([]float32, n), make([]float32, n)
		conv4(want, x, w, b)
		asm.Conv4(got, x, w, b)
		closeTo(t, fmt.Sprintf("n=%d causal", n), got, f64(want), 0, 0)
		conv4Rev(want, x, w, b)
		asm.Conv4Rev(got, x, w, b)
		closeTo(t, fmt.Sprintf("n=%d anti-causal", n), got, f64(want), 0, 0)
	}
}

// BenchmarkConv1dVim times one direction's conv1d + SiLU of a vim-tiny
// mixer at 224² (384 channels × 197 tokens, K = 4), causal and reverse,
// on one goroutine.
func BenchmarkConv1dVim(b *testing.B) {
	r := rand.New(rand.NewPCG(55, 56))
	x, w, bias, y := rndT(r, 1, 1, 384, 197), rndT(r, 1, 384, 4), rndT(r, 1, 384), New(1, 384, 197)
	for _, rev := range []bool{false, true} {
		b.Run(fmt.Sprintf("rev=%v", rev), func(b *testing.B) {
			b.SetBytes(8 * int64(x.Len()))
			for b.Loop() {
				if rev {
					CPUSerial().Conv1dReverse(y, x, w, bias, ActSiLU)
				} else {
					CPUSerial().Conv1dCausal(y, x, w, bias, ActSiLU)
				}
			}
		})
	}
}
