//go:build !amd64 || noasm

package kernels

// scanChannel is scanChannelGo on builds without the amd64 kernels.
func scanChannel(_ *scanScratch, h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	scanChannelGo(h, a, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
}

// scanChannel1 is scanChannel1Go on builds without the amd64 kernels.
func scanChannel1(_ *scanScratch, h []float32, a float32, u, delta, z, out, b, c []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	scanChannel1Go(h, a, u, delta, z, out, b, c, bStride, cStride, dSkip, dBias, hasD, softplus)
}

// scanChannelRev is scanChannelRevStaged on builds without the amd64
// kernels.
func scanChannelRev(sc *scanScratch, h, a, u, delta, z, out, bt, ct []float32, bStride, cStride int, dSkip, dBias float32, hasD, softplus bool) {
	scanChannelRevStaged(sc, h, a, u, delta, z, out, bt, ct, bStride, cStride, dSkip, dBias, hasD, softplus)
}

// revStaged16 has no effect without the amd64 kernels (every reverse scan
// is staged); tests and benchmarks set it on every build.
var revStaged16 = false
