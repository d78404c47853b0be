//go:build amd64 && !noasm

package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

// scanBlock is the number of steps whose Δ and gate are precomputed at once
// (two stack arrays of this many floats).
const scanBlock = 256

// scanChannel is scanChannelGo's contract with the amd64 kernels: for N = 16
// it computes Δ (softplus) and the SiLU gate for a block of steps with
// vector code, then runs the recurrence with asm.ScanStates16 (AVX2+FMA,
// vectorised over the 16 states). Other N, CPUs without AVX2, the noasm
// tag and GOMAMBA_NOASM=1 take scanChannelGo.
func scanChannel(h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	if len(h) != 16 || !asm.Enabled() {
		scanChannelGo(h, a, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
		return
	}
	if !hasD {
		dSkip = 0
	}
	var dt, gate [scanBlock]float32
	if z == nil {
		for i := range gate {
			gate[i] = 1
		}
	}
	for t0 := 0; t0 < len(u); t0 += scanBlock {
		t1 := min(len(u), t0+scanBlock)
		n := t1 - t0
		// Δ is read before out (which may alias delta) is written.
		if softplus {
			asm.Softplus(dt[:n], delta[t0:t1], dBias)
		} else {
			for i, v := range delta[t0:t1] {
				dt[i] = v + dBias
			}
		}
		if z != nil {
			asm.Silu(gate[:n], z[t0:t1])
		}
		asm.ScanStates16(h, a, dt[:n], u[t0:t1], gate[:n], out[t0:t1], bt[t0*bStride:], ct[t0*cStride:], bStride, cStride, dSkip)
	}
}
