package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestScanOct1 checks the eight-channel N = 1 scan against the float64
// reference and against the one-channel path (useOct1 off), forward and
// reverse, on channel counts with and without a remainder of eight, lengths
// around the block of steps, with and without Δ bias/softplus, D and z, and
// time-varying, grouped and time-invariant B and C.
func TestScanOct1(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	be := CPU()
	for _, c := range []struct {
		bt, d, l     int
		bKind, cKind string
		g            int
		opts         bool
	}{
		{1, 8, 1, "var", "var", 1, true},
		{2, 8, 7, "grp", "grp", 4, true}, // groups of two channels: rows differ within an octet
		{1, 16, 255, "grp", "grp", 2, true},
		{2, 21, oct1Block, "var", "var", 1, false}, // two octets and five single channels
		{1, 24, oct1Block + 1, "grp", "grp", 3, true},
		{2, 32, 600, "grp", "grp", 4, true},
		{1, 16, 300, "inv", "var", 1, true},
		{1, 16, 300, "var", "inv", 1, false},
		{1, 40, 49, "grp", "grp", 4, true}, // VMamba's last stage: 49 steps
	} {
		for _, rev := range []bool{false, true} {
			name := fmt.Sprintf("%d_%d_%d_%s_%s_g%d_%v_rev%v", c.bt, c.d, c.l, c.bKind, c.cKind, c.g, c.opts, rev)
			t.Run(name, func(t *testing.T) {
				a := randScan(r, c.bt, c.d, c.l, 1, c.bKind, c.cKind, c.g, c.opts)
				a.Reverse = rev
				ref := *a
				if rev {
					ref.U, ref.Delta, ref.Z, ref.B, ref.C = flipL(a.U), flipL(a.Delta), flipL(a.Z), flipL(a.B), flipL(a.C)
				}
				wantOut, wantLast := scanRef64(&ref)
				if rev {
					fl := New(a.Out.Shape()...)
					copy(fl.Data, f32(wantOut))
					wantOut = f64(flipL(fl).Data)
				}
				one := *a
				one.Out, one.LastState = New(a.Out.Shape()...), New(a.LastState.Shape()...)
				useOct1 = false
				be.SelectiveScan(&one)
				useOct1 = true
				be.SelectiveScan(a)
				closeTo(t, "out vs float64 ref", a.Out.Data, wantOut, 2e-5, 2e-5)
				closeTo(t, "last_state vs float64 ref", a.LastState.Data, wantLast, 2e-6, 2e-5)
				closeTo(t, "out vs one-channel path", a.Out.Data, f64(one.Out.Data), 1e-6, 1e-6)
				closeTo(t, "last_state vs one-channel path", a.LastState.Data, f64(one.LastState.Data), 1e-6, 1e-6)

				// Out aliasing Delta, then U (allowed by the CPU scan).
				for _, alias := range []string{"delta", "u"} {
					b := *a
					b.U, b.Delta = a.U.Clone(), a.Delta.Clone()
					if alias == "delta" {
						b.Out = b.Delta
					} else {
						b.Out = b.U
					}
					b.LastState = New(a.LastState.Shape()...)
					be.SelectiveScan(&b)
					closeTo(t, "out aliasing "+alias, b.Out.Data, f64(a.Out.Data), 0, 0)
				}
			})
		}
	}
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// BenchmarkScanOct1 times VMamba-tiny's N = 1 scans (4 directions as
// groups, stage 0 and stage 2 shapes, no z) with the eight-channel path on
// and off, forward and reverse, on one goroutine.
func BenchmarkScanOct1(b *testing.B) {
	for _, s := range []struct{ d, l int }{{4 * 96, 56 * 56}, {4 * 384, 14 * 14}} {
		for _, rev := range []bool{false, true} {
			for _, on := range []bool{true, false} {
				b.Run(fmt.Sprintf("%dx%d_rev%v_oct%v", s.d, s.l, rev, on), func(b *testing.B) {
					r := rand.New(rand.NewPCG(63, 64))
					a := randScan(r, 1, s.d, s.l, 1, "grp", "grp", 4, true)
					a.Z, a.LastState, a.Reverse = nil, nil, rev
					be := CPUSerial()
					prev := useOct1
					useOct1 = on
					defer func() { useOct1 = prev }()
					for b.Loop() {
						be.SelectiveScan(a)
					}
					b.ReportMetric(float64(s.d*s.l)*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
				})
			}
		}
	}
}
