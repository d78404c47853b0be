package asm

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func relClose(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

func TestSoftplusSiluMatchTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100} {
		src := make([]float32, n)
		for i := range src {
			src[i] = (r.Float32()*2 - 1) * []float32{3, 30, 100}[i%3]
		}
		if n > 4 {
			src[0], src[1], src[2], src[3] = 20, 20.5, -90, 95
		}
		for _, bias := range []float32{0, -1.5} {
			want := make([]float32, n)
			SoftplusGo(want, src, bias)
			wantE := make([]float32, n)
			ExpGo(wantE, src)
			wantS := make([]float32, n)
			SiluGo(wantS, src)
			bothWays(t, func(t *testing.T) {
				got, all := guarded(n)
				Softplus(got, src, bias)
				checkGuards(t, all, n)
				for i := range got {
					if !relClose(float64(got[i]), float64(want[i]), 4e-7, 1e-37) {
						t.Fatalf("Softplus(%v + %v) = %v, twin %v", src[i], bias, got[i], want[i])
					}
				}
				Exp(got, src)
				checkGuards(t, all, n)
				for i := range got {
					clamped := src[i] < -86 && got[i] < 5e-38 || src[i] > 88.3 && got[i] > 2e38
					if !relClose(float64(got[i]), float64(wantE[i]), 4e-7, 0) && !clamped {
						t.Fatalf("Exp(%v) = %v, want %v", src[i], got[i], wantE[i])
					}
				}
				Silu(got, src)
				checkGuards(t, all, n)
				for i := range got {
					if !relClose(float64(got[i]), float64(wantS[i]), 4e-7, 1e-35) {
						t.Fatalf("Silu(%v) = %v, twin %v", src[i], got[i], wantS[i])
					}
				}
			})
		}
	}
}

// scanStates16Fns are ScanStates16 and ScanStates16Rev with their twins.
var scanStates16Fns = []struct {
	name       string
	simd, twin func(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32)
}{
	{"fwd", ScanStates16, ScanStates16Go},
	{"rev", ScanStates16Rev, ScanStates16RevGo},
}

