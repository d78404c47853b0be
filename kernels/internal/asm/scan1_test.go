package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Odd lengths and tails around the 8-, 16- and 64-lane widths (Oct1Prep's
// AVX-512 loop takes four vectors at a time), up to a full
// Recur8Block.
var oct1Sizes = []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 81, 100, 129, 200, 255, Recur8Block}

func TestRecur8MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, n := range append([]int{0}, oct1Sizes...) {
		for _, rev := range []bool{false, true} {
			var da, w0 [8][Recur8Block]float32
			for k := range 8 {
				for i := range Recur8Block {
					da[k][i], w0[k][i] = r.Float32(), r.Float32()*2-1
				}
			}
			h0 := [8]float32{0.5, -1, 0, 2, 0.25, -0.75, 1, 3}
			want, wantH := w0, h0
			Recur8Go(&wantH, &da, &want, n, rev)
			bothWays(t, func(t *testing.T) {
				got, h := w0, h0
				Recur8(&h, &da, &got, n, rev)
				if got != want || h != wantH { // one multiply and one add per step: exact
					t.Fatalf("n %d rev %v: states differ from the twin", n, rev)
				}
			})
		}
	}
}

func TestRecur8RejectsLongRows(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for n > Recur8Block")
		}
	}()
	var h [8]float32
	var da, w [8][Recur8Block]float32
	Recur8(&h, &da, &w, Recur8Block+1, false)
}

func TestOct1PrepMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	for _, n := range oct1Sizes {
		delta := randSlice(r, n)
		for i := range delta {
			delta[i] *= 6 // softplus on both sides of 0
		}
		delta[0] = 25 // above the threshold 20: Δ = x
		u, b := randSlice(r, n), randSlice(r, n)
		const bias, a = 0.3, -1.7
		wantDa, wantW := make([]float32, n), make([]float32, n)
		Oct1PrepGo(wantDa, wantW, delta, u, b, bias, a)
		bothWays(t, func(t *testing.T) {
			da, allDa := guarded(n)
			w, allW := guarded(n)
			Oct1Prep(da, w, delta, u, b, bias, a)
			checkGuards(t, allDa, n)
			checkGuards(t, allW, n)
			for i := range n {
				if !relClose(float64(da[i]), float64(wantDa[i]), 2e-6, 1e-30) || !relClose(float64(w[i]), float64(wantW[i]), 2e-6, 1e-12) {
					t.Fatalf("n %d, i %d: da %v w %v, want %v %v", n, i, da[i], w[i], wantDa[i], wantW[i])
				}
			}
		})
	}
}

// TestOct1PrepIsSoftplusThenExp checks the pass against the vector kernels
// it fuses: Softplus, a float32 multiply, Exp; then Δ·u·b (to a few ulp:
// the generator shares their instruction lists, but the .s files are
// regenerated separately).
func TestOct1PrepIsSoftplusThenExp(t *testing.T) {
	r := rand.New(rand.NewPCG(55, 56))
	for _, n := range oct1Sizes {
		delta, u, b := randSlice(r, n), randSlice(r, n), randSlice(r, n)
		const bias, a = -0.2, -0.6
		bothWays(t, func(t *testing.T) {
			dt, wantDa := make([]float32, n), make([]float32, n)
			Softplus(dt, delta, bias)
			for i := range dt {
				wantDa[i] = dt[i] * a
			}
			Exp(wantDa, wantDa)
			da, w := make([]float32, n), make([]float32, n)
			Oct1Prep(da, w, delta, u, b, bias, a)
			for i := range n {
				if !relClose(float64(da[i]), float64(wantDa[i]), 1e-6, 1e-30) || !relClose(float64(w[i]), float64(dt[i]*u[i]*b[i]), 1e-6, 1e-12) {
					t.Fatalf("n %d, i %d: da %v w %v, want %v %v", n, i, da[i], w[i], wantDa[i], dt[i]*u[i]*b[i])
				}
			}
		})
	}
}

func TestOct1OutMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(57, 58))
	for _, n := range oct1Sizes {
		h, u, c, gate := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
		want := make([]float32, n)
		Oct1OutGo(want, h, u, c, gate, 0.7)
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			Oct1Out(got, h, u, c, gate, 0.7)
			checkGuards(t, all, n)
			for i := range n {
				if !relClose(float64(got[i]), float64(want[i]), 1e-6, 1e-7) {
					t.Fatalf("n %d, i %d: %v, want %v", n, i, got[i], want[i])
				}
			}
			// out may alias u.
			uu := append([]float32(nil), u...)
			Oct1Out(uu, h, uu, c, gate, 0.7)
			for i := range n {
				if uu[i] != got[i] {
					t.Fatalf("aliased u: n %d, i %d: %v, want %v", n, i, uu[i], got[i])
				}
			}
		})
	}
}

