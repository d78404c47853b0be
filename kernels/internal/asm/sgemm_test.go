package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

const guard = float32(-7777.5)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// guarded returns a slice of n floats with guard values on both sides in a
// larger backing array, and the backing array.
func guarded(n int) (s, all []float32) {
	all = make([]float32, n+32)
	for i := range all {
		all[i] = guard
	}
	return all[16 : 16+n : 16+n], all
}

func checkGuards(t *testing.T, all []float32, n int) {
	t.Helper()
	for i := 0; i < 16; i++ {
		if all[i] != guard || all[16+n+i] != guard {
			t.Fatalf("write outside the slice: before[%d]=%v after[%d]=%v", i, all[i], i, all[16+n+i])
		}
	}
}

// simdMode is one kernel selection: the AVX-512 kernels, the AVX2 ones,
// or the Go twins.
type simdMode struct {
	name         string
	simd, avx512 bool
}

var simdModes = []simdMode{{"avx512", true, true}, {"avx2", true, false}, {"go", false, false}}

// set selects the mode and returns a function restoring the previous one,
// and whether this CPU/build can run the mode.
func (m simdMode) set() (restore func(), ok bool) {
	prevS, prevW := SetEnabled(m.simd), SetAVX512(m.avx512)
	restore = func() { SetEnabled(prevS); SetAVX512(prevW) }
	return restore, Enabled() == m.simd && AVX512() == m.avx512
}

// bothWays runs f with the AVX-512 kernels, the AVX2 kernels and the Go
// twins (skipping the SIMD modes this CPU or build lacks).
func bothWays(t *testing.T, f func(t *testing.T)) {
	for _, m := range simdModes {
		t.Run(m.name, func(t *testing.T) {
			restore, ok := m.set()
			defer restore()
			if !ok {
				t.Skipf("no %s kernels on this CPU/build", m.name)
			}
			f(t)
		})
	}
}

// benchModes runs f as a sub-benchmark per mode this CPU/build supports.
func benchModes(b *testing.B, f func(b *testing.B)) {
	for _, m := range simdModes {
		restore, ok := m.set()
		restore()
		if !ok {
			continue
		}
		b.Run(m.name, func(b *testing.B) {
			restore, _ := m.set()
			defer restore()
			f(b)
		})
	}
}

func TestKernelMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		kc          int
		alpha, beta float32
		ldc         int
	}{
		{0, 1, 0, NR}, {1, 1, 0, NR}, {3, 0.5, 1, 17}, {7, 1, -0.25, NR}, {8, 2, 0, 40},
		{17, 1, 1, NR}, {64, -1, 0.5, 33}, {255, 1, 0, NR}, {256, 0.3, 2, 100},
	}
	for _, tc := range cases {
		a := randSlice(r, tc.kc*MR)
		b := randSlice(r, tc.kc*NR)
		n := (MR-1)*tc.ldc + NR
		c0 := randSlice(r, n)
		if tc.beta == 0 {
			c0[1] = float32(math.NaN()) // must not propagate when beta == 0
		}
		want := append([]float32(nil), c0...)
		KernelGo(tc.kc, a, b, want, tc.ldc, tc.alpha, tc.beta)
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			copy(got, c0)
			Kernel(tc.kc, a, b, got, tc.ldc, tc.alpha, tc.beta)
			checkGuards(t, all, n)
			for i := 0; i < MR; i++ {
				for j := 0; j < tc.ldc && i*tc.ldc+j < n; j++ {
					g, w := got[i*tc.ldc+j], want[i*tc.ldc+j]
					if j >= NR {
						if g != c0[i*tc.ldc+j] {
							t.Fatalf("kc=%d: wrote outside the tile at (%d,%d)", tc.kc, i, j)
						}
						continue
					}
					if tc.beta == 0 && (i*tc.ldc+j == 1) && math.IsNaN(float64(g)) {
						t.Fatalf("kc=%d: NaN in C propagated with beta=0", tc.kc)
					}
					tol := 1e-5 * float64(1+tc.kc)
					if d := math.Abs(float64(g - w)); d > tol || g != g {
						t.Fatalf("kc=%d alpha=%v beta=%v: c[%d,%d] = %v, twin %v", tc.kc, tc.alpha, tc.beta, i, j, g, w)
					}
				}
			}
		})
	}
}

func TestPackMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, trans := range []bool{false, true} {
		for _, rows := range []int{1, 5, 6, 7, 12, 16, 17, 31, 33, 64, 67, 130} {
			for _, kc := range []int{1, 7, 8, 9, 16, 63, 64, 67} {
				cases := []struct {
					name  string
					panel int
					pack  func(dst, s []float32, ld int, tr bool, n, kc int)
					twin  func(dst, s []float32, ld int, tr bool, n, kc int)
				}{ // guards right after the last panel
					{"A", MR, PackA, PackAGo},
					{"B", NR, PackB, PackBGo},
				}
				for _, pc := range cases {
					// A untransposed and B transposed are stored n×kc; the
					// other two kc×n.
					ld, nrow := kc+3, rows
					if trans == (pc.name == "A") {
						ld, nrow = rows+5, kc
					}
					src := randSlice(r, (nrow-1)*ld+ld)
					size := (rows + pc.panel - 1) / pc.panel * pc.panel * kc
					want := make([]float32, size)
					pc.twin(want, src, ld, trans, rows, kc)
					bothWays(t, func(t *testing.T) {
						got, all := guarded(size)
						pc.pack(got, src, ld, trans, rows, kc)
						checkGuards(t, all, size)
						for i := range size {
							if got[i] != want[i] {
								t.Fatalf("Pack%s trans=%v rows=%d kc=%d: [%d] = %v, twin %v", pc.name, trans, rows, kc, i, got[i], want[i])
							}
						}
					})
				}
			}
		}
	}
}

func TestKernel2MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	cases := []struct {
		kc          int
		alpha, beta float32
		ldc         int
	}{
		{0, 1, 0, 2 * NR}, {0, 1, 0.5, 2 * NR}, {1, 1, 0, 2 * NR}, {3, 0.5, 1, 37}, {7, 1, -0.25, 2 * NR},
		{8, 2, 0, 40}, {17, 1, 1, 2 * NR}, {64, -1, 0.5, 65}, {255, 1, 0, 2 * NR}, {256, 0.3, 2, 100},
	}
	for _, tc := range cases {
		a := randSlice(r, tc.kc*MR)
		b := randSlice(r, 2*tc.kc*NR)
		n := (MR-1)*tc.ldc + 2*NR
		c0 := randSlice(r, n)
		if tc.beta == 0 {
			c0[1] = float32(math.NaN()) // must not propagate when beta == 0
		}
		want := append([]float32(nil), c0...)
		Kernel2Go(tc.kc, a, b, want, tc.ldc, tc.alpha, tc.beta)
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			copy(got, c0)
			Kernel2(tc.kc, a, b, got, tc.ldc, tc.alpha, tc.beta)
			checkGuards(t, all, n)
			for i := 0; i < MR; i++ {
				for j := 0; j < tc.ldc && i*tc.ldc+j < n; j++ {
					g, w := got[i*tc.ldc+j], want[i*tc.ldc+j]
					if j >= 2*NR {
						if g != c0[i*tc.ldc+j] && !(g != g && c0[i*tc.ldc+j] != c0[i*tc.ldc+j]) {
							t.Fatalf("kc=%d: wrote outside the tile at (%d,%d)", tc.kc, i, j)
						}
						continue
					}
					tol := 1e-5 * float64(1+tc.kc)
					if d := math.Abs(float64(g - w)); d > tol || g != g {
						t.Fatalf("kc=%d alpha=%v beta=%v: c[%d,%d] = %v, twin %v", tc.kc, tc.alpha, tc.beta, i, j, g, w)
					}
				}
			}
		})
	}
}

