package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = r.Float32()*2 - 1
	}
	return t
}

func TestBF16MatrixRoundsAndWidens(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, sh := range [][2]int{{1, 1}, {3, 17}, {4, 16}, {5, 33}, {67, 48}} {
		n, k := sh[0], sh[1]
		w := randTensor(r, n, k)
		w.Data[0] = float32(math.Inf(-1))
		m := NewBF16Matrix(w)
		if gn, gk := m.Dims(); gn != n || gk != k {
			t.Fatalf("Dims = %d, %d, want %d, %d", gn, gk, n, k)
		}
		wide := New(n, k)
		m.Widen(wide)
		row := make([]float32, k)
		for i := range n {
			m.Row(row, i)
			for j := range k {
				want := asm.BF16ToFloat32(asm.Float32ToBF16(w.Data[i*k+j]))
				if got := m.At(i, j); got != want {
					t.Fatalf("%dx%d: At(%d, %d) = %v, want %v", n, k, i, j, got, want)
				}
				if wide.Data[i*k+j] != want || row[j] != want {
					t.Fatalf("%dx%d: Widen/Row (%d, %d) = %v / %v, want %v", n, k, i, j, wide.Data[i*k+j], row[j], want)
				}
				if d := math.Abs(float64(want - w.Data[i*k+j])); d > math.Abs(float64(w.Data[i*k+j]))/256 {
					t.Fatalf("rounding error %v at (%d, %d) is more than half an ulp of bf16", d, i, j)
				}
			}
		}
	}
}

func TestLinearBF16ShapePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("LinearBF16 accepted x (1, 5) with w (3, 4)")
		}
	}()
	w := NewBF16Matrix(New(3, 4))
	CPU().(BF16Linear).LinearBF16(New(1, 3), New(1, 5), w, nil)
}

// BenchmarkNewBF16Matrix times the rounding and panel packing of a
// 3072×768 weight (load time); bytes are the fp32 weights read.
func BenchmarkNewBF16Matrix(b *testing.B) {
	w := randTensor(rand.New(rand.NewPCG(37, 38)), 3072, 768)
	b.SetBytes(int64(4 * w.Len()))
	for b.Loop() {
		NewBF16Matrix(w)
	}
}
