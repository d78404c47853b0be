//go:build !amd64 || noasm

package asm

func scanStates16(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32, rev bool) {
	if rev {
		ScanStates16RevGo(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip)
		return
	}
	ScanStates16Go(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip)
}

func softplusVec(dst, src []float32, bias float32) { SoftplusGo(dst, src, bias) }

func siluVec(dst, src []float32) { SiluGo(dst, src) }

func expVec(dst, src []float32) { ExpGo(dst, src) }

func scanState1(h, da, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	ScanState1Go(h, da, dt, u, gate, out, b, c, bStride, cStride, dSkip)
}

func geluVec(dst, src []float32) { GeluGo(dst, src) }
