//go:build amd64 && !noasm

package asm

//go:noescape
func expDtA16AVX2(pairs int, dst, dt, a *float32)

//go:noescape
func scanN16AVX2(steps int, h, da, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

//go:noescape
func softplusAVX2(n16 int, dst, src *float32, bias float32)

//go:noescape
func siluAVX2(n16 int, dst, src *float32)

//go:noescape
func scanN16AVX512(steps int, h, a, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)

//go:noescape
func expAVX512(n int, dst, src *float32)

//go:noescape
func softplusAVX512(n int, dst, src *float32, bias float32)

//go:noescape
func siluAVX512(n int, dst, src *float32)

//go:noescape
func geluAVX512(n int, dst, src *float32)

func scanStates16(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	if !useSIMD {
		ScanStates16Go(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip)
		return
	}
	if useAVX512 {
		// One pass: the exps are computed inside the recurrence.
		scanN16AVX512(len(dt), &h[0], &a[0], &dt[0], &u[0], &gate[0], &out[0], &b[0], &c[0], bStride, cStride, dSkip)
		return
	}
	// Decay factors for a block of steps first (independent exps overlap),
	// then the recurrence over the block.
	const block = 64
	var da [block * 16]float32
	var dtPad [2]float32
	for t0 := 0; t0 < len(dt); t0 += block {
		steps := min(block, len(dt)-t0)
		if pairs := steps / 2; pairs > 0 {
			expDtA16AVX2(pairs, &da[0], &dt[t0], &a[0])
		}
		if steps%2 == 1 {
			dtPad[0] = dt[t0+steps-1]
			expDtA16AVX2(1, &da[(steps-1)*16], &dtPad[0], &a[0]) // writes 32 floats: da has room
		}
		scanN16AVX2(steps, &h[0], &da[0], &dt[t0], &u[t0], &gate[t0], &out[t0], &b[t0*bStride], &c[t0*cStride], bStride, cStride, dSkip)
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
