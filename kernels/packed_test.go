package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// packedFormats are the PackedMatrix storages under test, by name.
var packedFormats = []struct {
	name string
	make func(*Tensor) PackedMatrix
}{
	{"bf16", func(w *Tensor) PackedMatrix { return NewBF16Matrix(w) }},
	{"int8row", func(w *Tensor) PackedMatrix { return NewInt8Matrix(w, 0) }},
	{"int8g32", func(w *Tensor) PackedMatrix { return NewInt8Matrix(w, 32) }},
	{"int8g64", func(w *Tensor) PackedMatrix { return NewInt8Matrix(w, 64) }},
}

// TestLinearPacked compares LinearPacked (and LinearBF16) with Linear on
// the widened weights (the same function up to the order of the fp32
// sums) for every storage, on the matrix-vector path (m ≤ 4) and the
// widened-GEMM path, odd sizes, with and without bias, on the parallel and
// the serial backend.
func TestLinearPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, be := range []Backend{CPU(), CPUSerial()} {
		lp := be.(PackedLinear)
		for _, f := range packedFormats {
			for _, m := range []int{1, 2, 4, 5, 17} {
				for _, sh := range [][2]int{{1, 1}, {5, 15}, {4, 16}, {67, 33}, {130, 768}, {300, 48}} {
					for _, withBias := range []bool{false, true} {
						n, k := sh[0], sh[1]
						name := fmt.Sprintf("%s/%s/m%d/n%d/k%d/bias%v", map[bool]string{true: "serial", false: "par"}[be == CPUSerial()], f.name, m, n, k, withBias)
						w, x := randTensor(r, n, k), randTensor(r, m, k)
						var bias *Tensor
						if withBias {
							bias = randTensor(r, n)
						}
						wp := f.make(w)
						wide := New(n, k)
						wp.Widen(wide)
						want := New(m, n)
						be.Linear(want, x, wide, bias)
						got := New(m, n)
						for i := range got.Data {
							got.Data[i] = float32(math.NaN())
						}
						if wb, ok := wp.(*BF16Matrix); ok {
							be.(BF16Linear).LinearBF16(got, x, wb, bias)
						} else {
							lp.LinearPacked(got, x, wp, bias)
						}
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
}

// BenchmarkLinearPacked runs the matrix-vector products of one mamba-130m
// decode step's shapes (in_proj 3072×768, out_proj 768×1536, the 50280×768
// LM head) with fp32, bf16 and int8 (groups of 64) weights, cycling over
// enough copies to exceed the last-level cache; bytes are the weights
// read, so MB/s compares the storages' bandwidth and ns/op their time.
func BenchmarkLinearPacked(b *testing.B) {
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
		for _, f := range []func(*Tensor) PackedMatrix{packedFormats[0].make, packedFormats[3].make} {
			wp := make([]PackedMatrix, copies)
			for i := range wp {
				wp[i] = f(ws[i])
			}
			name := map[bool]string{true: "bf16", false: "int8"}[wp[0].Bytes() > int64(sh.n*sh.k*3/2)]
			b.Run(sh.name+"/"+name, func(b *testing.B) {
				b.SetBytes(wp[0].Bytes())
				lp := CPU().(PackedLinear)
				i := 0
				for b.Loop() {
					lp.LinearPacked(dst, x, wp[i%copies], nil)
					i++
				}
			})
		}
	}
}
