package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPrepackMatchesUnpacked checks that MatMul and Conv2d with a prepacked
// left operand give bit for bit what they give without it, across depth
// blocks, row blocks, ragged panels, wide N, batches and both backends.
func TestPrepackMatchesUnpacked(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, c := range []struct {
		m, n, k, batch int
		transB         bool
	}{
		{44, 197, 384, 0, false}, // Vim x_proj
		{768, 197, 192, 0, true}, // Vim in_proj (x and z together)
		{384, 197, 12, 0, false}, // dt_proj
		{7, 5, 3, 0, false},      // tiny: the reference loop
		{2, 40, 50, 0, true},     // matrix-vector rows
		{150, 3100, 600, 0, false},
		{301, 33, 513, 0, true},
		{8, 300, 96, 2, false}, // VMamba x_proj pair: one packed matrix per slice
	} {
		for _, be := range []Backend{CPU(), CPUSerial()} {
			t.Run(fmt.Sprintf("%+v/%s%v", c, be.Name(), be == CPUSerial()), func(t *testing.T) {
				ash := []int{c.m, c.k}
				if c.batch > 0 {
					ash = []int{c.batch, c.m, c.k}
				}
				a := rndT(r, 1, ash...)
				plain := a.Clone()
				bsh := []int{c.k, c.n}
				if c.transB {
					bsh = []int{c.n, c.k}
				}
				dsh := []int{c.m, c.n}
				if c.batch > 0 {
					bsh = append([]int{c.batch}, bsh...)
					dsh = append([]int{c.batch}, dsh...)
				}
				b := rndT(r, 1, bsh...)
				Prepack(be, a)
				if c.batch == 0 && usePacked(c.transB, c.m, c.n, c.k) && packedFor(a, c.m, c.k) == nil {
					t.Fatal("no packed copy")
				}
				want, got := New(dsh...), New(dsh...)
				be.MatMul(want, plain, b, false, c.transB)
				be.MatMul(got, a, b, false, c.transB)
				closeTo(t, "MatMul", got.Data, f64(want.Data), 0, 0)
			})
		}
	}
	// Conv2d: pointwise and im2col (banded), weights prepacked.
	for _, c := range []struct {
		name            string
		cin, cout, h, w int
		kh, kw          int
		p               Conv2dParams
		small           bool
	}{
		{"pointwise", 96, 384, 56, 56, 1, 1, Conv2dParams{}, false},
		{"pointwise-small-plane", 768, 300, 7, 7, 1, 1, Conv2dParams{}, false},
		{"3x3s2p1", 48, 96, 30, 26, 3, 3, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, false},
		{"3x3s2p1-banded", 16, 20, 30, 26, 3, 3, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.small {
				old := conv2dColBudget
				conv2dColBudget = 1000
				defer func() { conv2dColBudget = old }()
			}
			x := rndT(r, 1, 2, c.cin, c.h, c.w)
			w := rndT(r, 0.1, c.cout, c.cin, c.kh, c.kw)
			plain := w.Clone()
			bias := rndT(r, 1, c.cout)
			CPU().(Prepacker).Prepack(w)
			oh := (c.h+2*c.p.PadH-c.kh)/max(c.p.StrideH, 1) + 1
			ow := (c.w+2*c.p.PadW-c.kw)/max(c.p.StrideW, 1) + 1
			want, got := New(2, c.cout, oh, ow), New(2, c.cout, oh, ow)
			CPU().Conv2d(want, x, plain, bias, c.p)
			CPU().Conv2d(got, x, w, bias, c.p)
			closeTo(t, "Conv2d", got.Data, f64(want.Data), 0, 0)
		})
	}
	// A replaced Data slice is not served from the stale copy.
	a := rndT(r, 1, 50, 60)
	Prepack(CPU(), a)
	a.Data = rndT(r, 1, 50, 60).Data
	if packedFor(a, 50, 60) != nil {
		t.Fatal("stale packed copy served after Data was replaced")
	}
}

// TestSgemmAGrids checks that the prepacked product gives bit for bit what
// sgemmPacked gives, whichever grid of goroutines (rows, columns or both)
// gemmGridCost picks for 1 to 5 workers, with guard values after C.
func TestSgemmAGrids(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	for _, s := range [][3]int{{768, 197, 192}, {44, 197, 384}, {301, 33, 513}, {150, 3100, 40}, {13, 70, 9}} {
		m, n, k := s[0], s[1], s[2]
		for _, transB := range []bool{false, true} {
			a, b := randF32(r, m*k), randF32(r, n*k)
			ldb := n
			if transB {
				ldb = k
			}
			want := make([]float32, m*n)
			sgemmPacked(false, transB, m, n, k, 1, a, k, b, ldb, 0, want, n)
			pa := packMatrix(a, m, k)
			for procs := 1; procs <= 5; procs++ {
				got := make([]float32, m*n+3)
				got[m*n], got[m*n+1], got[m*n+2] = gemmGuard, gemmGuard, gemmGuard
				sgemmA(procs, pa, transB, n, b, ldb, got, n)
				pm, pn := gemmGridCost(m, n, k, procs, 0)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%dx%dx%d transB=%v procs=%d grid %dx%d: c[%d] = %v, want %v", m, n, k, transB, procs, pm, pn, i, got[i], want[i])
					}
				}
				if got[m*n] != gemmGuard || got[m*n+2] != gemmGuard {
					t.Fatalf("%dx%dx%d procs=%d: guard overwritten", m, n, k, procs)
				}
			}
		}
	}
}
