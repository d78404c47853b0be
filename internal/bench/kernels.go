package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gomamba/gomamba/kernels"
)

// GemmShape is one C = A·Bᵀ product: A is M×K, B is N×K, C is M×N, all
// row-major (the layout of x·Wᵀ in a linear layer, as the anchor's).
type GemmShape struct{ M, N, K int }

// String renders the shape as M×N×K.
func (s GemmShape) String() string { return fmt.Sprintf("%d×%d×%d", s.M, s.N, s.K) }

// Args are the anchor's command-line arguments for the shape and number of
// repetitions (the anchor reports its best).
func (s GemmShape) Args(reps int) []string {
	return []string{"sgemm", fmt.Sprint(s.M), fmt.Sprint(s.N), fmt.Sprint(s.K), fmt.Sprint(reps)}
}

// Flop is the number of floating-point operations of the product.
func (s GemmShape) Flop() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// GemmShapes are the standard GEMM shapes: vim-tiny's in_proj (197×768×192)
// and out_proj (197×192×384), a 4096-token in_proj, a vmamba-sized MLP and
// the square 1024³, the same set as the anchor's run script.
var GemmShapes = []GemmShape{{197, 768, 192}, {197, 192, 384}, {4096, 384, 192}, {1024, 1536, 384}, {1024, 1024, 1024}}

// ScanShape is one selective scan: batch B, channels D, length L, state N.
type ScanShape struct{ B, D, L, N int }

// String renders the shape as B×D×L×N.
func (s ScanShape) String() string { return fmt.Sprintf("%d×%d×%d×%d", s.B, s.D, s.L, s.N) }

// Args are the anchor's command-line arguments for the shape and number of
// repetitions (the anchor reports its best).
func (s ScanShape) Args(reps int) []string {
	return []string{"scan", fmt.Sprint(s.B), fmt.Sprint(s.D), fmt.Sprint(s.L), fmt.Sprint(s.N), fmt.Sprint(reps)}
}

// Elems is the number of state updates of the scan, B·D·L·N.
func (s ScanShape) Elems() float64 {
	return float64(s.B) * float64(s.D) * float64(s.L) * float64(s.N)
}

// ScanShapes are the standard scan shapes: vim-tiny at 224² (197 tokens),
// at 1024² (4096 tokens) and a batch of two 768-channel 1024-token rows.
var ScanShapes = []ScanShape{{1, 384, 197, 16}, {1, 384, 4096, 16}, {2, 768, 1024, 16}}

// GemmReps is the anchor's repetition rule: about 2·10¹⁰ flop in all,
// between 3 and 2000 runs.
func GemmReps(s GemmShape) int {
	return min(max(int(2e10/s.Flop()), 3), 2000)
}

// Gemm times kernels.Sgemm on the shape (after one warm-up call) with the
// anchor's repetition rule scaled by scale (1 = the anchor's; smaller for
// quick runs) and returns the best GFLOP/s and the number of timed runs
// (give the anchor as many).
func Gemm(ctx context.Context, s GemmShape, scale float64) (gflops float64, runs int, err error) {
	r := rand.New(rand.NewPCG(1, uint64(s.M*s.N*s.K)))
	a, b, c := randSlice(r, s.M*s.K, -1, 1), randSlice(r, s.N*s.K, -1, 1), make([]float32, s.M*s.N)
	reps := max(int(float64(GemmReps(s))*scale), 1)
	t, err := Time(ctx, Loop{Warmup: 1, MinRuns: reps}, func() error {
		kernels.Sgemm(false, true, s.M, s.N, s.K, 1, a, s.K, b, s.K, 0, c, s.N)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return s.Flop() / t.Best.Seconds() / 1e9, t.Runs, nil
}

// ScanArgs builds the Mamba-style scan operands of the anchor: softplus on
// Δ with a bias, D skip, z gate, time-varying B and C (B, N, L), with the
// anchor's value ranges (u, z, B, C in [−1, 1], Δ in [−3, 0], A in
// [−2, −0.1], D in [0, 1], Δ bias in [−1, 0]).
func ScanArgs(s ScanShape) *kernels.ScanArgs {
	r := rand.New(rand.NewPCG(2, uint64(s.B*s.D*s.L*s.N)))
	t := func(lo, hi float32, shape ...int) *kernels.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return kernels.MustFromSlice(randSlice(r, n, lo, hi), shape...)
	}
	return &kernels.ScanArgs{
		U: t(-1, 1, s.B, s.D, s.L), Delta: t(-3, 0, s.B, s.D, s.L), Z: t(-1, 1, s.B, s.D, s.L),
		A: t(-2, -0.1, s.D, s.N), B: t(-1, 1, s.B, s.N, s.L), C: t(-1, 1, s.B, s.N, s.L),
		D: t(0, 1, s.D), DeltaBias: t(-1, 0, s.D), DeltaSoftplus: true,
		Out: kernels.New(s.B, s.D, s.L),
	}
}

// Scan times kernels.CPU().SelectiveScan on the shape with Mamba's options
// (ScanArgs) and returns the best elements per second, an element being one
// (b, d, l, n) state update, and the number of timed runs (give the anchor
// as many: its best of more runs is luckier on a loaded machine). It runs
// one warm-up and at least reps timed calls (the anchor's default is 5),
// more until 0.2 s of work, at most 10·reps.
func Scan(ctx context.Context, s ScanShape, reps int) (elemsPerS float64, runs int, err error) {
	a := ScanArgs(s)
	be := kernels.CPU()
	t, err := Time(ctx, Loop{Warmup: 1, MinRuns: reps, MinTime: 200 * time.Millisecond, MaxRuns: 10 * max(reps, 1)}, func() error {
		be.SelectiveScan(a)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return s.Elems() / t.Best.Seconds(), t.Runs, nil
}

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}
