package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestPointwiseConv checks the fused 1×1 convolution against Conv2d, Unary
// and Add: bit for bit without accumulate (the same GEMM, bias add and
// activation), within rounding of the residual sum with it; with and
// without prepacked weights, on ragged rows and columns, several depth
// blocks and epilogue bands, batches, 1 to 3 threads and both backends,
// with guard values after dst.
func TestPointwiseConv(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, c := range []struct {
		bt, cin, cout, h, w int
	}{
		{1, 96, 384, 56, 56}, // vmamba fc1, stage 1
		{1, 384, 96, 14, 14}, // fc2-like: K over one depth block
		{2, 600, 37, 7, 7},   // several depth blocks, ragged rows, batch
		{1, 13, 11, 3, 5},    // tiny: the unpacked reference loop
		{1, 40, 50, 9, 31},   // 279 columns: three epilogue bands
	} {
		for _, prepack := range []bool{true, false} {
			for _, act := range []Activation{ActNone, ActGELU, ActSiLU} {
				for _, acc := range []bool{false, true} {
					if acc && act != ActNone {
						continue
					}
					for _, be := range []Backend{CPU(), CPUSerial()} {
						name := fmt.Sprintf("%+v/prepack=%v/%v/acc=%v/serial=%v", c, prepack, act, acc, be == CPUSerial())
						t.Run(name, func(t *testing.T) {
							x := rndT(r, 1, c.bt, c.cin, c.h, c.w)
							w := rndT(r, 0.1, c.cout, c.cin, 1, 1)
							plain := w.Clone()
							bias := rndT(r, 1, c.cout)
							if prepack {
								Prepack(be, w)
							}
							init := rndT(r, 1, c.bt, c.cout, c.h, c.w)
							want := init.Clone()
							y := New(want.Shape()...)
							be.Conv2d(y, x, plain, bias, Conv2dParams{})
							be.Unary(y, y, act)
							if acc {
								be.Add(want, want, y)
							} else {
								want = y
							}
							for _, procs := range []int{1, 2, 3} {
								func() {
									defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
									buf := append(append([]float32(nil), init.Data...), gemmGuard, gemmGuard)
									got := MustFromSlice(buf[:init.Len()], init.Shape()...)
									be.(FusedPointwise).PointwiseConv(got, x, w, bias, act, acc)
									tol := 0.0
									if acc {
										tol = 1e-6
									}
									closeTo(t, fmt.Sprint("procs ", procs), got.Data, f64(want.Data), tol, tol)
									if buf[init.Len()] != gemmGuard || buf[init.Len()+1] != gemmGuard {
										t.Fatalf("procs %d: guard overwritten", procs)
									}
								}()
							}
						})
					}
				}
			}
		}
	}
}

// TestPointwiseConvPanics checks the shape contract, including an
// activation with accumulate.
func TestPointwiseConvPanics(t *testing.T) {
	x, w, dst := New(1, 4, 2, 2), New(3, 4, 1, 1), New(1, 3, 2, 2)
	for name, f := range map[string]func(){
		"act with accumulate": func() { CPU().(FusedPointwise).PointwiseConv(dst, x, w, nil, ActGELU, true) },
		"wrong cout":          func() { CPU().(FusedPointwise).PointwiseConv(New(1, 4, 2, 2), x, w, nil, ActNone, false) },
		"3x3 weight":          func() { CPU().(FusedPointwise).PointwiseConv(dst, x, New(3, 4, 3, 3), nil, ActNone, false) },
		"bias length":         func() { CPU().(FusedPointwise).PointwiseConv(dst, x, w, New(4), ActNone, false) },
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

// BenchmarkPointwiseConv compares vmamba-tiny's fc1 (bias + GELU) and fc2
// (bias + residual add) at stage 1 and 3 fused into the GEMM against
// Conv2d, Unary and Add, with prepacked weights and Parallel's helpers held
// as vmamba's forward holds them.
func BenchmarkPointwiseConv(b *testing.B) {
	defer HoldWorkers()()
	r := rand.New(rand.NewPCG(63, 64))
	be := CPU()
	for _, c := range []struct {
		name            string
		cin, cout, side int
		act             Activation
		acc             bool
	}{
		{"s1-fc1-gelu", 96, 384, 56, ActGELU, false},
		{"s1-fc2-add", 384, 96, 56, ActNone, true},
		{"s3-fc1-gelu", 384, 1536, 14, ActGELU, false},
		{"s3-fc2-add", 1536, 384, 14, ActNone, true},
	} {
		x := rndT(r, 1, 1, c.cin, c.side, c.side)
		w := rndT(r, 0.1, c.cout, c.cin, 1, 1)
		bias := rndT(r, 1, c.cout)
		Prepack(be, w)
		dst := New(1, c.cout, c.side, c.side)
		y := New(dst.Shape()...)
		flops := 2 * float64(c.cin*c.cout*c.side*c.side)
		b.Run(c.name+"/fused", func(b *testing.B) {
			for b.Loop() {
				be.(FusedPointwise).PointwiseConv(dst, x, w, bias, c.act, c.acc)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(c.name+"/separate", func(b *testing.B) {
			for b.Loop() {
				be.Conv2d(y, x, w, bias, Conv2dParams{})
				if c.act != ActNone {
					be.Unary(y, y, c.act)
				}
				if c.acc {
					be.Add(dst, dst, y)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