// TestOct1OutAccMatchesTwin checks Oct1OutAcc against its twin and, bit
// for bit, against Oct1Out into a scratch row followed by out += row (the
// scan's Accumulate before it), with guards, aliasing u, on odd sizes.
func TestOct1OutAccMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, n := range oct1Sizes {
		h, u, c, gate, out0 := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
		want := append([]float32(nil), out0...)
		Oct1OutAccGo(want, h, u, c, gate, 0.7)
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			copy(got, out0)
			Oct1OutAcc(got, h, u, c, gate, 0.7)
			checkGuards(t, all, n)
			y := make([]float32, n)
			Oct1Out(y, h, u, c, gate, 0.7)
			for i := range n {
				if !relClose(float64(got[i]), float64(want[i]), 1e-6, 1e-6) {
					t.Fatalf("n %d, i %d: %v, want %v", n, i, got[i], want[i])
				}
				if sum := out0[i] + y[i]; got[i] != sum {
					t.Fatalf("n %d, i %d: %v, Oct1Out then add %v", n, i, got[i], sum)
				}
			}
			// out may alias u: u += Oct1Out(h, u, ...).
			uu := append([]float32(nil), u...)
			Oct1OutAcc(uu, h, uu, c, gate, 0.7)
			for i := range n {
				if sum := u[i] + y[i]; uu[i] != sum {
					t.Fatalf("aliased u: n %d, i %d: %v, want %v", n, i, uu[i], sum)
				}
			}
		})
	}
}

// TestPrefetch checks that Prefetch changes nothing and stays inside its
// slice's cache lines (no fault at a slice's end or start, any alignment,
// empty slices), with and without the SIMD kernels.
func TestPrefetch(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	for _, n := range append([]int{0, 2, 5}, oct1Sizes...) {
		for off := range 17 {
			base := randSlice(r, n+off+16)
			want := append([]float32(nil), base...)
			bothWays(t, func(t *testing.T) {
				Prefetch(base[off : off+n])
				Prefetch(base[len(base)-n:])
				for i := range base {
					if base[i] != want[i] {
						t.Fatalf("n %d, off %d: [%d] changed", n, off, i)
					}
				}
			})
		}
	}
}

func BenchmarkOct1(b *testing.B) {
	const n = Recur8Block
	r := rand.New(rand.NewPCG(59, 60))
	delta, u, bb, c, gate := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
	da, w, out := make([]float32, n), make([]float32, n), make([]float32, n)
	var h [8]float32
	var da8, w8 [8][Recur8Block]float32
	for k := range 8 {
		for i := range n {
			da8[k][i], w8[k][i] = 0.9, 0.1
		}
	}
	for _, tc := range []struct {
		name  string
		elems int
		f     func()
	}{
		{"Prep", n, func() { Oct1Prep(da, w, delta, u, bb, 0.1, -0.5) }},
		{"Recur8", 8 * n, func() { Recur8(&h, &da8, &w8, n, false) }},
		{"Recur8Rev", 8 * n, func() { Recur8(&h, &da8, &w8, n, true) }},
		{"Out", n, func() { Oct1Out(out, w, u, c, gate, 0.3) }},
		{"OutAcc", n, func() { Oct1OutAcc(out, w, u, c, gate, 0.3) }},
		{"Prefetch", n, func() { Prefetch(u) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchModes(b, func(b *testing.B) {
				b.SetBytes(int64(4 * tc.elems))
				for b.Loop() {
					tc.f()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tc.elems), "ns/elem")
			})
		})
	}
}

