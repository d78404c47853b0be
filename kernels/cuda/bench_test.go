package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// gpuLoop times b.N runs of fn with CUDA events (after one warm-up) and
// returns seconds per run.
func gpuLoop(b *testing.B, be *Backend, fn func()) float64 {
	b.Helper()
	fn()
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	d, err := be.GPUTime(func() {
		for range b.N {
			fn()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return d.Seconds() / float64(b.N)
}

// reportScanGBs reports a scan's time per call, its GB/s over the bytes it
// moves, and the device-to-device copy bandwidth of the same traffic
// measured now, with the scan's share of it.
func reportScanGBs(b *testing.B, be *Backend, sec float64, bytes int) {
	scan := float64(bytes) / sec / 1e9
	mc := memcpyGBs(b, be, bytes/2)
	b.ReportMetric(sec*1e6, "gpu-us/op")
	b.ReportMetric(scan, "scan-GB/s")
	b.ReportMetric(mc, "memcpy-GB/s")
	b.ReportMetric(100*scan/mc, "%memcpy")
}

// memcpyGBs measures device-to-device copy bandwidth (bytes read plus
// bytes written) on a buffer of the given size.
func memcpyGBs(b *testing.B, be *Backend, bytes int) float64 {
	src, dst := be.New(bytes/4), be.New(bytes/4)
	defer be.Free(src)
	defer be.Free(dst)
	fn := func() { be.Copy(dst, src) }
	fn()
	d, err := be.GPUTime(func() {
		for range 20 {
			fn()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	return 2 * float64(bytes) * 20 / d.Seconds() / 1e9
}

// BenchmarkSelectiveScan times the Mamba-configured scan (var B/C, D, z,
// delta_bias, softplus) at Bt=64, D=384, N=16, forwards and reversed in
// time (Vim's backward branch), and reports its bandwidth (bytes of u,
// delta, z, B, C read + out written) beside a device-to-device memcpy of the
// same traffic measured in the same run.
func BenchmarkSelectiveScan(b *testing.B) {
	be := openGPU(b)
	for _, l := range []int{197, 1024, 4096} {
		benchScanShape(b, be, "", 64, 384, l, 16, rand.NewPCG(5, 6))
	}
}

// benchScanShape runs the forward and reversed sub-benchmarks of one scan
// shape (prefix_BtX_DX_LX_NX[_rev]) for BenchmarkSelectiveScan and
// BenchmarkSelectiveScanVim: the Mamba options (var B/C, D, z, delta_bias,
// softplus), GPU µs per scan, its bandwidth and a memcpy of the same
// traffic in the same run. The inputs are made by the first sub-benchmark
// that runs, so a -bench filter matching none of them costs nothing, and
// freed at the end.
func benchScanShape(b *testing.B, be *Backend, prefix string, bt, d, l, n int, src rand.Source) {
	var a *kernels.ScanArgs
	setup := func() {
		if a != nil {
			return
		}
		a = benchScanArgs(be, rand.New(src), bt, d, l, n)
	}
	for _, rev := range []bool{false, true} {
		name := fmt.Sprintf("%sBt%d_D%d_L%d_N%d", prefix, bt, d, l, n)
		if rev {
			name += "_rev"
		}
		b.Run(name, func(b *testing.B) {
			setup()
			a.Reverse = rev
			bytes := 4 * (4*bt*d*l + 2*bt*n*l)
			sec := gpuLoop(b, be, func() { be.SelectiveScan(a) })
			reportScanGBs(b, be, sec, bytes)
		})
	}
	if a != nil {
		freeScanArgs(be, a)
	}
}

// benchScanArgs uploads random operands of a Mamba-configured scan (var
// B/C, D, z, delta_bias, softplus) of shape (bt, d, l) with n states.
func benchScanArgs(be *Backend, r *rand.Rand, bt, d, l, n int) *kernels.ScanArgs {
	return &kernels.ScanArgs{
		U: be.FromHost(randT(r, 1, bt, d, l)), Delta: be.FromHost(randT(r, 0.5, bt, d, l)),
		A: be.FromHost(uniT(r, -16, -1, d, n)), B: be.FromHost(randT(r, 1, bt, n, l)), C: be.FromHost(randT(r, 1, bt, n, l)),
		D: be.FromHost(randT(r, 1, d)), Z: be.FromHost(randT(r, 1, bt, d, l)), DeltaBias: be.FromHost(uniT(r, -4, -2, d)),
		DeltaSoftplus: true, Out: be.New(bt, d, l),
	}
}

// freeScanArgs frees benchScanArgs' tensors.
func freeScanArgs(be *Backend, a *kernels.ScanArgs) {
	for _, t := range []*kernels.Tensor{a.U, a.Delta, a.A, a.B, a.C, a.D, a.Z, a.DeltaBias, a.Out} {
		be.Free(t)
	}
}

// BenchmarkSgemm reports the tiled SGEMM's rate on square problems.
func BenchmarkSgemm(b *testing.B) {
	be := openGPU(b)
	for _, s := range []int{1024, 4096} {
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, 8))
			x, w := be.FromHost(randT(r, 1, s, s)), be.FromHost(randT(r, 1, s, s))
			y := be.New(s, s)
			defer func() { be.Free(x); be.Free(w); be.Free(y) }()
			sec := gpuLoop(b, be, func() { be.Linear(y, x, w, nil) })
			b.ReportMetric(2*float64(s)*float64(s)*float64(s)/sec/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkConv1dCausal reports the causal conv's bandwidth (x read, out
// written) at a Mamba-sized shape.
func BenchmarkConv1dCausal(b *testing.B) {
	be := openGPU(b)
	r := rand.New(rand.NewPCG(9, 10))
	x := be.FromHost(randT(r, 1, 64, 384, 1024))
	w, bias := be.FromHost(randT(r, 1, 384, 4)), be.FromHost(randT(r, 1, 384))
	y := be.New(64, 384, 1024)
	sec := gpuLoop(b, be, func() { be.Conv1dCausal(y, x, w, bias, kernels.ActSiLU) })
	b.ReportMetric(float64(8*x.Len())/sec/1e9, "GB/s")
}

// BenchmarkOps times the remaining kernels at Vim/VMamba-like sizes and
// reports bandwidth over the bytes each must read and write once.
func BenchmarkOps(b *testing.B) {
	be := openGPU(b)
	r := rand.New(rand.NewPCG(11, 12))
	x := be.FromHost(randT(r, 1, 64, 197, 384)) // (Bt, L, C) tokens
	y := be.New(64, 197, 384)
	w, bias := be.FromHost(randT(r, 1, 384)), be.FromHost(randT(r, 1, 384))
	img := be.FromHost(randT(r, 1, 64, 96, 56, 56)) // (Bt, C, H, W) feature map
	img2 := be.New(64, 96, 56, 56)
	dw := be.FromHost(randT(r, 0.2, 96, 1, 3, 3))
	st := be.FromHost(randT(r, 1, 64, 384, 16))
	xs, dts, zs := be.FromHost(randT(r, 1, 64, 384)), be.FromHost(randT(r, 1, 64, 384)), be.FromHost(randT(r, 1, 64, 384))
	bs, cs := be.FromHost(randT(r, 1, 64, 16)), be.FromHost(randT(r, 1, 64, 16))
	aa := be.FromHost(uniT(r, -8, -1, 384, 16))
	out := be.New(64, 384)
	n := x.Len()
	for _, c := range []struct {
		name  string
		bytes int
		fn    func()
	}{
		{"RMSNorm", 8 * n, func() { be.RMSNorm(y, x, w, 1e-5) }},
		{"LayerNorm", 8 * n, func() { be.LayerNorm(y, x, w, bias, 1e-6) }},
		{"Softmax", 8 * n, func() { be.Softmax(y, x) }},
		{"Add", 8 * n, func() { be.Add(y, x, w) }},
		{"SiLU", 8 * n, func() { be.Unary(y, x, kernels.ActSiLU) }},
		{"Memcpy", 8 * n, func() { be.Copy(y, x) }},
		{"Permute021", 8 * n, func() { be.Permute(y.Reshape(64, 384, 197), x, 0, 2, 1) }},
		{"Flip", 8 * n, func() { be.Flip(y, x, 1) }},
		{"FlipLast", 8 * n, func() { be.Flip(y.Reshape(64, 384, 197), x.Reshape(64, 384, 197), 2) }},
		{"Permute0231", 8 * img.Len(), func() { be.Permute(img2.Reshape(64, 56, 56, 96), img, 0, 2, 3, 1) }},
		{"LayerNorm2d", 8 * img.Len(), func() { be.LayerNorm2d(img2, img, nil, nil, 1e-6) }},
		{"Conv2dDepthwise3x3", 8 * img.Len(), func() {
			be.Conv2d(img2, img, dw, nil, kernels.Conv2dParams{PadH: 1, PadW: 1, Groups: 96})
		}},
		{"SelectiveStateUpdate", 4 * (2*st.Len() + 4*xs.Len()), func() {
			be.SelectiveStateUpdate(&kernels.StepArgs{State: st, X: xs, DT: dts, A: aa, B: bs, C: cs, Z: zs, DTSoftplus: true, Out: out})
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			sec := gpuLoop(b, be, c.fn)
			b.ReportMetric(sec*1e6, "gpu-us/op")
			b.ReportMetric(float64(c.bytes)/sec/1e9, "GB/s")
		})
	}
}
