package kernels

// scanChannel advances the selective-scan recurrence of one channel (b, d)
// over a chunk of T = len(u) time steps. It is the whole inner loop of
// SelectiveScan, kept alone in this file so that a SIMD twin can replace it;
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
// out may alias u or delta.
func scanChannel(h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	n := len(h)
	a = a[:n]
	delta = delta[:len(u)]
	out = out[:len(u)]
	for t, uv := range u {
		dt := delta[t] + dBias
		if softplus {
			dt = softplusf(dt)
		}
		du := dt * uv
		br := bt[t*bStride : t*bStride+n]
		cr := ct[t*cStride : t*cStride+n]
		var y float32
		for i, av := range a {
			hv := expf(dt*av)*h[i] + du*br[i]
			h[i] = hv
			y += hv * cr[i]
		}
		if hasD {
			y += uv * dSkip
		}
		if z != nil {
			y *= siluf(z[t])
		}
		out[t] = y
	}
}
