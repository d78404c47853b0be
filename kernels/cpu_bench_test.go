package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the CPU ops at vim-tiny / vmamba-tiny / mamba-130m shapes.
// Bytes are the tensors read and written once.

func BenchmarkConv2d(b *testing.B) {
	for _, c := range []struct {
		name                      string
		bt, cin, h, w, cout, k, s int
		pad, groups               int
	}{
		{"patch16_224", 1, 3, 224, 224, 192, 16, 16, 0, 1},
		{"stem3x3s2_224", 1, 3, 224, 224, 48, 3, 2, 1, 1},
		{"down3x3s2_56", 1, 96, 56, 56, 192, 3, 2, 1, 1},
		{"dw3x3_192x56", 1, 192, 56, 56, 192, 3, 1, 1, 192},
		{"pointwise_96x56", 1, 96, 56, 56, 192, 1, 1, 0, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 3))
			p := Conv2dParams{StrideH: c.s, StrideW: c.s, PadH: c.pad, PadW: c.pad, Groups: c.groups}
			x := rndT(r, 1, c.bt, c.cin, c.h, c.w)
			w := rndT(r, 1, c.cout, c.cin/c.groups, c.k, c.k)
			bias := rndT(r, 1, c.cout)
			oh, ow := (c.h+2*c.pad-c.k)/c.s+1, (c.w+2*c.pad-c.k)/c.s+1
			y := New(c.bt, c.cout, oh, ow)
			be := CPU()
			flops := 2 * float64(y.Len()*(c.cin/c.groups)*c.k*c.k)
			for b.Loop() {
				be.Conv2d(y, x, w, bias, p)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkOps(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	be := CPU()
	tok := rndT(r, 1, 197, 192)
	tokOut := New(197, 192)
	w192 := rndT(r, 1, 192)
	xin := rndT(r, 1, 1, 768, 197)
	xout := New(1, 768, 197)
	cw, cb := rndT(r, 1, 768, 4), rndT(r, 1, 768)
	img := rndT(r, 1, 1, 96, 56, 56)
	imgOut := New(1, 96, 56, 56)
	nhwc := New(1, 56, 56, 96)
	w96 := rndT(r, 1, 96)
	att := rndT(r, 1, 3, 197, 197)
	attOut := New(3, 197, 197)
	big := rndT(r, 1, 1536*2048)
	bigOut := New(1536 * 2048)
	perm := []int{0, 2, 3, 1}
	st := &StepArgs{State: New(1, 1536, 16), X: rndT(r, 1, 1, 1536), DT: rndT(r, 1, 1, 1536), A: rndT(r, 1, 1536, 16),
		B: rndT(r, 1, 1, 16), C: rndT(r, 1, 1, 16), D: rndT(r, 1, 1536), Z: rndT(r, 1, 1, 1536), DTBias: rndT(r, 1, 1536),
		DTSoftplus: true, Out: New(1, 1536)}
	for _, c := range []struct {
		name  string
		bytes int
		fn    func()
	}{
		{"RMSNorm_197x192", 8 * tok.Len(), func() { be.RMSNorm(tokOut, tok, w192, 1e-5) }},
		{"LayerNorm_197x192", 8 * tok.Len(), func() { be.LayerNorm(tokOut, tok, w192, w192, 1e-6) }},
		{"LayerNorm2d_96x56x56", 8 * img.Len(), func() { be.LayerNorm2d(imgOut, img, w96, w96, 1e-6) }},
		{"Conv1dCausal_768x197", 8 * xin.Len(), func() { be.Conv1dCausal(xout, xin, cw, cb, ActSiLU) }},
		{"SiLU_1536x2048", 8 * big.Len(), func() { be.Unary(bigOut, big, ActSiLU) }},
		{"GELU_1536x2048", 8 * big.Len(), func() { be.Unary(bigOut, big, ActGELU) }},
		{"Add_1536x2048", 8 * big.Len(), func() { be.Add(bigOut, big, big) }},
		{"Softmax_3x197x197", 8 * att.Len(), func() { be.Softmax(attOut, att) }},
		{"Permute_NCHW_NHWC_96x56x56", 8 * img.Len(), func() { be.Permute(nhwc, img, perm...) }},
		{"Flip_768x197", 8 * xin.Len(), func() { be.Flip(xout, xin, 2) }},
		{"StateUpdate_1536x16", 4 * 2 * 1536 * 16, func() { be.SelectiveStateUpdate(st) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(c.bytes))
			for b.Loop() {
				c.fn()
			}
		})
	}
}

// BenchmarkSelectiveScanGrouped is VMamba's layout: 4 directions as groups.
func BenchmarkSelectiveScanGrouped(b *testing.B) {
	for _, s := range []struct{ bt, d, l, n, g int }{{1, 4 * 192, 56 * 56, 1, 4}, {1, 4 * 384, 28 * 28, 1, 4}, {1, 4 * 192, 56 * 56, 16, 4}} {
		b.Run(fmt.Sprintf("%dx%dx%dx%d_g%d", s.bt, s.d, s.l, s.n, s.g), func(b *testing.B) {
			r := rand.New(rand.NewPCG(5, 5))
			a := randScan(r, s.bt, s.d, s.l, s.n, "grp", "grp", s.g, true)
			a.Z = nil
			be := CPU()
			elems := float64(s.bt * s.d * s.l * s.n)
			for b.Loop() {
				be.SelectiveScan(a)
			}
			b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
		})
	}
}

// BenchmarkSelectiveStateUpdate times one decode step of the scan at Mamba
// LM shapes (batch 1, d_inner 1536 = mamba-130m, N = 16; dt bias, softplus,
// D and the z gate as the mixer uses them). Bytes: the state read and
// written plus the per-channel inputs.
func BenchmarkSelectiveStateUpdate(b *testing.B) {
	for _, d := range []int{1536, 5120} {
		b.Run(fmt.Sprintf("d%d", d), func(b *testing.B) {
			const n = 16
			r := rand.New(rand.NewPCG(1, 2))
			fill := func(t *Tensor, scale float32) *Tensor {
				for i := range t.Data {
					t.Data[i] = scale * float32(r.NormFloat64())
				}
				return t
			}
			a := &StepArgs{
				State: fill(New(1, d, n), 1), X: fill(New(1, d), 1), DT: fill(New(1, d), 1),
				A: fill(New(d, n), 1), B: fill(New(1, n), 1), C: fill(New(1, n), 1),
				D: fill(New(d), 1), Z: fill(New(1, d), 1), DTBias: fill(New(d), 1), DTSoftplus: true,
				Out: New(1, d),
			}
			for i := range a.A.Data {
				a.A.Data[i] = -float32(1 + i%n)
			}
			be := CPU()
			b.SetBytes(int64(4 * (2*d*n + 6*d)))
			for b.Loop() {
				be.SelectiveStateUpdate(a)
			}
		})
	}
}

// BenchmarkAddMul measures same-shape Add and Mul on one goroutine
// (CPUSerial) at vim-tiny's (D, L) = (384, 197).
func BenchmarkAddMul(b *testing.B) {
	x, y, d := New(384, 197), New(384, 197), New(384, 197)
	be := CPUSerial()
	b.Run("add", func(b *testing.B) {
		b.SetBytes(int64(12 * d.Len()))
		for b.Loop() {
			be.Add(d, x, y)
		}
	})
	b.Run("mul", func(b *testing.B) {
		b.SetBytes(int64(12 * d.Len()))
		for b.Loop() {
			be.Mul(d, x, y)
		}
	})
}

// BenchmarkLayerNorm2dVMamba times LayerNorm2d (in place, with affine) at
// vmamba-tiny's 224² stage maps while Parallel's helpers are held, as in
// its forward. Run with -cpu 1,2 for the split's gain.
func BenchmarkLayerNorm2dVMamba(b *testing.B) {
	defer HoldWorkers()()
	r := rand.New(rand.NewPCG(8, 8))
	for _, s := range [][3]int{{96, 56, 56}, {192, 28, 28}, {384, 14, 14}, {768, 7, 7}} {
		x := rndT(r, 1, 1, s[0], s[1], s[2])
		w, bias := rndT(r, 1, s[0]), rndT(r, 1, s[0])
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) {
			b.SetBytes(int64(8 * x.Len()))
			for b.Loop() {
				CPU().LayerNorm2d(x, x, w, bias, 1e-6)
			}
		})
	}
}
