package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// vmambaGemm is one GEMM vmamba-tiny issues: C (batch × M×N) = A·B with A
// a prepacked weight (M×K, per batch item) and B the channel-first
// activation (K×N, N tokens), count the calls (of all batch items) per
// image.
type vmambaGemm struct {
	m, n, k, batch, count int
	what                  string
}

// vmambaTinyGemms lists the distinct GEMMs of one vmamba-tiny forward at
// 224², batch 1, logged once through a temporary hook on the CPU backend's
// sgemm/sgemmA (every one takes the prepacked-A path, untransposed B) while
// backbone/vmamba ran a forward; batch is the MatMul batch (x_proj over the
// two direction pairs, dt_proj per pair), count the calls per image
// counting each batch item. The head's 1×1000×768 matrix-vector product is
// left out (not the packed path).
var vmambaTinyGemms = []vmambaGemm{
	{48, 12544, 27, 1, 1, "stem conv1"},
	{96, 3136, 432, 1, 1, "stem conv2"},
	{96, 3136, 96, 1, 4, "s1 in/out_proj"},
	{16, 3136, 96, 2, 4, "s1 x_proj"},
	{96, 3136, 6, 2, 8, "s1 dt_proj"},
	{384, 3136, 96, 1, 2, "s1 fc1"},
	{96, 3136, 384, 1, 2, "s1 fc2"},
	{192, 784, 864, 1, 1, "s1 downsample"},
	{192, 784, 192, 1, 4, "s2 in/out_proj"},
	{28, 784, 192, 2, 4, "s2 x_proj"},
	{192, 784, 12, 2, 8, "s2 dt_proj"},
	{768, 784, 192, 1, 2, "s2 fc1"},
	{192, 784, 768, 1, 2, "s2 fc2"},
	{384, 196, 1728, 1, 1, "s2 downsample"},
	{384, 196, 384, 1, 16, "s3 in/out_proj"},
	{52, 196, 384, 2, 16, "s3 x_proj"},
	{384, 196, 24, 2, 32, "s3 dt_proj"},
	{1536, 196, 384, 1, 8, "s3 fc1"},
	{384, 196, 1536, 1, 8, "s3 fc2"},
	{768, 49, 3456, 1, 1, "s3 downsample"},
	{768, 49, 768, 1, 4, "s4 in/out_proj"},
	{100, 49, 768, 2, 4, "s4 x_proj"},
	{768, 49, 48, 2, 8, "s4 dt_proj"},
	{3072, 49, 768, 1, 2, "s4 fc1"},
	{768, 49, 3072, 1, 2, "s4 fc2"},
}

type vmambaGemmCase struct {
	g       vmambaGemm
	a, b, c *Tensor
}

func newVmambaGemmCase(g vmambaGemm) vmambaGemmCase {
	r := rand.New(rand.NewPCG(1, uint64(g.m*g.n*g.k)))
	fill := func(t *Tensor) {
		for i := range t.Data {
			t.Data[i] = r.Float32()*2 - 1
		}
	}
	var a, b, c *Tensor
	if g.batch == 1 {
		a, b, c = New(g.m, g.k), New(g.k, g.n), New(g.m, g.n)
	} else {
		a, b, c = New(g.batch, g.m, g.k), New(g.batch, g.k, g.n), New(g.batch, g.m, g.n)
	}
	fill(a)
	fill(b)
	CPU().(Prepacker).Prepack(a)
	return vmambaGemmCase{g, a, b, c}
}

// BenchmarkGemmVMamba runs each GEMM of vmamba-tiny at 224² (one batched
// MatMul per op, through the CPU backend and its prepacked weights), and
// "all" the whole list with its per-image counts (the GEMM time of one
// image). Run with -cpu 1,2 for each shape's 2-thread speed-up. It holds
// Parallel's helpers (HoldWorkers) as vmamba's forward does.
func BenchmarkGemmVMamba(b *testing.B) {
	defer HoldWorkers()()
	be := CPU()
	cases := make([]vmambaGemmCase, len(vmambaTinyGemms))
	for i, g := range vmambaTinyGemms {
		cases[i] = newVmambaGemmCase(g)
	}
	for _, cs := range cases {
		g := cs.g
		b.Run(fmt.Sprintf("%dx%dx%db%d", g.m, g.n, g.k, g.batch), func(b *testing.B) {
			for b.Loop() {
				be.MatMul(cs.c, cs.a, cs.b, false, false)
			}
			flops := 2 * float64(g.m*g.n*g.k*g.batch)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	b.Run("all", func(b *testing.B) {
		var flops float64
		for _, cs := range cases {
			flops += 2 * float64(cs.g.m*cs.g.n*cs.g.k*cs.g.count)
		}
		for b.Loop() {
			for _, cs := range cases {
				for range cs.g.count / cs.g.batch {
					be.MatMul(cs.c, cs.a, cs.b, false, false)
				}
			}
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
