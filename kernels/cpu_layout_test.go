package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPermuteSwapLastTwo checks Permute's transpose path (the last two axes
// swapped, the others kept) against the index-by-index reference, with
// planes of full, edge and single 8×8 tiles and enough planes to run in
// parallel.
func TestPermuteSwapLastTwo(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	be := CPU()
	for _, shape := range [][]int{{3, 7}, {8, 8}, {2, 3, 14, 14}, {1, 96, 56, 56}, {2, 2, 7, 9}, {1, 5, 1, 9}, {2, 1, 3, 17, 8}} {
		x := rndT(r, 1, shape...)
		n := len(shape)
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		perm[n-2], perm[n-1] = n-1, n-2
		if !swapsLastTwo(perm) {
			t.Fatalf("swapsLastTwo(%v) = false", perm)
		}
		dshape := append([]int(nil), shape...)
		dshape[n-2], dshape[n-1] = shape[n-1], shape[n-2]
		y := New(dshape...)
		be.Permute(y, x, perm...)
		if want := permuteRef(x, perm); !equalF32(y.Data, want) {
			t.Fatalf("Permute %v by %v differs from the reference", shape, perm)
		}
	}
	for _, p := range [][]int{{0}, {0, 1}, {1, 0, 2}, {0, 2, 1, 3}, {2, 1, 0}} {
		if swapsLastTwo(p) != (len(p) >= 2 && p[len(p)-1] == len(p)-2 && fmt.Sprint(p[:len(p)-2]) == fmt.Sprint(permIdentity(len(p)-2))) {
			t.Fatalf("swapsLastTwo(%v) wrong", p)
		}
	}
}

func permIdentity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// BenchmarkPermuteSwapLastTwo times VMamba's cross-scan transposes (stage 0
// and stage 2 maps of vmamba-tiny).
func BenchmarkPermuteSwapLastTwo(b *testing.B) {
	for _, s := range [][]int{{1, 96, 56, 56}, {1, 384, 14, 14}} {
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			r := rand.New(rand.NewPCG(75, 76))
			x := rndT(r, 1, s...)
			y := New(s[0], s[1], s[3], s[2])
			be := CPU()
			b.SetBytes(int64(8 * x.Len()))
			for b.Loop() {
				be.Permute(y, x, 0, 1, 3, 2)
			}
		})
	}
}
