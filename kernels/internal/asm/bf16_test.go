package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randBF16 returns n random bfloat16 values in (−1, 1), with a few
// special ones (±0, a subnormal, large magnitudes).
func randBF16(r *rand.Rand, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = Float32ToBF16(r.Float32()*2 - 1)
	}
	special := []uint16{0x0000, 0x8000, 0x0001, 0x4780, 0xc6fa}
	for i := 0; i < len(s) && i < len(special); i++ {
		s[(i*7919)%len(s)] = special[i]
	}
	return s
}

func TestBF16Conversions(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{1, 0x3f80}, {-1, 0xbf80}, {0, 0}, {inf, 0x7f80}, {-inf, 0xff80},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // max float rounds to +Inf
	} {
		if got := Float32ToBF16(c.f); got != c.h {
			t.Errorf("Float32ToBF16(%v = %#08x) = %#04x, want %#04x", c.f, math.Float32bits(c.f), got, c.h)
		}
	}
	if h := Float32ToBF16(float32(math.NaN())); BF16ToFloat32(h) == BF16ToFloat32(h) {
		t.Errorf("Float32ToBF16(NaN) = %#04x, not a NaN", h)
	}
	if h := Float32ToBF16(math.Float32frombits(0x7f800001)); BF16ToFloat32(h) == BF16ToFloat32(h) {
		t.Errorf("Float32ToBF16(NaN with a low payload) = %#04x, not a NaN", h)
	}
	if got := BF16ToFloat32(0x4049); got != 3.140625 {
		t.Errorf("BF16ToFloat32(0x4049) = %v, want 3.140625", got)
	}
}

func TestDotPanelBF16MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, kb := range []int{0, 1, 2, 3, 5, 48, 96, 97} {
		x, w := randSlice(r, 16*kb), randBF16(r, 64*kb)
		var want [4]float32
		DotPanelBF16Go(kb, x, w, &want)
		bothWays(t, func(t *testing.T) {
			got := [4]float32{guard, guard, guard, guard}
			DotPanelBF16(kb, x, w, &got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 2e-6*float64(16*kb+1)*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("kb=%d: out[%d] = %v, twin %v", kb, i, got[i], want[i])
				}
			}
		})
	}
}

func TestDotPanelBF16BadOperands(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("DotPanelBF16 accepted a short panel")
		}
	}()
	var out [4]float32
	DotPanelBF16(2, make([]float32, 32), make([]uint16, 127), &out)
}

func TestWidenPanelBF16MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, kb := range []int{0, 1, 2, 7, 48} {
		for _, pad := range []int{0, 5} {
			ld := 16*kb + pad
			n := 3*ld + 16*kb
			w := randBF16(r, 64*kb)
			want := make([]float32, n)
			for i := range want {
				want[i] = guard
			}
			WidenPanelBF16Go(kb, w, want, ld)
			for b := 0; b < kb; b++ {
				for row := 0; row < 4; row++ {
					for i := 0; i < 16; i++ {
						if math.Float32bits(want[row*ld+16*b+i]) != uint32(w[64*b+16*row+i])<<16 {
							t.Fatalf("WidenPanelBF16Go: row %d col %d wrong", row, 16*b+i)
						}
					}
				}
			}
			bothWays(t, func(t *testing.T) {
				got, all := guarded(n)
				WidenPanelBF16(kb, w, got, ld)
				checkGuards(t, all, n)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kb=%d ld=%d: dst[%d] = %v, twin %v", kb, ld, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// BenchmarkDotPanelBF16 times one 4×768 panel (L1-resident) per call;
// bytes are the weights read.
func BenchmarkDotPanelBF16(b *testing.B) {
	const kb = 48
	r := rand.New(rand.NewPCG(25, 26))
	x, w := randSlice(r, 16*kb), randBF16(r, 64*kb)
	var out [4]float32
	benchModes(b, func(b *testing.B) {
		b.SetBytes(64 * kb * 2)
		for b.Loop() {
			DotPanelBF16(kb, x, w, &out)
		}
	})
}

// BenchmarkGEMVStream streams a 3072×768 matrix per op on one goroutine,
// as bf16 panels (DotPanelBF16) and as fp32 rows (Dot4), cycling over 24
// copies (mamba-130m's in_proj weights, bigger than the last-level cache);
// bytes are the weights read, so MB/s compares the two formats' memory
// bandwidth and ns/op their time.
func BenchmarkGEMVStream(b *testing.B) {
	const n, k, layers = 3072, 768, 24
	r := rand.New(rand.NewPCG(27, 28))
	x := randSlice(r, k)
	b.Run("bf16", func(b *testing.B) {
		ws := make([][]uint16, layers)
		for i := range ws {
			ws[i] = randBF16(r, n*k)
		}
		var out [4]float32
		b.SetBytes(n * k * 2)
		i := 0
		for b.Loop() {
			w := ws[i%layers]
			for j := 0; j < n; j += 4 {
				DotPanelBF16(k/16, x, w[j*k:], &out)
			}
			i++
		}
	})
	b.Run("fp32", func(b *testing.B) {
		ws := make([][]float32, layers)
		for i := range ws {
			ws[i] = randSlice(r, n*k)
		}
		var out [4]float32
		b.SetBytes(n * k * 4)
		i := 0
		for b.Loop() {
			w := ws[i%layers]
			for j := 0; j < n; j += 4 {
				Dot4(k, x, w[j*k:], k, &out)
			}
			i++
		}
	})
}

func BenchmarkWidenPanelBF16(b *testing.B) {
	const kb = 48
	r := rand.New(rand.NewPCG(29, 30))
	w, dst := randBF16(r, 64*kb), make([]float32, 64*kb)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(64 * kb * 6)
		for b.Loop() {
			WidenPanelBF16(kb, w, dst, 16*kb)
		}
	})
}
