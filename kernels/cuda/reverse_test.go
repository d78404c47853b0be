package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestReverseOpsVsCPU compares Conv1dReverse and the reverse selective scan
// (ScanArgs.Reverse) on the GPU with the CPU backend.
func TestReverseOpsVsCPU(t *testing.T) {
	be := openGPU(t)
	r := rand.New(rand.NewPCG(41, 42))
	var cases []opCase
	for _, s := range []struct{ bt, d, l, k int }{{1, 5, 1, 4}, {2, 7, 197, 4}, {1, 3, 40, 3}} {
		cases = append(cases, opCase{name: fmt.Sprintf("Conv1dReverse/%+v", s),
			in: []*kernels.Tensor{randT(r, 1, s.bt, s.d, s.l), randT(r, 0.5, s.d, s.k), randT(r, 0.1, s.d)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, s.bt, s.d, s.l)
				b.Conv1dReverse(dst, in[0], in[1], in[2], kernels.ActSiLU)
				return []*kernels.Tensor{dst}
			}})
	}
	for _, c := range []struct {
		bt, d, l, n int
		bk, ck      string
		g           int
	}{{1, 64, 197, 16, "var", "var", 1}, {2, 32, 50, 1, "grp", "grp", 4}, {1, 16, 9, 4, "inv", "var", 1}} {
		bc := func(kind string) *kernels.Tensor { return scanBC(r, kind, c.bt, c.d, c.g, c.n, c.l) }
		aNeg := scanNegA(r, c.d, c.n)
		cases = append(cases, opCase{name: fmt.Sprintf("SelectiveScanReverse/%+v", c), tol: 2e-5,
			in: []*kernels.Tensor{randT(r, 1, c.bt, c.d, c.l), randT(r, 0.5, c.bt, c.d, c.l), aNeg, bc(c.bk), bc(c.ck),
				randT(r, 1, c.d), randT(r, 1, c.bt, c.d, c.l), uniT(r, -4, -2, c.d)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				a := &kernels.ScanArgs{U: in[0], Delta: in[1], A: in[2], B: in[3], C: in[4], D: in[5], Z: in[6], DeltaBias: in[7],
					DeltaSoftplus: true, Out: poisoned(b, c.bt, c.d, c.l), LastState: poisoned(b, c.bt, c.d, c.n), Reverse: true}
				b.SelectiveScan(a)
				return []*kernels.Tensor{a.Out, a.LastState}
			}})
	}
	runOpCases(t, be, cases)
}
