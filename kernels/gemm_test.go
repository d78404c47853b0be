package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

const gemmGuard = float32(-4242.25)

// withSIMD runs f with the SIMD kernels on and then off (the GOMAMBA_NOASM
// path); the "simd" half is skipped where they are unavailable.
func withSIMD(t *testing.T, f func(t *testing.T)) {
	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "simd", false: "go"}[on]
		t.Run(name, func(t *testing.T) {
			prev := asm.SetEnabled(on)
			defer asm.SetEnabled(prev)
			if on && !asm.Enabled() {
				t.Skip("SIMD kernels unavailable (CPU, noasm tag or GOMAMBA_NOASM)")
			}
			f(t)
		})
	}
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra stride on every operand
}

func (g gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,a=%v,b=%v,pad=%d", g.transA, g.transB, g.m, g.n, g.k, g.alpha, g.beta, g.pad)
}

// run checks Sgemm against sgemmRef on random operands, with guard values
// around C and in its row padding.
func (g gemmCase) run(t *testing.T, r *rand.Rand) {
	t.Helper()
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc := ac+g.pad, bc+g.pad, g.n+g.pad
	a := randF32(r, max(ar*lda, 1))
	b := randF32(r, max(br*ldb, 1))
	clen := (g.m-1)*ldc + g.n
	c0 := randF32(r, clen)
	if g.beta == 0 {
		c0[0] = float32(math.NaN()) // must not propagate
	}
	for i := 0; i < g.m; i++ {
		for j := g.n; j < ldc && i*ldc+j < clen; j++ {
			c0[i*ldc+j] = gemmGuard
		}
	}
	want := append([]float32(nil), c0...)
	sgemmRef(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc)
	all := make([]float32, clen+64)
	for i := range all {
		all[i] = gemmGuard
	}
	got := all[32 : 32+clen : 32+clen]
	copy(got, c0)
	Sgemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
	for i := 0; i < 32; i++ {
		if all[i] != gemmGuard || all[32+clen+i] != gemmGuard {
			t.Fatalf("%v: write outside C", g)
		}
	}
	for i := 0; i < g.m; i++ {
		for j := 0; j < ldc && i*ldc+j < clen; j++ {
			gv, wv := got[i*ldc+j], want[i*ldc+j]
			if j >= g.n {
				if gv != gemmGuard {
					t.Fatalf("%v: wrote C[%d,%d] in the row padding", g, i, j)
				}
				continue
			}
			// Blocked sums round differently from the reference loop;
			// operands are in [-1, 1), so |terms| ≤ |alpha|·k.
			tol := 4e-7*float64(g.k)*math.Abs(float64(g.alpha)) + 1e-6
			if d := math.Abs(float64(gv - wv)); !(d <= tol) {
				t.Fatalf("%v: C[%d,%d] = %v, want %v (diff %.3g > %.3g)", g, i, j, gv, wv, d, tol)
			}
		}
	}
}

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

func TestSgemmRandomShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var cases []gemmCase
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for i := 0; i < 40; i++ {
				cases = append(cases, gemmCase{
					transA: ta, transB: tb,
					m: 1 + r.IntN(67), n: 1 + r.IntN(67), k: 1 + r.IntN(67),
					alpha: []float32{1, 0.5, -2}[i%3], beta: []float32{0, 1, -0.75}[i%3*7%3],
					pad: []int{0, 1, 5}[i%3],
				})
			}
			// Shapes that cross the blocking: m > MC, k > KC, n > NC,
			// and edge tiles in every direction.
			cases = append(cases,
				gemmCase{ta, tb, 150, 35, 300, 1, 0, 0},
				gemmCase{ta, tb, 13, 3100, 9, 1, 0.5, 2},
				gemmCase{ta, tb, 197, 77, 520, 0.25, 1, 3},
				gemmCase{ta, tb, 64, 64, 64, 1, 0, 0},
			)
		}
	}
	cases = append(cases,
		// Matrix-vector path (m ≤ 2, NT): column tails and k tails.
		gemmCase{false, true, 1, 3, 5, 1, 0, 0},
		gemmCase{false, true, 1, 1031, 77, 1, 0, 1},
		gemmCase{false, true, 2, 4097, 768, -0.5, 0.25, 3},
		gemmCase{false, true, 5, 7, 0, 1, 0.5, 0}, // k = 0 scales C
		gemmCase{false, true, 5, 7, 0, 1, 0, 0},
		gemmCase{false, false, 9, 9, 9, 0, 2, 1}, // alpha = 0
	)
	for _, procs := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			withSIMD(t, func(t *testing.T) {
				for _, c := range cases {
					c.run(t, r)
				}
			})
		})
	}
}

func TestSgemmGrid(t *testing.T) {
	tests := []struct {
		m, n, k, procs int
		pm, pn         int
	}{
		{1024, 1024, 1024, 1, 1, 1},
		{1024, 1024, 1024, 2, 1, 2},
		{197, 768, 192, 2, 1, 2},
		{4096, 384, 192, 2, 2, 1},
		{4096, 384, 192, 4, 4, 1},
		{8, 8, 8, 2, 1, 1}, // too little work to split
		{6, 4096, 256, 3, 1, 3},
	}
	for _, tc := range tests {
		pm, pn := gemmGrid(tc.m, tc.n, tc.k, tc.procs)
		if pm != tc.pm || pn != tc.pn {
			t.Errorf("gemmGrid(%d,%d,%d,%d) = %d×%d, want %d×%d", tc.m, tc.n, tc.k, tc.procs, pm, pn, tc.pm, tc.pn)
		}
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops pooled GEMM scratch on purpose, so allocation counts mean nothing")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range [][3]int{{197, 192, 384}, {1, 768, 192}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c := randF32(r, m*k), randF32(r, n*k), make([]float32, m*n)
		withSIMD(t, func(t *testing.T) {
			Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n) // fill the pool
			allocs := testing.AllocsPerRun(20, func() {
				Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
			})
			if allocs != 0 {
				t.Errorf("Sgemm %v allocates %v times per call on one thread, want 0", s, allocs)
			}
		})
	}
}

func TestSgemmBadOperandsPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short C")
		}
	}()
	Sgemm(false, true, 4, 4, 4, 1, make([]float32, 16), 4, make([]float32, 16), 4, 0, make([]float32, 15), 4)
}
