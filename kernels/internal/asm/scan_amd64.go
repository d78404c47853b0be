//go:build amd64 && !noasm

package asm

//go:noescape
func scanN16AVX2(steps int, h, a2, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

//go:noescape
func scanN16RevAVX2(steps int, h, a2, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

//go:noescape
func softplusAVX2(n16 int, dst, src *float32, bias float32)

//go:noescape
func siluAVX2(n16 int, dst, src *float32)

//go:noescape
func scanN16AVX512(steps int, h, a2, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

//go:noescape
func scanN16RevAVX512(steps int, h, a2, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

//go:noescape
func expAVX512(n int, dst, src *float32)

//go:noescape
func softplusAVX512(n int, dst, src *float32, bias float32)

//go:noescape
func siluAVX512(n int, dst, src *float32)

//go:noescape
func geluAVX512(n int, dst, src *float32)

// log2e is log2(e) as a float32, the factor the N = 16 kernels' decay
// 2^(dt·a2) needs in a2 = a·log2e.
const log2e float32 = 1.44269504088896341

func scanStates16(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32, rev bool) {
	if !useSIMD {
		if rev {
			ScanStates16RevGo(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip)
		} else {
			ScanStates16Go(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip)
		}
		return
	}
	var a2 [16]float32
	for n, v := range a[:16] {
		a2[n] = v * log2e
	}
	steps := len(dt)
	// One pass: the exps are computed inside the recurrence. (Direct
	// calls: through a func value the noescape operands would escape.)
	switch {
	case useAVX512 && rev:
		scanN16RevAVX512(steps, &h[0], &a2[0], &dt[0], &u[0], &gate[0], &out[0], &b[0], &c[0], bStride, cStride, dSkip)
	case useAVX512:
		scanN16AVX512(steps, &h[0], &a2[0], &dt[0], &u[0], &gate[0], &out[0], &b[0], &c[0], bStride, cStride, dSkip)
	case rev:
		scanN16RevAVX2(steps, &h[0], &a2[0], &dt[0], &u[0], &gate[0], &out[0], &b[0], &c[0], bStride, cStride, dSkip)
	default:
		scanN16AVX2(steps, &h[0], &a2[0], &dt[0], &u[0], &gate[0], &out[0], &b[0], &c[0], bStride, cStride, dSkip)
	}
}

func softplusVec(dst, src []float32, bias float32) {
	if !useSIMD {
		SoftplusGo(dst, src, bias)
		return
	}
	if useAVX512 {
		if len(src) > 0 {
			softplusAVX512(len(src), &dst[0], &src[0], bias)
		}
		return
	}
	n16 := len(src) / 16
	if n16 > 0 {
		softplusAVX2(n16, &dst[0], &src[0], bias)
	}
	if r := len(src) - 16*n16; r > 0 {
		var tmp [16]float32
		copy(tmp[:], src[16*n16:])
		softplusAVX2(1, &tmp[0], &tmp[0], bias)
		copy(dst[16*n16:], tmp[:r])
	}
}

func siluVec(dst, src []float32) {
	if !useSIMD {
		SiluGo(dst, src)
		return
	}
	if useAVX512 {
		if len(src) > 0 {
			siluAVX512(len(src), &dst[0], &src[0])
		}
		return
	}
	n16 := len(src) / 16
	if n16 > 0 {
		siluAVX2(n16, &dst[0], &src[0])
	}
	if r := len(src) - 16*n16; r > 0 {
		var tmp [16]float32
		copy(tmp[:], src[16*n16:])
		siluAVX2(1, &tmp[0], &tmp[0])
		copy(dst[16*n16:], tmp[:r])
	}
}

//go:noescape
func expAVX2(n16 int, dst, src *float32)

func expVec(dst, src []float32) {
	if !useSIMD {
		ExpGo(dst, src)
		return
	}
	if useAVX512 {
		if len(src) > 0 {
			expAVX512(len(src), &dst[0], &src[0])
		}
		return
	}
	n16 := len(src) / 16
	if n16 > 0 {
		expAVX2(n16, &dst[0], &src[0])
	}
	if r := len(src) - 16*n16; r > 0 {
		var tmp [16]float32
		copy(tmp[:], src[16*n16:])
		expAVX2(1, &tmp[0], &tmp[0])
		copy(dst[16*n16:], tmp[:r])
	}
}

//go:noescape
func scanN1AVX2(steps int, h, da, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

func scanState1(h, da, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	if !useSIMD {
		ScanState1Go(h, da, dt, u, gate, out, b, c, bStride, cStride, dSkip)
		return
	}
	scanN1AVX2(len(da), &h[0], &da[0], &dt[0], &u[0], &gate[0], &out[0], &b[0], &c[0], bStride, cStride, dSkip)
}

//go:noescape
func geluAVX2(n16 int, dst, src *float32)

func geluVec(dst, src []float32) {
	if !useSIMD {
		GeluGo(dst, src)
		return
	}
	if useAVX512 {
		if len(src) > 0 {
			geluAVX512(len(src), &dst[0], &src[0])
		}
		return
	}
	n16 := len(src) / 16
	if n16 > 0 {
		geluAVX2(n16, &dst[0], &src[0])
	}
	if r := len(src) - 16*n16; r > 0 {
		var tmp [16]float32
		copy(tmp[:], src[16*n16:])
		geluAVX2(1, &tmp[0], &tmp[0])
		copy(dst[16*n16:], tmp[:r])
	}
}