func TestScanStates16MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, fn := range scanStates16Fns {
		for _, steps := range []int{0, 1, 2, 15, 16, 17, 31, 33, 64, 65, 127, 256} {
			for _, bcStride := range []int{0, 16, 21} {
				a := make([]float32, 16)
				for i := range a {
					a[i] = -(0.05 + r.Float32()*8)
				}
				dt := make([]float32, steps)
				u, gate := randSlice(r, steps), randSlice(r, steps)
				for i := range dt {
					dt[i] = r.Float32() * 2
				}
				if steps > 1 {
					dt[1] = 30 // exp(dt·a) far below the clamp
				}
				if steps > 3 {
					dt[3] = 1e-4 // decays near 1
				}
				b := randSlice(r, max(steps-1, 0)*bcStride+16)
				c := randSlice(r, max(steps-1, 0)*bcStride+16)
				h0 := randSlice(r, 16)
				wantH := append([]float32(nil), h0...)
				want := make([]float32, steps)
				fn.twin(wantH, a, dt, u, gate, want, b, c, bcStride, bcStride, 0.7)
				bothWays(t, func(t *testing.T) {
					h := append([]float32(nil), h0...)
					got, all := guarded(steps)
					fn.simd(h, a, dt, u, gate, got, b, c, bcStride, bcStride, 0.7)
					checkGuards(t, all, steps)
					for i := range got {
						if !relClose(float64(got[i]), float64(want[i]), 1e-5, 1e-5) {
							t.Fatalf("%s steps=%d stride=%d: out[%d] = %v, twin %v", fn.name, steps, bcStride, i, got[i], want[i])
						}
					}
					for i := range h {
						if !relClose(float64(h[i]), float64(wantH[i]), 1e-5, 1e-5) {
							t.Fatalf("%s steps=%d: h[%d] = %v, twin %v", fn.name, steps, i, h[i], wantH[i])
						}
					}
					// In place: out aliases u.
					h = append(h[:0], h0...)
					uu := append([]float32(nil), u...)
					fn.simd(h, a, dt, uu, gate, uu, b, c, bcStride, bcStride, 0.7)
					for i := range uu {
						if !relClose(float64(uu[i]), float64(want[i]), 1e-5, 1e-5) {
							t.Fatalf("%s in place: out[%d] = %v, twin %v", fn.name, i, uu[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestScanStates16RevIsReversedFwd checks the reversed kernel against the
// forward one on reversed operands, in every mode: the same arithmetic
// step for step, so the states agree bit for bit.
func TestScanStates16RevIsReversedFwd(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	rev := func(s []float32) []float32 {
		o := make([]float32, len(s))
		for i, v := range s {
			o[len(s)-1-i] = v
		}
		return o
	}
	for _, steps := range []int{1, 16, 37, 300} {
		a := make([]float32, 16)
		for i := range a {
			a[i] = -(0.05 + r.Float32()*4)
		}
		dt, u, gate := randSlice(r, steps), randSlice(r, steps), randSlice(r, steps)
		for i := range dt {
			dt[i] = r.Float32()
		}
		b, c, h0 := randSlice(r, steps*16), randSlice(r, steps*16), randSlice(r, 16)
		bothWays(t, func(t *testing.T) {
			hf, hr := append([]float32(nil), h0...), append([]float32(nil), h0...)
			of, or := make([]float32, steps), make([]float32, steps)
			ScanStates16(hf, a, rev(dt), rev(u), rev(gate), of, b, c, 16, 16, 0.5)
			ScanStates16Rev(hr, a, dt, u, gate, or, b, c, 16, 16, 0.5)
			for i := range hf {
				if math.Float32bits(hf[i]) != math.Float32bits(hr[i]) {
					t.Fatalf("steps=%d: h[%d] = %v reversed, %v forward", steps, i, hr[i], hf[i])
				}
			}
			for i, v := range rev(of) {
				if math.Float32bits(v) != math.Float32bits(or[i]) {
					t.Fatalf("steps=%d: out[%d] = %v reversed, %v forward", steps, i, or[i], v)
				}
			}
		})
	}
}

func BenchmarkScanStates16(b *testing.B) {
	const steps = 256
	r := rand.New(rand.NewPCG(35, 36))
	a, h := randSlice(r, 16), make([]float32, 16)
	for i := range a {
		a[i] = -(0.1 + r.Float32())
	}
	dt, u, gate, out := randSlice(r, steps), randSlice(r, steps), randSlice(r, steps), make([]float32, steps)
	for i := range dt {
		dt[i] = 0.01 + r.Float32()*0.2 // softplus output: positive
	}
	bb, c := randSlice(r, steps*16), randSlice(r, steps*16)
	benchModes(b, func(b *testing.B) {
		{
			best := time.Duration(math.MaxInt64)
			for b.Loop() {
				clear(h)
				t0 := time.Now()
				ScanStates16(h, a, dt, u, gate, out, bb, c, 16, 16, 1)
				best = min(best, time.Since(t0))
			}
			b.ReportMetric(steps*16*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
			b.ReportMetric(steps*16/best.Seconds(), "best-elem/s")
		}
	})
}

func BenchmarkVector(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(37, 38))
	src, dst := randSlice(r, n), make([]float32, n)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Exp", func() { Exp(dst, src) }},
		{"Softplus", func() { Softplus(dst, src, 0) }},
		{"Silu", func() { Silu(dst, src) }},
		{"Gelu", func() { Gelu(dst, src) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchModes(b, func(b *testing.B) {
				b.SetBytes(n * 4)
				for b.Loop() {
					tc.f()
				}
			})
		})
	}
}

func TestScanState1MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(39, 40))
	for _, steps := range []int{0, 1, 5, 300} {
		for _, stride := range []int{0, 1} {
			da, dt := make([]float32, steps), make([]float32, steps)
			for i := range da {
				da[i], dt[i] = r.Float32(), r.Float32()
			}
			u, gate := randSlice(r, steps), randSlice(r, steps)
			b, c := randSlice(r, max(steps, 1)), randSlice(r, max(steps, 1))
			want, wantH := make([]float32, steps), []float32{0.5}
			ScanState1Go(wantH, da, dt, u, gate, want, b, c, stride, stride, 0.3)
			bothWays(t, func(t *testing.T) {
				h := []float32{0.5}
				got, all := guarded(steps)
				ScanState1(h, da, dt, u, gate, got, b, c, stride, stride, 0.3)
				checkGuards(t, all, steps)
				for i := range got {
					if !relClose(float64(got[i]), float64(want[i]), 1e-5, 1e-6) {
						t.Fatalf("steps=%d stride=%d: out[%d] = %v, twin %v", steps, stride, i, got[i], want[i])
					}
				}
				if !relClose(float64(h[0]), float64(wantH[0]), 1e-5, 1e-6) {
					t.Fatalf("h = %v, twin %v", h[0], wantH[0])
				}
			})
		}
	}
}

// TestAVX512VectorMatchesAVX2 checks that the AVX-512 exp, softplus, SiLU and
// GELU give the AVX2 results bit for bit (the same instruction sequence 16
// lanes wide) on every tail length, and that the fused AVX-512 scan leaves
// the AVX2 scan's state bit for bit (its outputs sum over n in another
// order).
func TestAVX512VectorMatchesAVX2(t *testing.T) {
	avx2, avx512 := simdModes[1], simdModes[0]
	restore, ok := avx512.set()
	restore()
	if !ok {
		t.Skip("no AVX-512 kernels on this CPU/build")
	}
	r := rand.New(rand.NewPCG(45, 46))
	fs := []struct {
		name string
		f    func(dst, src []float32)
	}{
		{"Exp", Exp}, {"Silu", Silu}, {"Gelu", Gelu},
		{"Softplus", func(dst, src []float32) { Softplus(dst, src, -0.375) }},
	}
	for n := 0; n <= 70; n++ {
		src := make([]float32, n)
		for i := range src {
			src[i] = (r.Float32()*2 - 1) * []float32{2, 25, 100}[i%3]
		}
		for _, fc := range fs {
			run := func(m simdMode) []float32 {
				restore, _ := m.set()
				defer restore()
				dst, all := guarded(n)
				fc.f(dst, src)
				checkGuards(t, all, n)
				return dst
			}
			want, got := run(avx2), run(avx512)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d: [%d] f(%v) = %v (AVX-512), %v (AVX2)", fc.name, n, i, src[i], got[i], want[i])
				}
			}
		}
	}
	for _, steps := range []int{1, 16, 37, 300} {
		a, h0 := randSlice(r, 16), randSlice(r, 16)
		for i := range a {
			a[i] = -(0.05 + r.Float32()*4)
		}
		dt, u, gate := randSlice(r, steps), randSlice(r, steps), randSlice(r, steps)
		for i := range dt {
			dt[i] = r.Float32()
		}
		b, c := randSlice(r, steps*16), randSlice(r, steps*16)
		for _, fn := range scanStates16Fns {
			run := func(m simdMode) (h, out []float32) {
				restore, _ := m.set()
				defer restore()
				h, out = append([]float32(nil), h0...), make([]float32, steps)
				fn.simd(h, a, dt, u, gate, out, b, c, 16, 16, 0.5)
				return h, out
			}
			wantH, want := run(avx2)
			gotH, got := run(avx512)
			for i := range gotH {
				if math.Float32bits(gotH[i]) != math.Float32bits(wantH[i]) {
					t.Fatalf("%s steps=%d: h[%d] = %v (AVX-512), %v (AVX2)", fn.name, steps, i, gotH[i], wantH[i])
				}
			}
			for i := range got {
				if !relClose(float64(got[i]), float64(want[i]), 1e-5, 1e-6) {
					t.Fatalf("%s steps=%d: out[%d] = %v (AVX-512), %v (AVX2)", fn.name, steps, i, got[i], want[i])
				}
			}
		}
	}
}
