package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestInt8MatrixQuantises checks the quantisation of NewInt8Matrix against
// its definition (scale max|w|/127 per row group, round to nearest) and
// that At, Row and Widen dequantise the same values, for per-row and
// grouped scales, odd shapes, a zero row and non-finite weights.
func TestInt8MatrixQuantises(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, group := range []int{0, 16, 32, 64} {
		for _, sh := range [][2]int{{1, 1}, {3, 17}, {4, 16}, {5, 33}, {67, 48}, {9, 130}} {
			n, k := sh[0], sh[1]
			w := randTensor(r, n, k)
			if n > 2 {
				clear(w.Data[k : 2*k]) // a zero row: scale 0
				w.Data[2*k] = float32(math.NaN())
				w.Data[2*k+k-1] = float32(math.Inf(-1))
			}
			m := NewInt8Matrix(w, group)
			if gn, gk := m.Dims(); gn != n || gk != k {
				t.Fatalf("Dims = %d, %d, want %d, %d", gn, gk, n, k)
			}
			g := m.Group()
			if group > 0 && g != min(group, 16*ceilDiv(k, 16)) || group == 0 && g < k {
				t.Fatalf("group %d, k %d: Group() = %d", group, k, g)
			}
			wide := New(n, k)
			m.Widen(wide)
			row := make([]float32, k)
			for i := range n {
				m.Row(row, i)
				for j0 := 0; j0 < k; j0 += g {
					src := w.Data[i*k+j0 : i*k+min(j0+g, k)]
					amax := float32(0)
					for _, v := range src {
						if a := float32(math.Abs(float64(v))); a > amax && !math.IsInf(float64(a), 0) {
							amax = a
						}
					}
					s := amax / 127
					for c, v := range src {
						j := j0 + c
						got := m.At(i, j)
						if wide.Data[i*k+j] != got || row[j] != got {
							t.Fatalf("group %d %dx%d: Widen/Row (%d, %d) = %v / %v, At %v", group, n, k, i, j, wide.Data[i*k+j], row[j], got)
						}
						switch {
						case v != v:
							if got != 0 {
								t.Fatalf("NaN weight dequantises to %v, want 0", got)
							}
						case math.IsInf(float64(v), 0):
							if got != -127*s {
								t.Fatalf("-Inf weight dequantises to %v, want %v", got, -127*s)
							}
						default:
							if d := math.Abs(float64(got - v)); d > float64(s)/2*(1+1e-6) {
								t.Fatalf("group %d (%d, %d): |%v − %v| = %v, more than half a step %v", group, i, j, got, v, d, s/2)
							}
						}
					}
				}
			}
		}
	}
	for _, bad := range []int{-16, 8, 40} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewInt8Matrix accepted group %d", bad)
				}
			}()
			NewInt8Matrix(New(2, 32), bad)
		}()
	}
}

// TestInt8MatrixBytes checks the storage size: one byte per (padded)
// weight plus 4 bytes per group of each (padded) row.
func TestInt8MatrixBytes(t *testing.T) {
	for _, c := range []struct{ n, k, group, want int }{
		{3072, 768, 0, 3072*768 + 4*3072},
		{3072, 768, 64, 3072*768 + 4*3072*12},
		{5, 33, 32, 8*48 + 4*8*2},
	} {
		if got := NewInt8Matrix(New(c.n, c.k), c.group).Bytes(); got != int64(c.want) {
			t.Errorf("%dx%d group %d: Bytes = %d, want %d", c.n, c.k, c.group, got, c.want)
		}
	}
}

func TestLinearInt8ShapePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("LinearPacked accepted x (1, 5) with w (3, 4)")
		}
	}()
	CPU().(PackedLinear).LinearPacked(New(1, 3), New(1, 5), NewInt8Matrix(New(3, 4), 0), nil)
}

// BenchmarkNewInt8Matrix times the quantisation and panel packing of a
// 3072×768 weight with groups of 64 (load time); bytes are the fp32
// weights read.
func BenchmarkNewInt8Matrix(b *testing.B) {
	w := randTensor(rand.New(rand.NewPCG(53, 54)), 3072, 768)
	b.SetBytes(int64(4 * w.Len()))
	for b.Loop() {
		NewInt8Matrix(w, 64)
	}
}
