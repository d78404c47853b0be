package kernels

import (
	"fmt"
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

// TestLinearBF16 compares LinearBF16 with Linear on the widened weights
// (the same function up to the order of the fp32 sums), on the
// matrix-vector path (m ≤ 4) and the widened-GEMM path, odd sizes, with
// and without bias, on the parallel and the serial backend.
func TestLinearBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, be := range []Backend{CPU(), CPUSerial()} {
		lb := be.(BF16Linear)
		for _, m := range []int{1, 2, 4, 5, 17} {
			for _, sh := range [][2]int{{1, 1}, {5, 15}, {4, 16}, {67, 33}, {130, 768}, {300, 48}} {
				for _, withBias := range []bool{false, true} {
					n, k := sh[0], sh[1]
					name := fmt.Sprintf("%s/m%d/n%d/k%d/bias%v", map[bool]string{true: "serial", false: "par"}[be == CPUSerial()], m, n, k, withBias)
					w, x := randTensor(r, n, k), randTensor(r, m, k)
					var bias *Tensor
					if withBias {
						bias = randTensor(r, n)
					}
					wb := NewBF16Matrix(w)
					wide := New(n, k)
					wb.Widen(wide)
					want := New(m, n)
					be.Linear(want, x, wide, bias)
					got := New(m, n)
					for i := range got.Data {
						got.Data[i] = float32(math.NaN())
					}
					lb.LinearBF16(got, x, wb, bias)
					for i := range got.Data {
						if d := math.Abs(float64(got.Data[i] - want.Data[i])); !(d <= 1e-5*float64(k)) {
							t.Fatalf("%s: dst[%d] = %v, Linear on widened weights %v", name, i, got.Data[i], want.Data[i])
						}
					}
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

// BenchmarkLinearBF16 runs the matrix-vector products of one mamba-130m
// decode step's shapes (in_proj 3072×768, out_proj 768×1536, the 50280×768
// LM head) with bf16 and fp32 weights, cycling over enough copies to
// exceed the last-level cache; bytes are the weights read.
func BenchmarkLinearBF16(b *testing.B) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, sh := range []struct {
		name string
		n, k int
	}{{"in_proj", 3072, 768}, {"out_proj", 768, 1536}, {"head", 50280, 768}} {
		copies := max(1, (256<<20)/(4*sh.n*sh.k))
		x, dst := randTensor(r, 1, sh.k), New(1, sh.n)
		ws := make([]*Tensor, copies)
		for i := range ws {
			ws[i] = randTensor(r, sh.n, sh.k)
		}
		b.Run(sh.name+"/fp32", func(b *testing.B) {
			b.SetBytes(int64(4 * sh.n * sh.k))
			i := 0
			for b.Loop() {
				CPU().Linear(dst, x, ws[i%copies], nil)
				i++
			}
		})
		wb := make([]*BF16Matrix, copies)
		for i := range wb {
			wb[i] = NewBF16Matrix(ws[i])
		}
		b.Run(sh.name+"/bf16", func(b *testing.B) {
			b.SetBytes(int64(2 * sh.n * sh.k))
			lb := CPU().(BF16Linear)
			i := 0
			for b.Loop() {
				lb.LinearBF16(dst, x, wb[i%copies], nil)
				i++
			}
		})
	}
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
