package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestFastPathsVsCPU covers the shape-specialised kernels beyond
// TestOpsVsCPU: the split-state scan forward and reverse for every register
// size (N padded and exact, L around the chunk length, channels not a
// multiple of 32, grouped B/C with whole blocks per group), the batched
// transpose behind Permute, the vector and scalar flips, and the depthwise
// 3x3 conv2d with padding and stride.
func TestFastPathsVsCPU(t *testing.T) {
	be := openGPU(t)
	r := rand.New(rand.NewPCG(51, 52))
	var cases []opCase
	type sc struct {
		bt, d, n, l, g int
		rev, opts      bool
	}
	for _, c := range []sc{
		{2, 40, 16, 33, 1, true, true},
		{1, 64, 16, 16, 1, true, false},
		{3, 128, 16, 17, 2, true, true},
		{1, 96, 1, 300, 3, true, true},
		{2, 33, 24, 50, 1, true, true},
		{1, 40, 64, 20, 1, true, true},
		{1, 40, 64, 37, 1, false, true},
		{2, 64, 2, 1, 1, true, true},
		{2, 70, 8, 45, 1, true, true},
		{2, 70, 8, 45, 1, false, true},
		{1, 36, 3, 31, 1, true, false},
		{2, 64, 4, 64, 2, false, true},
	} {
		bc := func() *kernels.Tensor {
			if c.g == 1 {
				return randT(r, 1, c.bt, c.n, c.l)
			}
			return randT(r, 1, c.bt, c.g, c.n, c.l)
		}
		aNeg := scanNegA(r, c.d, c.n)
		in := []*kernels.Tensor{randT(r, 1, c.bt, c.d, c.l), uniT(r, 0, 0.5, c.bt, c.d, c.l), aNeg, bc(), bc(), nil, nil, nil}
		if c.opts {
			in[1] = randT(r, 0.5, c.bt, c.d, c.l)
			in[5], in[6], in[7] = randT(r, 1, c.d), randT(r, 1, c.bt, c.d, c.l), uniT(r, -4, -2, c.d)
		}
		cases = append(cases, opCase{name: fmt.Sprintf("SelectiveScan/%+v", c), tol: 2e-5, in: in,
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				a := &kernels.ScanArgs{U: in[0], Delta: in[1], A: in[2], B: in[3], C: in[4], D: in[5], Z: in[6], DeltaBias: in[7],
					DeltaSoftplus: c.opts, Out: poisoned(b, c.bt, c.d, c.l), LastState: poisoned(b, c.bt, c.d, c.n), Reverse: c.rev}
				b.SelectiveScan(a)
				return []*kernels.Tensor{a.Out, a.LastState}
			}})
	}
	for _, pc := range []struct {
		shape, perm []int
	}{
		{[]int{3, 37, 45}, []int{0, 2, 1}},
		{[]int{2, 5, 33, 31}, []int{0, 1, 3, 2}},
		{[]int{2, 6, 7, 9}, []int{0, 2, 3, 1}},
		{[]int{2, 7, 9, 6}, []int{0, 3, 1, 2}},
		{[]int{2, 1, 40, 70}, []int{0, 3, 2, 1}},
		{[]int{65, 33}, []int{1, 0}},
		{[]int{2, 5, 3, 8}, []int{0, 2, 1, 3}},
		{[]int{2, 1, 5}, []int{1, 0, 2}},
	} {
		cases = append(cases, opCase{name: fmt.Sprintf("Permute/%v/%v", pc.shape, pc.perm), in: []*kernels.Tensor{randT(r, 1, pc.shape...)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				sh := make([]int, len(pc.perm))
				for i, p := range pc.perm {
					sh[i] = pc.shape[p]
				}
				dst := poisoned(b, sh...)
				b.Permute(dst, in[0], pc.perm...)
				return []*kernels.Tensor{dst}
			}})
	}
	for _, fc := range []struct {
		shape []int
		axis  int
	}{{[]int{3, 197, 12}, 1}, {[]int{2, 4, 3, 7}, 3}, {[]int{5, 6, 10}, 1}, {[]int{9}, 0}} {
		cases = append(cases, opCase{name: fmt.Sprintf("Flip/%v/%d", fc.shape, fc.axis), in: []*kernels.Tensor{randT(r, 1, fc.shape...)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, fc.shape...)
				b.Flip(dst, in[0], fc.axis)
				return []*kernels.Tensor{dst}
			}})
	}
	for _, cc := range []struct {
		x []int
		p kernels.Conv2dParams
	}{
		{[]int{2, 5, 7, 40}, kernels.Conv2dParams{PadH: 1, PadW: 1, Groups: 5}},
		{[]int{1, 3, 17, 18}, kernels.Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 3}},
		{[]int{2, 4, 5, 6}, kernels.Conv2dParams{Groups: 4}},
	} {
		c := cc.x[1]
		oh := (cc.x[2]+2*cc.p.PadH-3)/max(cc.p.StrideH, 1) + 1
		ow := (cc.x[3]+2*cc.p.PadW-3)/max(cc.p.StrideW, 1) + 1
		cases = append(cases, opCase{name: fmt.Sprintf("Conv2dDepthwise/%v/%+v", cc.x, cc.p), tol: 2e-5,
			in: []*kernels.Tensor{randT(r, 1, cc.x...), randT(r, 0.3, c, 1, 3, 3), randT(r, 0.1, c)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, cc.x[0], c, oh, ow)
				b.Conv2d(dst, in[0], in[1], in[2], cc.p)
				return []*kernels.Tensor{dst}
			}})
	}
	runOpCases(t, be, cases)
}

// TestTransposeView checks which permutations take the batched-transpose
// kernel.
func TestTransposeView(t *testing.T) {
	for _, c := range []struct {
		shape, perm      []int
		batch, rows, col int
		ok               bool
	}{
		{[]int{64, 197, 384}, []int{0, 2, 1}, 64, 197, 384, true},
		{[]int{2, 96, 56, 56}, []int{0, 2, 3, 1}, 2, 96, 3136, true},
		{[]int{2, 56, 56, 96}, []int{0, 3, 1, 2}, 2, 3136, 96, true},
		{[]int{4, 5}, []int{1, 0}, 1, 4, 5, true},
		{[]int{2, 1, 3}, []int{1, 0, 2}, 1, 1, 6, true},
		{[]int{2, 5, 3, 8}, []int{0, 2, 1, 3}, 0, 0, 0, false},
		{[]int{2, 3, 4, 5}, []int{3, 1, 0, 2}, 0, 0, 0, false},
	} {
		b, r, cl, ok := transposeView(c.shape, c.perm)
		if ok != c.ok || (ok && (b != c.batch || r != c.rows || cl != c.col)) {
			t.Errorf("transposeView(%v, %v) = %d, %d, %d, %v; want %d, %d, %d, %v", c.shape, c.perm, b, r, cl, ok, c.batch, c.rows, c.col, c.ok)
		}
	}
}
