//go:build amd64 && !noasm

package asm

import "unsafe"

//go:noescape
func recur8AVX(h *[8]float32, da, w *[8][Recur8Block]float32, n int, rev bool)

//go:noescape
func oct1PrepAVX2(n16 int, da, w, delta, u, b *float32, bias, a float32)

//go:noescape
func oct1PrepAVX512(n int, da, w, delta, u, b *float32, bias, a float32)

//go:noescape
func oct1OutAVX2(n8 int, out, h, u, c, gate *float32, dSkip float32)

//go:noescape
func prefetchLines(n int, p *float32)

//go:noescape
func oct1OutAccAVX2(n8 int, out, h, u, c, gate *float32, dSkip float32)

func recur8(h *[8]float32, da, w *[8][Recur8Block]float32, n int, rev bool) {
	if !useSIMD {
		Recur8Go(h, da, w, n, rev)
		return
	}
	recur8AVX(h, da, w, n, rev)
}

func oct1Prep(da, w, delta, u, b []float32, bias, a float32) {
	switch {
	case !useSIMD:
		Oct1PrepGo(da, w, delta, u, b, bias, a)
		return
	case useAVX512:
		oct1PrepAVX512(len(delta), &da[0], &w[0], &delta[0], &u[0], &b[0], bias, a)
		return
	}
	n16 := len(delta) / 16
	if n16 > 0 {
		oct1PrepAVX2(n16, &da[0], &w[0], &delta[0], &u[0], &b[0], bias, a)
	}
	if r := len(delta) - 16*n16; r > 0 { // the tail through padded copies
		var td, tu, tb, tda, tw [16]float32
		i := 16 * n16
		copy(td[:], delta[i:])
		copy(tu[:], u[i:])
		copy(tb[:], b[i:])
		oct1PrepAVX2(1, &tda[0], &tw[0], &td[0], &tu[0], &tb[0], bias, a)
		copy(da[i:], tda[:r])
		copy(w[i:], tw[:r])
	}
}

func oct1Out(out, h, u, c, gate []float32, dSkip float32) {
	if !useSIMD {
		Oct1OutGo(out, h, u, c, gate, dSkip)
		return
	}
	n8 := len(out) / 8
	if n8 > 0 {
		oct1OutAVX2(n8, &out[0], &h[0], &u[0], &c[0], &gate[0], dSkip)
	}
	if i := 8 * n8; i < len(out) {
		Oct1OutGo(out[i:], h[i:], u[i:], c[i:], gate[i:], dSkip)
	}
}

func oct1OutAcc(out, h, u, c, gate []float32, dSkip float32) {
	if !useSIMD {
		Oct1OutAccGo(out, h, u, c, gate, dSkip)
		return
	}
	n8 := len(out) / 8
	if n8 > 0 {
		oct1OutAccAVX2(n8, &out[0], &h[0], &u[0], &c[0], &gate[0], dSkip)
	}
	if i := 8 * n8; i < len(out) {
		Oct1OutAccGo(out[i:], h[i:], u[i:], c[i:], gate[i:], dSkip)
	}
}

//go:noescape
func ln2dAVX2_2(c, stride int, x, dst, w, b *float32, eps, invC float32)

//go:noescape
func ln2dAVX2_1(c, stride int, x, dst, w, b *float32, eps, invC float32)

//go:noescape
func ln2dMaskAVX2(c, stride int, x, dst, w, b *float32, eps, invC float32, n int)

func layerNorm2dPixels(dst, x, w, b []float32, c, stride, n int, eps float32) {
	if !useSIMD {
		LayerNorm2dPixelsGo(dst, x, w, b, c, stride, n, eps)
		return
	}
	invC := 1 / float32(c)
	i := 0
	for ; i+16 <= n; i += 16 {
		ln2dAVX2_2(c, 4*stride, &x[i], &dst[i], &w[0], &b[0], eps, invC)
	}
	for ; i+8 <= n; i += 8 {
		ln2dAVX2_1(c, 4*stride, &x[i], &dst[i], &w[0], &b[0], eps, invC)
	}
	if i < n { // masked loads never touch the lanes beyond the row
		ln2dMaskAVX2(c, 4*stride, &x[i], &dst[i], &w[0], &b[0], eps, invC, n-i)
	}
}

//go:noescape
func tr8AVX2(src *float32, lds int, dst *float32, ldd int)

//go:noescape
func tr8MaskAVX2(src *float32, lds int, dst *float32, ldd int, r, c int)

func transpose(dst, src []float32, h, w int) {
	if !useSIMD || h*w < 64 {
		TransposeGo(dst, src, h, w)
		return
	}
	for i := 0; i < h; i += 8 {
		r := min(8, h-i)
		for j := 0; j < w; j += 8 {
			c := min(8, w-j)
			s, d := &src[i*w+j], &dst[j*h+i]
			if r == 8 && c == 8 {
				tr8AVX2(s, 4*w, d, 4*h)
			} else {
				tr8MaskAVX2(s, 4*w, d, 4*h, r, c)
			}
		}
	}
}

