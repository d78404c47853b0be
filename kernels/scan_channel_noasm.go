//go:build !amd64 || noasm

package kernels

// scanChannel is scanChannelGo on builds without the amd64 kernels.
func scanChannel(h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	scanChannelGo(h, a, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
}
