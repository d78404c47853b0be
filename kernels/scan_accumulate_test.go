package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSelectiveScanAccumulate checks ScanArgs.Accumulate against its
// definition, bit for bit: Out (holding other values) += the scan's output
// equals a plain scan into a second tensor followed by Add, on the N = 16,
// N = 1 and general paths, forwards and reversed, with groups, tails and
// Out aliasing U, serial and on several goroutines.
func TestSelectiveScanAccumulate(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, c := range []scanCase{
		{1, 1, 1, 16, "var", "var", 1, true},
		{2, 5, 9, 3, "inv", "var", 1, true},
		{2, 8, 33, 16, "grp", "grp", 4, true},
		{1, 40, 197, 16, "var", "var", 1, true},
		{2, 12, 700, 16, "grp", "var", 2, false},
		{2, 16, 600, 1, "grp", "grp", 2, true},
		{1, 13, 70, 1, "var", "var", 1, false},
	} {
		for _, rev := range []bool{false, true} {
			for _, alias := range []bool{false, true} {
				name := fmt.Sprintf("%d_%d_%d_%d_%s_%s_g%d_%v/rev=%v/alias=%v", c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts, rev, alias)
				t.Run(name, func(t *testing.T) {
					for _, be := range []Backend{CPU(), CPUSerial()} {
						a := randScan(r, c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts)
						a.Reverse = rev
						prior := randTensor(r, a.Out.Shape()...)
						if alias {
							prior = a.U.Clone()
						}
						plain := *a
						plain.Out, plain.LastState = New(a.Out.Shape()...), New(a.LastState.Shape()...)
						be.SelectiveScan(&plain)
						want := New(a.Out.Shape()...)
						be.Add(want, prior, plain.Out)

						acc := *a
						acc.Accumulate = true
						if alias {
							acc.Out = acc.U
						} else {
							copy(acc.Out.Data, prior.Data)
						}
						be.SelectiveScan(&acc)
						closeTo(t, "out", acc.Out.Data, f64(want.Data), 0, 0)
						closeTo(t, "last_state", acc.LastState.Data, f64(plain.LastState.Data), 0, 0)
					}
				})
			}
		}
	}
}