func TestLayerNorm2dPixelsMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	for _, c := range []int{1, 3, 96, 97} {
		for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 49, 64, 70} {
			stride := n + 5
			x := randSlice(r, (c-1)*stride+n)
			for i := range x {
				x[i] = 3 + 2*x[i] // an offset mean, as residual streams have
			}
			w, b := randSlice(r, c), randSlice(r, c)
			want := make([]float32, len(x))
			LayerNorm2dPixelsGo(want, x, w, b, c, stride, n, 1e-6)
			bothWays(t, func(t *testing.T) {
				got, all := guarded(len(x))
				copy(got, x) // the gaps between pixel runs must stay as they are
				LayerNorm2dPixels(got, x, w, b, c, stride, n, 1e-6)
				checkGuards(t, all, len(x))
				for ch := range c {
					for i := range stride {
						k := ch*stride + i
						if k >= len(x) {
							break
						}
						if i >= n {
							if got[k] != x[k] {
								t.Fatalf("c %d n %d: wrote outside the pixels at channel %d, column %d", c, n, ch, i)
							}
							continue
						}
						if !relClose(float64(got[k]), float64(want[k]), 1e-5, 1e-5) {
							t.Fatalf("c %d n %d ch %d i %d: %v, want %v", c, n, ch, i, got[k], want[k])
						}
					}
				}
				// In place.
				in := append([]float32(nil), x...)
				LayerNorm2dPixels(in, in, w, b, c, stride, n, 1e-6)
				for ch := range c {
					for i := range n {
						if k := ch*stride + i; in[k] != got[k] {
							t.Fatalf("in place: c %d n %d ch %d i %d: %v, want %v", c, n, ch, i, in[k], got[k])
						}
					}
				}
			})
		}
	}
}

func BenchmarkLayerNorm2dPixels(b *testing.B) {
	const c, hw = 96, 3136
	r := rand.New(rand.NewPCG(67, 68))
	x, w, bb := randSlice(r, c*hw), randSlice(r, c), randSlice(r, c)
	dst := make([]float32, c*hw)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(8 * c * hw)
		for b.Loop() {
			for p0 := 0; p0 < hw; p0 += 64 {
				LayerNorm2dPixels(dst[p0:], x[p0:], w, bb, c, hw, min(64, hw-p0), 1e-6)
			}
		}
	})
}

func TestTransposeMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(69, 70))
	for _, h := range []int{1, 3, 7, 8, 9, 14, 16, 28, 49} {
		for _, w := range []int{1, 5, 8, 13, 14, 17, 56} {
			src := randSlice(r, h*w)
			want := make([]float32, h*w)
			TransposeGo(want, src, h, w)
			for i := range h {
				for j := range w {
					if want[j*h+i] != src[i*w+j] {
						t.Fatalf("TransposeGo %d×%d wrong at (%d, %d)", h, w, i, j)
					}
				}
			}
			bothWays(t, func(t *testing.T) {
				got, all := guarded(h * w)
				Transpose(got, src, h, w)
				checkGuards(t, all, h*w)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%d×%d: element %d = %v, want %v", h, w, i, got[i], want[i])
					}
				}
			})
		}
	}
}

func BenchmarkTranspose(b *testing.B) {
	for _, s := range []int{14, 56} {
		r := rand.New(rand.NewPCG(71, 72))
		src, dst := randSlice(r, 96*s*s), make([]float32, 96*s*s)
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			benchModes(b, func(b *testing.B) {
				b.SetBytes(int64(8 * len(src)))
				for b.Loop() {
					for p := 0; p < len(src); p += s * s {
						Transpose(dst[p:], src[p:], s, s)
					}
				}
			})
		})
	}
}

func TestDW3RowMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(77, 78))
	for _, n := range []int{1, 2, 3, 9, 10, 11, 14, 17, 28, 56, 57} {
		r0, r1, r2, w := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, 9)
		want := make([]float32, n)
		DW3RowGo(want, r0, r1, r2, w, 0.25)
		// The definition, tap by tap with explicit bounds.
		for x := range n {
			s := float32(0.25)
			for i, row := range [3][]float32{r0, r1, r2} {
				for j := range 3 {
					if k := x + j - 1; k >= 0 && k < n {
						s += w[3*i+j] * row[k]
					}
				}
			}
			if !relClose(float64(want[x]), float64(s), 1e-6, 1e-7) {
				t.Fatalf("DW3RowGo n %d x %d: %v, want %v", n, x, want[x], s)
			}
		}
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			DW3Row(got, r0, r1, r2, w, 0.25)
			checkGuards(t, all, n)
			for x := range n {
				if !relClose(float64(got[x]), float64(want[x]), 1e-6, 1e-7) {
					t.Fatalf("n %d x %d: %v, want %v", n, x, got[x], want[x])
				}
			}
		})
	}
}

func TestAddScalarMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(79, 80))
	for _, n := range []int{0, 1, 31, 32, 33, 100} {
		x := randSlice(r, n)
		want := append([]float32(nil), x...)
		AddScalarGo(want, 0.5)
		bothWays(t, func(t *testing.T) {
			got, all := guarded(n)
			copy(got, x)
			AddScalar(got, 0.5)
			checkGuards(t, all, n)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("n %d i %d: %v, want %v", n, i, got[i], want[i])
				}
			}
		})
	}
}