//go:noescape
func dw3AVX2(n8 int, o, r0, r1, r2, w *float32, b float32)

//go:noescape
func addScalarAVX2(n32 int, dst *float32, v float32)

func dw3Row(o, r0, r1, r2, w []float32, b float32) {
	n := len(o)
	if !useSIMD || n < 10 {
		DW3RowGo(o, r0, r1, r2, w, b)
		return
	}
	// Interior outputs 1 … n−2 eight at a time, the last eight overlapping
	// the ones before (they are recomputed with the same values).
	n8 := (n - 2) / 8
	dw3AVX2(n8, &o[1], &r0[0], &r1[0], &r2[0], &w[0], b)
	if x := 1 + 8*n8; x < n-1 {
		dw3AVX2(1, &o[n-9], &r0[n-10], &r1[n-10], &r2[n-10], &w[0], b)
	}
	dw3First(o, r0, r1, r2, w, b)
	dw3Last(o, r0, r1, r2, w, b)
}

func addScalar(dst []float32, v float32) {
	if !useSIMD {
		AddScalarGo(dst, v)
		return
	}
	n32 := len(dst) / 32
	if n32 > 0 {
		addScalarAVX2(n32, &dst[0], v)
	}
	AddScalarGo(dst[32*n32:], v)
}

//go:noescape
func gather2AVX2(n8 int, dst, src *float32)

func gather2(dst, src []float32) {
	// Each 8 outputs read 16 inputs; the last block may read one past
	// 2·n−1, so the kernel stops where src has the full 16.
	n8 := min(len(dst)/8, len(src)/16)
	if !useSIMD || n8 == 0 {
		Gather2Go(dst, src)
		return
	}
	gather2AVX2(n8, &dst[0], &src[0])
	Gather2Go(dst[8*n8:], src[16*n8:])
}

//go:noescape
func deltaRowAVX512(n int, dst, x *float32, stride int, w *float32, r int)

//go:noescape
func deltaRowAVX2(n int, dst, x *float32, stride int, w *float32, r int)

// deltaTailRows is the most rows whose tail deltaRow pads on the stack.
const deltaTailRows = 64

// deltaRow runs whole vectors of steps in SIMD (16 or 8 lanes) and the
// remaining steps as one more vector: the last lanes steps again (the
// overlap is recomputed with the same values) or, for rows shorter than a
// vector, the rows copied into zeroed stack rows of 16 (the twin past
// deltaTailRows rows). The tail stays in fused multiply-adds: a scalar
// tail cost 5% of vmamba-tiny's time on the device Xeon (4 of 196 and 1 of
// 49 steps per channel block, each a strided walk over up to 48 rows), and
// zeroing the padded rows on every call still 1.9%.
func deltaRow(dst, x []float32, stride int, w []float32) {
	if !useSIMD {
		DeltaRowGo(dst, x, stride, w)
		return
	}
	lanes := 8
	if useAVX512 {
		lanes = 16
	}
	i := len(dst) / lanes * lanes
	if i > 0 {
		deltaRowVec(i/lanes, &dst[0], &x[0], stride, w)
	}
	rem := len(dst) - i
	if rem == 0 {
		return
	}
	if i > 0 { // the last vector again, overlapping the ones before
		j := len(dst) - lanes
		deltaRowVec(1, &dst[j], &x[j], stride, w)
		return
	}
	if len(w) > deltaTailRows {
		DeltaRowGo(dst[i:], x[i:], stride, w)
		return
	}
	var xt [deltaTailRows * 16]float32
	var out [16]float32
	for r := range w {
		copy(xt[r*16:r*16+rem], x[r*stride+i:r*stride+i+rem])
	}
	deltaRowVec(1, &out[0], &xt[0], 16, w) // AVX2: rem < 8
	copy(dst[i:], out[:rem])
}

// deltaRowVec runs this CPU's deltaRow kernel (AVX-512 or AVX2) over n
// vectors of steps. (Direct calls: through a func value the noescape
// operands would escape.)
func deltaRowVec(n int, dst, x *float32, stride int, w []float32) {
	if useAVX512 {
		deltaRowAVX512(n, dst, x, stride, &w[0], len(w))
		return
	}
	deltaRowAVX2(n, dst, x, stride, &w[0], len(w))
}

func prefetch(x []float32) {
	if !useSIMD {
		return
	}
	start := uintptr(unsafe.Pointer(&x[0]))
	end := start + 4*uintptr(len(x))
	prefetchLines(int((end-1)/64-start/64+1), &x[0])
}
