package kernels

import "math"

// scanChannelGo advances the selective-scan recurrence of one channel (b, d)
// over a chunk of T = len(u) time steps. It is the whole inner loop of
// SelectiveScan, kept alone in this file so that a SIMD twin can replace it
// (scanChannel dispatches: scan_channel_amd64.go, scan_channel_noasm.go);
// its body is the definition (state-spaces/mamba selective_scan_ref, fp32):
//
//	Δ   = delta[t] + dBias; Δ = softplus(Δ) if softplus
//	h_n = exp(Δ·a_n)·h_n + (Δ·u[t])·B[t,n]          (n < N = len(h))
//	y   = Σ_n h_n·C[t,n] (+ dSkip·u[t] if hasD)
//	out[t] = y (· silu(z[t]) if z != nil)
//
// h (N) is the running state, updated in place; a (N) is the channel's row
// of A. u, delta, out and z (nil when there is no gate) are the channel's
// rows for the chunk (length T). B and C are time-major for the chunk:
// B[t,n] = bt[t·bStride+n], C[t,n] = ct[t·cStride+n], with stride N for
// time-varying B/C (rows transposed from the (N, L) layout by the caller)
// and stride 0 for time-invariant ones (the channel's (N) row repeated).
// out may alias u or delta. Transcendentals use the float32 fastExpf,
// fastSoftplusf and fastSiluf (≤ 2 ulp), well inside the 1e-4 parity budget.
func scanChannelGo(h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	n := len(h)
	a = a[:n]
	delta = delta[:len(u)]
	out = out[:len(u)]
	for t, uv := range u {
		dt := delta[t] + dBias
		if softplus {
			dt = fastSoftplusf(dt)
		}
		du := dt * uv
		br := bt[t*bStride : t*bStride+n]
		cr := ct[t*cStride : t*cStride+n]
		h := h[:len(a)]
		br = br[:len(a)]
		cr = cr[:len(a)]
		var y float32
		for i, av := range a {
			// e = exp(Δ·a_i): fastExpf, inlined by hand (the compiler
			// does not inline it and the call would dominate).
			x := dt * av
			var e float32
			if x >= -87 && x <= 88 {
				k := float32(x*1.44269504088896341+12582912) - 12582912
				r := x - k*0.693359375
				r -= k * -2.12194440e-4
				p := float32(1.9875691500e-4)
				p = p*r + 1.3981999507e-3
				p = p*r + 8.3334519073e-3
				p = p*r + 4.1665795894e-2
				p = p*r + 1.6666665459e-1
				p = p*r + 5.0000001201e-1
				e = (p*(r*r) + r + 1) * math.Float32frombits(uint32(int32(k)+127)<<23)
			} else {
				e = expf(x)
			}
			hv := e*h[i] + du*br[i]
			h[i] = hv
			y += hv * cr[i]
		}
		if hasD {
			y += uv * dSkip
		}
		if z != nil {
			y *= fastSiluf(z[t])
		}
		out[t] = y
	}
}
