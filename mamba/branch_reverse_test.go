package mamba

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestBranchReverse checks Branch.Reverse against its definition: flip x
// and z along L, run the causal branch, flip y back; Prefill's conv and scan
// states are those of the causal branch on the flipped sequence.
func TestBranchReverse(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	be := kernels.CPU()
	rnd := func(scale float64, shape ...int) *kernels.Tensor {
		x := kernels.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(r.NormFloat64() * scale)
		}
		return x
	}
	flip := func(x *kernels.Tensor) *kernels.Tensor {
		f := kernels.New(x.Shape()...)
		be.Flip(f, x, 2)
		return f
	}
	for _, c := range []struct{ bt, e, l, n, rank, k int }{{1, 8, 197, 16, 2, 4}, {2, 5, 3, 4, 1, 4}, {1, 6, 40, 1, 2, 3}} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			b := Branch{
				ConvW: rnd(0.5, c.e, c.k), ConvB: rnd(0.1, c.e), XProj: rnd(0.3, c.rank+2*c.n, c.e),
				DTProjW: rnd(0.5, c.e, c.rank), DTProjB: rnd(0.1, c.e), ALog: rnd(0.5, c.e, c.n), D: rnd(1, c.e),
				DTRank: c.rank, DState: c.n,
			}
			b.A = NegExpA(be, b.ALog)
			if err := b.Check(); err != nil {
				t.Fatal(err)
			}
			x, z := rnd(1, c.bt, c.e, c.l), rnd(1, c.bt, c.e, c.l)

			want, wantConv, wantSSM := kernels.New(x.Shape()...), kernels.New(c.bt, c.e, c.k), kernels.New(c.bt, c.e, c.n)
			b.Prefill(be, NewWorkspace(), want, flip(x), flip(z), wantConv, wantSSM)
			want = flip(want)

			rb := b
			rb.Reverse = true
			got, gotConv, gotSSM := kernels.New(x.Shape()...), kernels.New(c.bt, c.e, c.k), kernels.New(c.bt, c.e, c.n)
			rb.Prefill(be, NewWorkspace(), got, x, z, gotConv, gotSSM)
			for _, p := range []struct {
				name      string
				want, got *kernels.Tensor
			}{{"y", want, got}, {"conv state", wantConv, gotConv}, {"ssm state", wantSSM, gotSSM}} {
				if d := maxDiff(t, p.name, p.want, p.got); d > 1e-5 {
					t.Errorf("%s: max |reverse − flip·forward·flip| = %g", p.name, d)
				}
			}
		})
	}
}