// TestAVX512KernelsMatchAVX2 checks that the AVX-512 micro-kernels give the
// AVX2 kernel's results bit for bit (same FMAs in the same k order).
func TestAVX512KernelsMatchAVX2(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	avx2, avx512 := simdModes[1], simdModes[0]
	restore, ok := avx512.set()
	restore()
	if !ok {
		t.Skip("no AVX-512 kernels on this CPU/build")
	}
	for _, kc := range []int{1, 2, 5, 16, 33, 192, 256} {
		for _, beta := range []float32{0, 1, -0.75} {
			const ldc = 2*NR + 5
			a, b := randSlice(r, kc*MR), randSlice(r, 2*kc*NR)
			c0 := randSlice(r, MR*ldc)
			run := func(m simdMode, k2 bool) []float32 {
				restore, _ := m.set()
				defer restore()
				c := append([]float32(nil), c0...)
				if k2 {
					Kernel2(kc, a, b, c, ldc, 1.25, beta)
				} else {
					Kernel(kc, a, b, c, ldc, 1.25, beta)
				}
				return c
			}
			for _, k2 := range []bool{false, true} {
				want, got := run(avx2, k2), run(avx512, k2)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d beta=%v Kernel2=%v: c[%d] = %v (AVX-512), %v (AVX2)", kc, beta, k2, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func BenchmarkKernel(b *testing.B) {
	const kc = 256
	r := rand.New(rand.NewPCG(5, 6))
	a, bb, c := randSlice(r, kc*MR), randSlice(r, 2*kc*NR), make([]float32, MR*2*NR)
	b.Run("6x16", func(b *testing.B) {
		benchModes(b, func(b *testing.B) {
			for b.Loop() {
				Kernel(kc, a, bb, c, NR, 1, 0)
			}
			b.ReportMetric(2*MR*NR*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	})
	b.Run("6x32", func(b *testing.B) {
		benchModes(b, func(b *testing.B) {
			for b.Loop() {
				Kernel2(kc, a, bb, c, 2*NR, 1, 0)
			}
			b.ReportMetric(2*MR*2*NR*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	})
}

func BenchmarkPack(b *testing.B) {
	const rows, kc = 192, 256
	r := rand.New(rand.NewPCG(7, 8))
	src := randSlice(r, rows*kc)
	dst := make([]float32, rows*kc)
	for _, tc := range []struct {
		name string
		f    func(dst, s []float32, ld int, tr bool, n, kc int)
	}{{"A", PackA}, {"B", PackB}} {
		for _, tr := range []bool{false, true} {
			b.Run(tc.name+map[bool]string{false: "N", true: "T"}[tr], func(b *testing.B) {
				b.SetBytes(rows * kc * 4)
				ld := kc // A untransposed and B transposed are rows×kc
				if tr == (tc.name == "A") {
					ld = rows
				}
				for b.Loop() {
					tc.f(dst, src, ld, tr, rows, kc)
				}
			})
		}
	}
}

func TestDot4MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{0, 1, 15, 16, 17, 31, 32, 100, 768} {
		ldb := k + 3
		x, b := randSlice(r, k), randSlice(r, 3*ldb+k)
		var want [4]float32
		Dot4Go(k, x, b, ldb, &want)
		bothWays(t, func(t *testing.T) {
			var got [4]float32
			Dot4(k, x, b, ldb, &got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-6*float64(k+1) {
					t.Fatalf("k=%d: out[%d] = %v, twin %v", k, i, got[i], want[i])
				}
			}
		})
	}
}

func BenchmarkDot4(b *testing.B) {
	const k = 768
	r := rand.New(rand.NewPCG(11, 12))
	x, m := randSlice(r, k), randSlice(r, 4*k)
	var out [4]float32
	for _, on := range []bool{true, false} {
		b.Run(map[bool]string{true: "simd", false: "go"}[on], func(b *testing.B) {
			prev := SetEnabled(on)
			defer SetEnabled(prev)
			b.SetBytes(4 * k * 4)
			for b.Loop() {
				Dot4(k, x, m, k, &out)
			}
		})
	}
}

// TestKernelGoMatchesDefinition checks the register-blocked Go kernel used
// without SIMD against KernelGo.
func TestKernelGoMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, kc := range []int{0, 1, 5, 64, 300} {
		for _, beta := range []float32{0, 1, -0.5} {
			a, b := randSlice(r, kc*MR), randSlice(r, kc*NR)
			ldc := NR + 3
			c0 := randSlice(r, MR*ldc)
			want := append([]float32(nil), c0...)
			KernelGo(kc, a, b, want, ldc, 0.75, beta)
			got := append([]float32(nil), c0...)
			kernelGo(kc, a, b, got, ldc, 0.75, beta)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-6*float64(kc+1) {
					t.Fatalf("kc=%d beta=%v: c[%d] = %v, KernelGo %v", kc, beta, i, got[i], want[i])
				}
			}
		}
	}
}
