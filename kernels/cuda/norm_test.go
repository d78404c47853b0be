package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
)

// addNorm is AddNorm on the GPU and its definition (Add, then RMSNorm or
// LayerNorm) elsewhere.
func addNorm(b kernels.Backend, dst, residual, h, w, bias *kernels.Tensor, eps float32, rms bool) {
	if g, ok := b.(*Backend); ok {
		g.AddNorm(dst, residual, h, w, bias, eps, rms)
		return
	}
	addThenNorm(b, dst, residual, h, w, bias, eps, rms)
}

// addThenNorm is AddNorm's definition as two ops: Add, then RMSNorm or
// LayerNorm.
func addThenNorm(b kernels.Backend, dst, residual, h, w, bias *kernels.Tensor, eps float32, rms bool) {
	b.Add(residual, residual, h)
	if rms {
		b.RMSNorm(dst, residual, w, eps)
	} else {
		b.LayerNorm(dst, residual, w, bias, eps)
	}
}

// TestAddNormVsCPU compares the fused residual add + norm with the CPU's Add
// followed by the norm (both outputs: the updated residual and dst), and
// with the GPU's own two-kernel path, which it must equal bit for bit.
func TestAddNormVsCPU(t *testing.T) {
	be := openGPU(t)
	r := rand.New(rand.NewPCG(61, 62))
	var cases []opCase
	for _, s := range []struct{ bt, l, c int }{{2, 197, 192}, {1, 7, 33}, {3, 5, 1000}, {1, 1, 1}} {
		for _, kind := range []string{"rms", "layer", "layer-nobias"} {
			rms := kind == "rms"
			var bias *kernels.Tensor
			if kind == "layer" {
				bias = randT(r, 0.1, s.c)
			}
			in := []*kernels.Tensor{randT(r, 1, s.bt, s.l, s.c), randT(r, 1, s.bt, s.l, s.c), randT(r, 1, s.c), bias}
			run := func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, s.bt, s.l, s.c)
				addNorm(b, dst, in[0], in[1], in[2], in[3], 1e-5, rms)
				return []*kernels.Tensor{dst, in[0]}
			}
			name := fmt.Sprintf("%+v/%s", s, kind)
			cases = append(cases, opCase{name: name, in: in, run: run})
			t.Run(name+"/bitexact", func(t *testing.T) {
				res1, res2 := be.FromHost(in[0]), be.FromHost(in[0])
				h, w := be.FromHost(in[1]), be.FromHost(in[2])
				var bb *kernels.Tensor
				if in[3] != nil {
					bb = be.FromHost(in[3])
				}
				d1, d2 := be.New(s.bt, s.l, s.c), be.New(s.bt, s.l, s.c)
				be.AddNorm(d1, res1, h, w, bb, 1e-5, rms)
				addThenNorm(be, d2, res2, h, w, bb, 1e-5, rms)
				require.Equal(t, be.ToHost(d2).Data, be.ToHost(d1).Data)
				require.Equal(t, be.ToHost(res2).Data, be.ToHost(res1).Data)
				// dst aliasing h (Vim's hidden buffer holds the norm output).
				res3, h3 := be.FromHost(in[0]), be.FromHost(in[1])
				be.AddNorm(h3, res3, h3, w, bb, 1e-5, rms)
				require.Equal(t, be.ToHost(d2).Data, be.ToHost(h3).Data)
				require.Equal(t, be.ToHost(res2).Data, be.ToHost(res3).Data)
			})
		}
	}
	runOpCases(t, be, cases)
}

// BenchmarkAddNorm compares the fused residual add + RMSNorm with Add then
// RMSNorm at vim-tiny's 1248² chunk shape (22 images × 6085 tokens × 192).
func BenchmarkAddNorm(b *testing.B) {
	be := openGPU(b)
	r := rand.New(rand.NewPCG(63, 64))
	res, h := be.FromHost(randT(r, 1, 22, 6085, 192)), be.FromHost(randT(r, 1, 22, 6085, 192))
	w, dst := be.FromHost(randT(r, 1, 192)), be.New(22, 6085, 192)
	for _, fused := range []bool{true, false} {
		b.Run(fmt.Sprintf("fused=%v", fused), func(b *testing.B) {
			sec := gpuLoop(b, be, func() {
				if fused {
					be.AddNorm(dst, res, h, w, nil, 1e-5, true)
				} else {
					be.Add(res, res, h)
					be.RMSNorm(dst, res, w, 1e-5)
				}
			})
			b.ReportMetric(sec*1e6, "µs/call")
		})
	}
}
