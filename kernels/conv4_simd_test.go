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

// conv4 is the scalar reference TestConv4MatchesScalar holds asm.Conv4 to
// (conv1dRows ran it for K = 4 before the SIMD kernel), the causal 4-tap
// row: o[t] = w0·x[t−3] + w1·x[t−2] + w2·x[t−1] + w3·x[t] + b, zeros
// before t = 0, four outputs per iteration with the window in registers
// (13% faster than one at a time in an interleaved microbenchmark here).
func conv4(o, x, w []float32, b float32) {
	w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
	var x0, x1, x2 float32 // x[t−3], x[t−2], x[t−1]
	o = o[:len(x)]
	t := 0
	for ; t+4 <= len(x); t += 4 {
		v := x[t : t+4 : t+4]
		v0, v1, v2, v3 := v[0], v[1], v[2], v[3]
		d := o[t : t+4 : t+4]
		d[0] = w0*x0 + w1*x1 + w2*x2 + w3*v0 + b
		d[1] = w0*x1 + w1*x2 + w2*v0 + w3*v1 + b
		d[2] = w0*x2 + w1*v0 + w2*v1 + w3*v2 + b
		d[3] = w0*v0 + w1*v1 + w2*v2 + w3*v3 + b
		x0, x1, x2 = v1, v2, v3
	}
	for ; t < len(x); t++ {
		v := x[t]
		o[t] = w0*x0 + w1*x1 + w2*x2 + w3*v + b
		x0, x1, x2 = x1, x2, v
	}
}

// conv4Rev is the anti-causal row: o[t] = w0·x[t+3] + w1·x[t+2] +
// w2·x[t+1] + w3·x[t] + b, zeros after the end. It walks forward like
// conv4 (a descending loop ran markedly slower in the model), four outputs
// per iteration.
func conv4Rev(o, x, w []float32, b float32) {
	w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
	n := len(x)
	o = o[:n]
	var x0, x1, x2 float32 // x[t], x[t+1], x[t+2]
	if n > 0 {
		x0 = x[0]
	}
	if n > 1 {
		x1 = x[1]
	}
	if n > 2 {
		x2 = x[2]
	}
	t := 0
	for ; t+7 <= n; t += 4 { // reads x[t+3 … t+6]
		v := x[t+3 : t+7 : t+7]
		v0, v1, v2, v3 := v[0], v[1], v[2], v[3]
		d := o[t : t+4 : t+4]
		d[0] = w0*v0 + w1*x2 + w2*x1 + w3*x0 + b
		d[1] = w0*v1 + w1*v0 + w2*x2 + w3*x1 + b
		d[2] = w0*v2 + w1*v1 + w2*v0 + w3*x2 + b
		d[3] = w0*v3 + w1*v2 + w2*v1 + w3*v0 + b
		x0, x1, x2 = v1, v2, v3
	}
	for ; t < n; t++ {
		var v float32 // x[t+3], zero past the end
		if t+3 < n {
			v = x[t+3]
		}
		o[t] = w0*v + w1*x2 + w2*x1 + w3*x0 + b
		x0, x1, x2 = x1, x2, v
	}
}
