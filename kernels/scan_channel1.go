package kernels

// scanChannel1Go is scanChannelGo for N = 1 (VMamba v2's d_state), where the
// state is a scalar: h = exp(Δ·a)·h + (Δ·u)·B[t]; y = h·C[t] (+ dSkip·u)
// (· silu(z)). B and C are time-major rows read at t·bStride and t·cStride
// (stride 1 for time-varying rows, which for N = 1 need no transposition,
// 0 for time-invariant ones). The arithmetic is scanChannelGo's, operation
// for operation. It is the definition of scanChannel1, which dispatches to
// SIMD code on amd64 (scan_channel_amd64.go).
func scanChannel1Go(h []float32, a float32, u, delta, z, out, b, c []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	hv := h[0]
	delta = delta[:len(u)]
	out = out[:len(u)]
	if z != nil {
		z = z[:len(u)]
	}
	for t, uv := range u {
		dt := delta[t] + dBias
		if softplus {
			dt = fastSoftplusf(dt)
		}
		du := dt * uv
		hv = fastExpf(dt*a)*hv + du*b[t*bStride]
		y := hv * c[t*cStride]
		if hasD {
			y += uv * dSkip
		}
		if z != nil {
			y *= fastSiluf(z[t])
		}
		out[t] = y
	}
	h[0] = hv
}
