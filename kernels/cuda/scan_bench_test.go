package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// BenchmarkSelectiveScanVim times the scan at the shapes one vim-tiny
// forward actually launches (BenchmarkSelectiveScan's Bt=64 is neither):
// 224², batch 128 runs whole (Bt 128, L 197); 1248², batch 64 runs as
// passes of 16 images under vim.DefaultChunkBytes (Bt 16, L 6085), where
// only 6,144 channels are in flight and the kernel is bound by how many
// lanes it can keep busy rather than by bandwidth. Same options and
// metrics as BenchmarkSelectiveScan (memcpy of the same traffic measured
// in the same run), forwards and reversed (the backward branch).
func BenchmarkSelectiveScanVim(b *testing.B) {
	be := openGPU(b)
	const d, n = 384, 16
	for _, s := range []struct {
		name  string
		bt, l int
	}{{"224_b128", 128, 197}, {"1248_b64_pass16", 16, 6085}} {
		// Inputs are made on the first sub-benchmark that runs, so that a
		// -bench filter matching none of them costs nothing.
		var a *kernels.ScanArgs
		setup := func() {
			if a != nil {
				return
			}
			r := rand.New(rand.NewPCG(7, 8))
			a = &kernels.ScanArgs{
				U: be.FromHost(randT(r, 1, s.bt, d, s.l)), Delta: be.FromHost(randT(r, 0.5, s.bt, d, s.l)),
				A: be.FromHost(uniT(r, -16, -1, d, n)), B: be.FromHost(randT(r, 1, s.bt, n, s.l)), C: be.FromHost(randT(r, 1, s.bt, n, s.l)),
				D: be.FromHost(randT(r, 1, d)), Z: be.FromHost(randT(r, 1, s.bt, d, s.l)), DeltaBias: be.FromHost(uniT(r, -4, -2, d)),
				DeltaSoftplus: true, Out: be.New(s.bt, d, s.l),
			}
		}
		for _, rev := range []bool{false, true} {
			name := fmt.Sprintf("%s_Bt%d_D%d_L%d_N%d", s.name, s.bt, d, s.l, n)
			if rev {
				name += "_rev"
			}
			b.Run(name, func(b *testing.B) {
				setup()
				a.Reverse = rev
				bytes := 4 * (4*s.bt*d*s.l + 2*s.bt*n*s.l)
				sec := gpuLoop(b, be, func() { be.SelectiveScan(a) })
				scan := float64(bytes) / sec / 1e9
				mc := memcpyGBs(b, be, bytes/2)
				b.ReportMetric(sec*1e6, "gpu-us/op")
				b.ReportMetric(scan, "scan-GB/s")
				b.ReportMetric(mc, "memcpy-GB/s")
				b.ReportMetric(100*scan/mc, "%memcpy")
			})
		}
		if a != nil {
			for _, t := range []*kernels.Tensor{a.U, a.Delta, a.A, a.B, a.C, a.D, a.Z, a.DeltaBias, a.Out} {
				be.Free(t)
			}
		}
	}
}
