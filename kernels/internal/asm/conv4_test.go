package asm

import (
	"math/rand/v2"
	"testing"
)

// TestConv4MatchesTwin compares Conv4 and Conv4Rev with their twins bit for
// bit on lengths around the kernel's eight-output step and edges, with o
// guarded.
func TestConv4MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	w := []float32{0.5, -1.25, 0.75, -0.3}
	for _, n := range []int{0, 1, 2, 3, 4, 7, 10, 11, 12, 18, 19, 20, 27, 64, 197, 200} {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.Float32()*8 - 4
		}
		for _, rev := range []bool{false, true} {
			want := make([]float32, n)
			if rev {
				Conv4RevGo(want, x, w, 0.125)
			} else {
				Conv4Go(want, x, w, 0.125)
			}
			bothWays(t, func(t *testing.T) {
				got, all := guarded(n)
				if rev {
					Conv4Rev(got, x, w, 0.125)
				} else {
					Conv4(got, x, w, 0.125)
				}
				checkGuards(t, all, n)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("n=%d rev=%v: o[%d] = %v, twin %v", n, rev, i, got[i], want[i])
					}
				}
			})
		}
	}
}

func BenchmarkConv4(b *testing.B) {
	const n = 197 // vim-tiny's tokens at 224²
	x, o, w := make([]float32, n), make([]float32, n), []float32{0.5, -1.25, 0.75, -0.3}
	for i := range x {
		x[i] = float32(i%9) - 4
	}
	benchModes(b, func(b *testing.B) {
		b.SetBytes(8 * n)
		for b.Loop() {
			Conv4(o, x, w, 0.1)
			Conv4Rev(o, x, w, 0.1)
		}
	})
}
