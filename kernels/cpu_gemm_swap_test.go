package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// TestSwappedMatchesDirect checks the swapped product (Cᵀ = Xᵀ·Wᵀ, then
// transposed) against the direct prepacked product: bit for bit with
// beta 0 (with and without the bias+GELU epilogue), within rounding of the
// residual sum with beta 1; ragged pixels and channels, several depth
// blocks, 1 to 3 goroutines, a row stride of C wider than the product with
// guard values in the gap and after the end.
func TestSwappedMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, s := range [][3]int{{768, 49, 768}, {384, 196, 384}, {37, 49, 600}, {13, 5, 7}, {100, 3, 513}, {1, 7, 9}, {3072, 49, 40}} {
		m, n, k := s[0], s[1], s[2]
		w := rndT(r, 0.1, m, k)
		Prepack(CPU(), w)
		e := packedEntry(w, m, k)
		if e == nil {
			t.Fatalf("%v: not prepacked", s)
		}
		const gap = 3
		ldx, ldc := n+gap, n+gap
		x := randF32(r, (k-1)*ldx+n)
		bias := randF32(r, m)
		c0 := randF32(r, m*ldc)
		for _, beta := range []float32{0, 1} {
			for _, epi := range []*gemmEpi{nil, {bias: bias, act: ActGELU}} {
				for procs := 1; procs <= 3; procs++ {
					name := fmt.Sprintf("%dx%dx%d beta %v epi %v procs %d", m, n, k, beta, epi != nil, procs)
					want := append([]float32(nil), c0...)
					sgemmAEpi(procs, e.mats[0], false, n, x, ldx, beta, want, ldc, epi)
					got := append(append([]float32(nil), c0...), gemmGuard, gemmGuard)
					for i := range m { // the gap columns hold guards
						for j := n; j < ldc; j++ {
							got[i*ldc+j] = gemmGuard
						}
					}
					sgemmSwapped(procs, e, w.Data, x, ldx, n, beta, got[:m*ldc], ldc, epi)
					for i := range m {
						for j := range ldc {
							g := got[i*ldc+j]
							if j >= n {
								if g != gemmGuard {
									t.Fatalf("%s: gap c[%d][%d] written", name, i, j)
								}
								continue
							}
							wv := want[i*ldc+j]
							d := float64(g - wv)
							if (beta == 0 && g != wv) || d > 1e-5 || d < -1e-5 {
								t.Fatalf("%s: c[%d][%d] = %v, want %v", name, i, j, g, wv)
							}
						}
					}
					if got[m*ldc] != gemmGuard || got[m*ldc+1] != gemmGuard {
						t.Fatalf("%s: guard after C overwritten", name)
					}
				}
			}
		}
	}
}

// TestSwapWins pins the choice at vmamba-tiny's 224² shapes: the stage-4
// maps (49 pixels) take the swapped product with either kernel set, the
// wide stage-1 maps never do.
func TestSwapWins(t *testing.T) {
	for _, c := range []struct {
		m, n, k int
		want    bool
	}{
		{768, 49, 768, true},
		{3072, 49, 768, true},
		{768, 49, 3456, true},
		{96, 3136, 384, false},
		{384, 3136, 96, false},
		{192, 784, 192, false},
	} {
		if got := swapWins(c.m, c.n, c.k); got != c.want {
			t.Errorf("swapWins(%d, %d, %d) = %v, want %v (AVX-512 pairs %v)", c.m, c.n, c.k, got, c.want, asm.Kernel2Fast())
		}
	}
}

// BenchmarkSwappedProduct times vmamba-tiny's stage-3 and stage-4 GEMMs
// (prepacked weights) as the direct product and as the swapped one, on the
// goroutines Parallel gives (run with -cpu 1,2), helpers held as in
// vmamba's forward.
func BenchmarkSwappedProduct(b *testing.B) {
	defer HoldWorkers()()
	r := rand.New(rand.NewPCG(73, 74))
	for _, s := range [][3]int{{384, 196, 384}, {1536, 196, 384}, {384, 196, 1536}, {768, 49, 768}, {3072, 49, 768}, {768, 49, 3072}} {
		m, n, k := s[0], s[1], s[2]
		w := rndT(r, 0.1, m, k)
		Prepack(CPU(), w)
		e := packedEntry(w, m, k)
		x, c := randF32(r, k*n), make([]float32, m*n)
		flops := 2 * float64(m*n*k)
		for _, swapped := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/swapped=%v", m, n, k, swapped), func(b *testing.B) {
				procs := parallelWorkers(1<<30, 1)
				for b.Loop() {
					if swapped {
						sgemmSwapped(procs, e, w.Data, x, n, n, 0, c, n, nil)
					} else {
						sgemmAEpi(procs, e.mats[0], false, n, x, n, 0, c, n, nil)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
