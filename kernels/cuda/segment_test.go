package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// withSegChunks runs f with the split kernels' segment length forced to
// segC chunks (0: the size heuristic).
func withSegChunks(segC int, f func()) {
	old := scanForceSegChunks
	scanForceSegChunks = segC
	defer func() { scanForceSegChunks = old }()
	f()
}

// TestScanSegmentsVsCPU compares the selective scan on the GPU with the CPU
// backend with the sequence cut into segments of 1, 2 and 3 chunks (so
// that every multi-chunk case runs the two-pass segmented scan, tails and
// single-chunk segments included) and without forcing, forwards and
// reversed, with ScanArgs.Accumulate, over every register-array size (N = 1
// to 64, odd N), grouped and time-invariant B/C, D not a multiple of 32.
func TestScanSegmentsVsCPU(t *testing.T) {
	be := openGPU(t)
	r := rand.New(rand.NewPCG(51, 52))
	shapes := []scanCase{
		{2, 40, 16, 33, "var", "var", 1, true},
		{1, 64, 16, 197, "var", "var", 1, true},
		{3, 128, 16, 170, "grp", "grp", 2, true},
		{1, 96, 1, 300, "grp", "grp", 3, true},
		{2, 33, 24, 50, "var", "var", 1, true},
		{1, 40, 64, 70, "var", "var", 1, true},
		{2, 70, 8, 45, "var", "var", 1, false},
		{1, 36, 3, 31, "var", "var", 1, false},
		{2, 64, 4, 64, "grp", "grp", 2, true},
		{2, 64, 2, 1, "var", "var", 1, true},
		{1, 50, 32, 100, "var", "var", 1, true},
		{2, 24, 8, 40, "inv", "inv", 1, true}, // the general kernel (not segmented)
	}
	for _, segC := range []int{1, 2, 3, 0} {
		var cases []opCase
		for _, c := range shapes {
			for _, rev := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					// in[8]: what Out holds before an accumulating scan.
					cases = append(cases, opCase{name: fmt.Sprintf("seg%d/%+v/rev=%v/acc=%v", segC, c, rev, acc), tol: 2e-5,
						in: append(c.inputs(r), randT(r, 1, c.bt, c.d, c.l)),
						run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
							out := poisoned(b, c.bt, c.d, c.l)
							if acc {
								out = in[8]
							}
							a := &kernels.ScanArgs{U: in[0], Delta: in[1], A: in[2], B: in[3], C: in[4], D: in[5], Z: in[6], DeltaBias: in[7],
								DeltaSoftplus: c.opts, Out: out, LastState: poisoned(b, c.bt, c.d, c.n), Reverse: rev, Accumulate: acc}
							b.SelectiveScan(a)
							return []*kernels.Tensor{a.Out, a.LastState}
						}})
				}
			}
		}
		withSegChunks(segC, func() { runOpCases(t, be, cases) })
	}
	// The official-code fixtures, every scan cut into one-chunk segments.
	withSegChunks(1, func() { t.Run("golden_seg1", TestGoldenScan) })
}

// TestScanSegmentChunks pins the segment-size rule: scans that fill the
// GPU (vim-tiny 224², Bt 64 L 1024) and short ones run whole; vim-tiny's
// 1248² pass (Bt 16, 384 channels, L 6085) is cut into one wave's worth.
func TestScanSegmentChunks(t *testing.T) {
	be := &Backend{sms: 132}
	for _, c := range []struct{ bt, d, l, want int }{
		{128, 384, 197, 13},  // 1536 blocks: whole
		{64, 384, 1024, 64},  // 768 blocks: whole
		{16, 384, 6085, 96},  // 192 blocks: 4 segments of 96 chunks
		{32, 384, 6085, 191}, // 384 blocks: 2 segments
		{1, 1536, 128, 8},    // too short to cut
		{1, 1536, 4096, 32},  // 48 blocks: 8 segments, each the 32-chunk minimum
		{16, 384, 1000, 63},  // 63 chunks: whole (segments would be under 32)
	} {
		nch := (c.l + scanStep - 1) / scanStep
		got := be.scanSegmentChunks((c.d+31)/32*c.bt, nch)
		if got != c.want {
			t.Errorf("Bt %d D %d L %d: segment of %d chunks, want %d", c.bt, c.d, c.l, got, c.want)
		}
	}
}
