package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestScanChannelSIMDMatchesGo compares the dispatching scanChannel (AVX2
// for N = 16) with its definition scanChannelGo on every option
// combination, block-crossing lengths and both B/C layouts, with guard
// values around out.
func TestScanChannelSIMDMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const g = float32(-999.5)
	for _, n := range []int{16, 1, 8} {
		// N = 1 goes through scanChannel1 (scanBlock1's entry point).
		var sc scanScratch
		scan := func(h, a, u, delta, z, out, bt, ct []float32, bs, cs int, dSkip, dBias float32, hasD, sp bool) {
			scanChannel(&sc, h, a, u, delta, z, out, bt, ct, bs, cs, dSkip, dBias, hasD, sp)
		}
		def := scanChannelGo
		if n == 1 {
			scan = func(h, a, u, delta, z, out, bt, ct []float32, bs, cs int, dSkip, dBias float32, hasD, sp bool) {
				scanChannel1(&sc, h, a[0], u, delta, z, out, bt, ct, bs, cs, dSkip, dBias, hasD, sp)
			}
			def = func(h, a, u, delta, z, out, bt, ct []float32, bs, cs int, dSkip, dBias float32, hasD, sp bool) {
				scanChannel1Go(h, a[0], u, delta, z, out, bt, ct, bs, cs, dSkip, dBias, hasD, sp)
			}
		}
		for _, steps := range []int{1, 7, 8, 33, 256, 257, 600} {
			for mask := 0; mask < 16; mask++ {
				hasD, softplus, gated, varying := mask&1 != 0, mask&2 != 0, mask&4 != 0, mask&8 != 0
				name := fmt.Sprintf("n=%d,T=%d,D=%v,sp=%v,z=%v,var=%v", n, steps, hasD, softplus, gated, varying)
				a := make([]float32, n)
				for i := range a {
					a[i] = -float32(1+i) - r.Float32()
				}
				u, delta, z := randF32(r, steps), randF32(r, steps), randF32(r, steps)
				for i := range delta {
					if softplus {
						delta[i] = delta[i]*3 - 1
					} else {
						delta[i] = float32(math.Abs(float64(delta[i]))) * 0.3
					}
				}
				stride, bcLen := 0, n
				if varying {
					stride, bcLen = n, n*steps
				}
				bt, ct := randF32(r, bcLen), randF32(r, bcLen)
				h0 := randF32(r, n)
				bias := float32(0.05) // Δ must stay positive without softplus
				if softplus {
					bias = -0.5
				}
				if !gated {
					z = nil
				}
				wantH := append([]float32(nil), h0...)
				want := make([]float32, steps)
				def(wantH, a, u, delta, z, want, bt, ct, stride, stride, 0.6, bias, hasD, softplus)
				withSIMD(t, func(t *testing.T) {
					h := append([]float32(nil), h0...)
					all := make([]float32, steps+16)
					for i := range all {
						all[i] = g
					}
					out := all[8 : 8+steps : 8+steps]
					scan(h, a, u, delta, z, out, bt, ct, stride, stride, 0.6, bias, hasD, softplus)
					for i := 0; i < 8; i++ {
						if all[i] != g || all[8+steps+i] != g {
							t.Fatalf("%s: write outside out", name)
						}
					}
					for i := range out {
						if d := math.Abs(float64(out[i] - want[i])); !(d <= 1e-5+1e-5*math.Abs(float64(want[i]))) {
							t.Fatalf("%s: out[%d] = %v, Go %v", name, i, out[i], want[i])
						}
					}
					for i := range h {
						if d := math.Abs(float64(h[i] - wantH[i])); !(d <= 1e-5+1e-5*math.Abs(float64(wantH[i]))) {
							t.Fatalf("%s: h[%d] = %v, Go %v", name, i, h[i], wantH[i])
						}
					}
					// out aliasing u, then delta.
					for _, alias := range []string{"u", "delta"} {
						h = append(h[:0], h0...)
						uu, dd := append([]float32(nil), u...), append([]float32(nil), delta...)
						o := uu
						if alias == "delta" {
							o = dd
						}
						scan(h, a, uu, dd, z, o, bt, ct, stride, stride, 0.6, bias, hasD, softplus)
						for i := range o {
							if d := math.Abs(float64(o[i] - want[i])); !(d <= 1e-5+1e-5*math.Abs(float64(want[i]))) {
								t.Fatalf("%s: out aliasing %s: [%d] = %v, Go %v", name, alias, i, o[i], want[i])
							}
						}
					}
				})
			}
		}
	}
}

// TestSelectiveScanBothPaths checks SelectiveScan against the float64
// reference with the SIMD kernels on and off (GOMAMBA_NOASM's path).
func TestSelectiveScanBothPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	be := CPU()
	for _, c := range []scanCase{
		{1, 24, 197, 16, "var", "var", 1, true},
		{2, 8, 300, 16, "inv", "var", 1, true},
		{2, 12, 65, 16, "grp", "grp", 4, false},
		{1, 130, 40, 16, "var", "inv", 1, true},
	} {
		a := randScan(r, c.bt, c.d, c.l, c.n, c.bKind, c.cKind, c.g, c.opts)
		wantOut, wantLast := scanRef64(a)
		withSIMD(t, func(t *testing.T) {
			clear(a.Out.Data)
			be.SelectiveScan(a)
			closeTo(t, "out", a.Out.Data, wantOut, 2e-5, 2e-5)
			closeTo(t, "last_state", a.LastState.Data, wantLast, 2e-6, 2e-5)
		})
	}
}
