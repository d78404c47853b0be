package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv1dStepExact steps a zero state through odd shapes and tap counts
// and requires every output to equal the full causal conv's column bit for
// bit (both sum the taps in the same order and share the vector SiLU), and
// the state to hold the last K inputs.
func TestConv1dStepExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	be := CPU()
	for _, c := range []struct{ bt, d, l, k int }{{1, 1, 5, 4}, {1, 1537, 6, 4}, {3, 17, 9, 4}, {2, 5, 7, 1}, {2, 7, 8, 2}, {1, 33, 5, 3}, {2, 3, 9, 5}} {
		x := rndT(r, 2, c.bt, c.d, c.l)
		w := rndT(r, 1, c.d, c.k)
		bias := rndT(r, 1, c.d)
		for _, act := range []Activation{ActNone, ActSiLU, ActGELU} {
			for _, bb := range []*Tensor{nil, bias} {
				name := fmt.Sprintf("%+v %v bias=%v", c, act, bb != nil)
				full := New(x.Shape()...)
				be.Conv1dCausal(full, x, w, bb, act)
				state := stepConv1d(be, x, w, bb, act, func(tt int, yt *Tensor) {
					for i, v := range yt.Data {
						if want := full.Data[i*c.l+tt]; math.Float32bits(v) != math.Float32bits(want) && !(v == 0 && want == 0) {
							t.Fatalf("%s t=%d row %d: step %v, full conv %v", name, tt, i, v, want)
						}
					}
				})
				for i := range c.bt * c.d {
					for j := range c.k {
						tt := c.l - c.k + j
						var want float32
						if tt >= 0 {
							want = x.Data[i*c.l+tt]
						}
						if got := state.Data[i*c.k+j]; got != want {
							t.Fatalf("%s: state[%d][%d] = %v, want x[%d] = %v", name, i, j, got, tt, want)
						}
					}
				}
			}
		}
	}
}

// stepConv1d steps a zero (Bt, D, K) state through the L tokens of x
// (Bt, D, L) with Conv1dStep, hands each token's output to check and
// returns the final state.
func stepConv1d(be Backend, x, w, bias *Tensor, act Activation, check func(tt int, y *Tensor)) *Tensor {
	bt, d, l := x.Dim(0), x.Dim(1), x.Dim(2)
	state := New(bt, d, w.Dim(1))
	xt, yt := New(bt, d), New(bt, d)
	for tt := range l {
		for i := range bt * d {
			xt.Data[i] = x.Data[i*l+tt]
		}
		be.Conv1dStep(yt, state, xt, w, bias, act)
		check(tt, yt)
	}
	return state
}

// BenchmarkConv1dStep times one decode step of the depthwise conv at Mamba
// LM shapes (batch 1, K = 4, SiLU; d_inner 1536 = mamba-130m, 5120 =
// mamba-2.8b). Bytes: the state read and written, x, w, bias and dst.
func BenchmarkConv1dStep(b *testing.B) {
	for _, d := range []int{1536, 5120} {
		b.Run(fmt.Sprintf("d%d", d), func(b *testing.B) {
			const k = 4
			r := rand.New(rand.NewPCG(3, 4))
			state, x, w, bias := rndT(r, 1, 1, d, k), rndT(r, 1, 1, d), rndT(r, 1, d, k), rndT(r, 1, d)
			dst := New(1, d)
			be := CPU()
			b.SetBytes(int64(4 * (2*d*k + d + d*k + 2*d)))
			for b.Loop() {
				be.Conv1dStep(dst, state, x, w, bias, ActSiLU)
			}
		})
	}
}