func BenchmarkDW3Row(b *testing.B) {
	r := rand.New(rand.NewPCG(81, 82))
	const n = 56
	r0, r1, r2, w, o := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, 9), make([]float32, n)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(4 * 4 * n)
		for b.Loop() {
			DW3Row(o, r0, r1, r2, w, 0.1)
		}
	})
}

func BenchmarkAddScalar(b *testing.B) {
	x := make([]float32, 3136)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(8 * int64(len(x)))
		for b.Loop() {
			AddScalar(x, 1e-3)
		}
	})
}

func TestGather2MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(83, 84))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 56, 112} {
		for _, extra := range []int{0, 1} { // src of 2n−1 and 2n elements
			src := randSlice(r, max(0, 2*n-1+extra))
			want := make([]float32, n)
			Gather2Go(want, src)
			bothWays(t, func(t *testing.T) {
				got, all := guarded(n)
				Gather2(got, src)
				checkGuards(t, all, n)
				for k := range got {
					if got[k] != want[k] || got[k] != src[2*k] {
						t.Fatalf("n %d k %d: %v, want %v", n, k, got[k], src[2*k])
					}
				}
			})
		}
	}
}

func BenchmarkGather2(b *testing.B) {
	src, dst := make([]float32, 224), make([]float32, 112)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(12 * int64(len(dst)))
		for b.Loop() {
			Gather2(dst, src)
		}
	})
}

// TestDeltaRowMatchesTwin checks the Δ projection against its twin for
// 1 to 48 rows (VMamba's dt ranks 6–48) on odd lengths, with guards, and
// against MatMul's own micro-kernel: the SIMD kernels must equal Kernel's
// elements bit for bit (same fused multiply-adds in the same order).
func TestDeltaRowMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(59, 60))
	for _, rows := range []int{1, 6, 24, 48, 64, 65} { // 65: the tail through the twin
		for _, n := range oct1Sizes {
			stride := n + 5
			x, w := randSlice(r, (rows-1)*stride+n), randSlice(r, rows)
			want := make([]float32, n)
			DeltaRowGo(want, x, stride, w)
			bothWays(t, func(t *testing.T) {
				got, all := guarded(n)
				DeltaRow(got, x, stride, w)
				checkGuards(t, all, n)
				for i := range n {
					var mag float64
					for k := range rows {
						mag += math.Abs(float64(w[k] * x[k*stride+i]))
					}
					if !relClose(float64(got[i]), float64(want[i]), 0, 1e-6*mag) {
						t.Fatalf("rows %d n %d i %d: %v, want %v", rows, n, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestDeltaRowIsKernel checks that DeltaRow (whole SIMD vectors and a
// padded tail) equals the GEMM micro-kernel's products of the same operands
// (one MR-row panel of w, one NR-column panel of x), bit for bit.
func TestDeltaRowIsKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, rows := range []int{1, 6, 24, 48} {
		x, w := randSlice(r, rows*NR), randSlice(r, MR*rows)
		ap, bp := make([]float32, MR*rows), make([]float32, NR*rows)
		PackA(ap, w, rows, false, MR, rows)
		PackB(bp, x, NR, false, NR, rows)
		bothWays(t, func(t *testing.T) {
			c := make([]float32, MR*NR)
			Kernel(rows, ap, bp, c, NR, 1, 0)
			if !Enabled() {
				t.Skip("the pure-Go kernels do not fuse multiply-adds")
			}
			for i := range MR {
				for _, n := range []int{NR, NR - 3} { // NR − 3: a padded tail vector
					got := make([]float32, n)
					DeltaRow(got, x, NR, w[i*rows:(i+1)*rows])
					for j := range n {
						if got[j] != c[i*NR+j] {
							t.Fatalf("rows %d, %d steps: row %d col %d: %v, micro-kernel %v", rows, n, i, j, got[j], c[i*NR+j])
						}
					}
				}
			}
		})
	}
}

func BenchmarkDeltaRow(b *testing.B) {
	r := rand.New(rand.NewPCG(63, 64))
	const n, rows = Recur8Block, 24 // a block of vmamba-tiny's stage 3
	x, w, dst := randSlice(r, rows*n), randSlice(r, rows), make([]float32, n)
	benchModes(b, func(b *testing.B) {
		for b.Loop() {
			DeltaRow(dst, x, n, w)
		}
		b.ReportMetric(float64(b.N*n*rows)/b.Elapsed().Seconds()/1e9, "GFMA/s")
	})
}
