package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestConv1dVsCPU compares the warp-segment conv1d (and the naive kernel
// for wide kernels) with the CPU backend in both directions: rows of one
// and of many 256-position segments with partial last segments, rows
// shorter than the kernel, K from 1 to conv1dMaxK+1, with and without bias
// (NaN-poisoned outputs catch any position left unwritten).
func TestConv1dVsCPU(t *testing.T) {
	be := openGPU(t)
	r := rand.New(rand.NewPCG(51, 52))
	var cases []opCase
	for _, s := range []struct{ bt, d, l, k int }{
		{1, 5, 1, 4}, {2, 7, 197, 4}, {3, 70, 33, 4}, {1, 3, 4100, 4}, {2, 3, 6085, 4},
		{1, 9, 2048, 4}, {1, 9, 2049, 4}, {2, 5, 40, 1}, {2, 5, 40, 2}, {1, 4, 3000, 7},
		{2, 3, 50, 16}, {2, 3, 50, 17}, {2, 6, 5, 16}, {1, 130, 3, 4}, {1, 3, 256, 4}, {2, 3, 257, 4}, {1, 2, 513, 3},
	} {
		for _, rev := range []bool{false, true} {
			for _, withBias := range []bool{false, true} {
				act := kernels.ActSiLU
				if !withBias {
					act = kernels.ActNone
				}
				var bias *kernels.Tensor
				if withBias {
					bias = randT(r, 0.1, s.d)
				}
				cases = append(cases, opCase{name: fmt.Sprintf("%+v/rev=%v/bias=%v", s, rev, withBias),
					in: []*kernels.Tensor{randT(r, 1, s.bt, s.d, s.l), randT(r, 0.5, s.d, s.k), bias},
					run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
						dst := poisoned(b, s.bt, s.d, s.l)
						if rev {
							b.Conv1dReverse(dst, in[0], in[1], in[2], act)
						} else {
							b.Conv1dCausal(dst, in[0], in[1], in[2], act)
						}
						return []*kernels.Tensor{dst}
					}})
			}
		}
	}
	runOpCases(t, be, cases)
}

// BenchmarkConv1d compares the warp-segment conv1d kernel (both directions)
// with the naive one at vim-tiny's shapes (224² batch 128 and a 1248² chunk
// of 22 images) and reports bandwidth (x read once, out written once) beside
// a device memcpy of the same traffic measured in the same run.
func BenchmarkConv1d(b *testing.B) {
	be := openGPU(b)
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ bt, d, l int }{{128, 384, 197}, {22, 384, 6085}} {
		x := be.FromHost(randT(r, 1, s.bt, s.d, s.l))
		w, bias := be.FromHost(randT(r, 1, s.d, 4)), be.FromHost(randT(r, 1, s.d))
		y := be.New(s.bt, s.d, s.l)
		bytes := 8 * x.Len()
		for _, kind := range []string{"causal", "reverse", "naive"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.bt, s.d, s.l, kind), func(b *testing.B) {
				fn := func() { be.Conv1dCausal(y, x, w, bias, kernels.ActSiLU) }
				switch kind {
				case "reverse":
					fn = func() { be.Conv1dReverse(y, x, w, bias, kernels.ActSiLU) }
				case "naive":
					l := s.l
					args := []uint64{be.dev("bench", x), be.dev("bench", w), be.dev("bench", bias), be.dev("bench", y),
						i64(s.bt), i64(s.d), i64(l), 4, i64(int(kernels.ActSiLU)), 0}
					fn = func() { be.conv1dNaive(args, s.bt*s.d, l) }
				}
				sec := gpuLoop(b, be, fn)
				b.ReportMetric(float64(bytes)/sec/1e9, "GB/s")
				b.ReportMetric(memcpyGBs(b, be, bytes/2), "memcpy-GB/s")
			})
		}
		be.Free(x)
		be.Free(y)
	}
}
