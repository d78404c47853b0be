package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randInt8 returns n random int8 weights, the extremes ±127 and −128
// among them.
func randInt8(r *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(r.IntN(256) - 128)
	}
	for i, v := range []int8{127, -127, -128, 0} {
		if i < n {
			s[(i*7919)%n] = v
		}
	}
	return s
}

// int8Cases are (kb, gb) pairs: one group per row (gb ≥ kb), several
// groups, a short last group, and kb = 0.
var int8Cases = [][2]int{{0, 1}, {1, 1}, {1, 4}, {2, 1}, {3, 2}, {5, 4}, {48, 48}, {48, 4}, {96, 8}, {97, 8}, {3, 100}}

func TestDotPanelInt8MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, c := range int8Cases {
		kb, gb := c[0], c[1]
		groups := (kb + gb - 1) / gb
		x, w, s := randSlice(r, 16*kb), randInt8(r, 64*kb), randSlice(r, 4*groups)
		var want [4]float32
		DotPanelInt8Go(kb, gb, x, w, s, &want)
		// The definition in float64, to check the twin itself.
		for row := range 4 {
			sum := 0.0
			for b := range kb {
				for i := range 16 {
					sum += float64(x[16*b+i]) * float64(w[64*b+16*row+i]) * float64(s[4*(b/gb)+row])
				}
			}
			if math.Abs(sum-float64(want[row])) > 1e-5*float64(16*kb+1)*128 {
				t.Fatalf("kb=%d gb=%d: twin out[%d] = %v, float64 definition %v", kb, gb, row, want[row], sum)
			}
		}
		bothWays(t, func(t *testing.T) {
			got := [4]float32{guard, guard, guard, guard}
			DotPanelInt8(kb, gb, x, w, s, &got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 2e-6*float64(16*kb+1)*(128+math.Abs(float64(want[i]))) {
					t.Fatalf("kb=%d gb=%d: out[%d] = %v, twin %v", kb, gb, i, got[i], want[i])
				}
			}
		})
	}
}

func TestInt8BadOperands(t *testing.T) {
	for name, f := range map[string]func(){
		"short panel": func() {
			DotPanelInt8(2, 2, make([]float32, 32), make([]int8, 127), make([]float32, 4), new([4]float32))
		},
		"short scales": func() {
			DotPanelInt8(3, 2, make([]float32, 48), make([]int8, 192), make([]float32, 4), new([4]float32))
		},
		"zero group": func() { DotPanelInt8(1, 0, make([]float32, 16), make([]int8, 64), make([]float32, 4), new([4]float32)) },
		"short dst":  func() { WidenPanelInt8(1, 1, make([]int8, 64), make([]float32, 4), make([]float32, 63), 16) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestWidenPanelInt8MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, c := range int8Cases {
		kb, gb := c[0], c[1]
		for _, pad := range []int{0, 5} {
			ld := 16*kb + pad
			n := 3*ld + 16*kb
			w, s := randInt8(r, 64*kb), randSlice(r, 4*((kb+gb-1)/gb))
			want := make([]float32, n)
			for i := range want {
				want[i] = guard
			}
			WidenPanelInt8Go(kb, gb, w, s, want, ld)
			for b := 0; b < kb; b++ {
				for row := 0; row < 4; row++ {
					for i := 0; i < 16; i++ {
						if want[row*ld+16*b+i] != float32(w[64*b+16*row+i])*s[4*(b/gb)+row] {
							t.Fatalf("WidenPanelInt8Go: row %d col %d wrong", row, 16*b+i)
						}
					}
				}
			}
			bothWays(t, func(t *testing.T) {
				got, all := guarded(n)
				WidenPanelInt8(kb, gb, w, s, got, ld)
				checkGuards(t, all, n)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kb=%d gb=%d ld=%d: dst[%d] = %v, twin %v", kb, gb, ld, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// BenchmarkDotPanelInt8 times one 4×768 panel (L1-resident) per call
// with groups of 64 columns; bytes are the weights and scales read.
func BenchmarkDotPanelInt8(b *testing.B) {
	const kb, gb = 48, 4
	r := rand.New(rand.NewPCG(45, 46))
	x, w, s := randSlice(r, 16*kb), randInt8(r, 64*kb), randSlice(r, 4*kb/gb)
	var out [4]float32
	benchModes(b, func(b *testing.B) {
		b.SetBytes(64*kb + 16*kb/gb)
		for b.Loop() {
			DotPanelInt8(kb, gb, x, w, s, &out)
		}
	})
}

func BenchmarkWidenPanelInt8(b *testing.B) {
	const kb, gb = 48, 4
	r := rand.New(rand.NewPCG(47, 48))
	w, s, dst := randInt8(r, 64*kb), randSlice(r, 4*kb/gb), make([]float32, 64*kb)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(64 * kb * 5)
		for b.Loop() {
			WidenPanelInt8(kb, gb, w, s, dst, 16*kb)
		}
	})
}
