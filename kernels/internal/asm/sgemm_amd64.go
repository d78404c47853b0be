//go:build amd64 && !noasm

package asm

import "golang.org/x/sys/cpu"

// haveSIMD reports CPU support for the amd64 kernels (AVX2 and FMA; x/sys/cpu
// also checks that the OS saves the YMM registers).
var haveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// haveAVX512 reports CPU (and OS) support for the AVX-512F kernels.
var haveAVX512 = haveSIMD && cpu.X86.HasAVX512F

var useSIMD = allowSIMD

//go:noescape
func kernel6x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernel6x32AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernel6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func packBT16AVX2(n8 int, src *float32, ld int, dst *float32)

//go:noescape
func packBN16AVX2(n int, src *float32, ld int, dst *float32)

//go:noescape
func packAT6AVX2(n int, src *float32, ld int, dst *float32)

//go:noescape
func packAN6AVX2(n8 int, src *float32, ld int, dst *float32)

func kernel(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	if useSIMD && kc > 0 {
		if useAVX512 {
			kernel6x16AVX512(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
			return
		}
		kernel6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
		return
	}
	kernelGo(kc, a, b, c, ldc, alpha, beta)
}

func kernel2(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	if useSIMD && useAVX512 && kc > 0 {
		kernel6x32AVX512(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
		return
	}
	kernel(kc, a, b[:kc*NR], c, ldc, alpha, beta)
	kernel(kc, a, b[kc*NR:], c[NR:], ldc, alpha, beta)
}

// packAN packs r ≤ MR rows; full panels go through the AVX2 transposer.
// Its 8-float store of a column runs 2 floats into the next column, so
// past the panel's end after the last column; the last panel of a PackA
// call (last) therefore leaves its final 8 columns to the Go loop when kc
// is a multiple of 8, and PackA writes nothing past its last panel.
func packAN(dst, a []float32, lda, r, kc int, last bool) {
	n8 := kc / 8
	if last && kc%8 == 0 {
		n8--
	}
	if !useSIMD || r < MR || n8 <= 0 {
		packANGo(dst, a, lda, r, kc, 0)
		return
	}
	_ = a[(MR-1)*lda+kc-1]
	_ = dst[MR*kc-1]
	packAN6AVX2(n8, &a[0], lda, &dst[0])
	packANGo(dst, a, lda, r, kc, 8*n8)
}

func packBT(dst, b []float32, ldb, c, kc int) {
	n8 := kc / 8
	if !useSIMD || c < NR || n8 == 0 {
		packBTGo(dst, b, ldb, c, kc, 0)
		return
	}
	_ = b[(NR-1)*ldb+kc-1]
	_ = dst[NR*kc-1]
	packBT16AVX2(n8, &b[0], ldb, &dst[0])
	packBTGo(dst, b, ldb, c, kc, 8*n8)
}

//go:noescape
func dot4AVX2(k16 int, x, b *float32, ld int, out *float32)

func dot4(k int, x, b []float32, ldb int, out *[4]float32) {
	k16 := k / 16
	if !useSIMD || k16 == 0 {
		Dot4Go(k, x, b, ldb, out)
		return
	}
	dot4AVX2(k16, &x[0], &b[0], ldb, &out[0])
	for p := 16 * k16; p < k; p++ {
		xv := x[p]
		out[0] += xv * b[p]
		out[1] += xv * b[ldb+p]
		out[2] += xv * b[2*ldb+p]
		out[3] += xv * b[3*ldb+p]
	}
}

//go:noescape
func packBN64AVX2(n int, src *float32, ld int, dst *float32, pstride int)

// packBNGroups packs the first full panels of an untransposed B
// (b[p*ldb+j], panels*NR ≤ the columns) several at a time, one sweep along
// each row per group, and returns how many it packed (a multiple of the
// group size; the caller packs the rest panel by panel).
func packBNGroups(dst, b []float32, ldb, panels, kc int) int {
	return packGroups(dst, b, ldb, panels, kc, bnGroup, NR, packBN64AVX2) // 4 panels per sweep
}

// packGroups runs kern over the first panels/g·g panels of width w (NR
// columns of B or MR rows of A, stored along src's rows of stride ld), g
// panels per call, after one bounds check of src and dst for all of them,
// and returns how many panels it packed (0 without SIMD).
func packGroups(dst, src []float32, ld, panels, kc, g, w int, kern func(n int, src *float32, ld int, dst *float32, pstride int)) int {
	if !useSIMD || kc == 0 || panels < g {
		return 0
	}
	done := panels / g * g
	_ = src[(kc-1)*ld+done*w-1]
	_ = dst[done*w*kc-1]
	for q := 0; q < done; q += g {
		kern(kc, &src[q*w], ld, &dst[q*w*kc], w*kc)
	}
	return done
}

func packBN(dst, b []float32, ldb, c, kc int) {
	if !useSIMD || c < NR || kc == 0 {
		packBNGo(dst, b, ldb, c, kc)
		return
	}
	_ = b[(kc-1)*ldb+NR-1]
	_ = dst[NR*kc-1]
	packBN16AVX2(kc, &b[0], ldb, &dst[0])
}

//go:noescape
func packAT48AVX2(n int, src *float32, ld int, dst *float32, pstride int)

// packATGroups packs the first full panels of a transposed A (a[p*lda+i],
// panels*MR ≤ the rows of op(A)) 8 at a time, one sweep of 48 floats along
// each stored row per group, and returns how many it packed (a multiple of
// 8; the caller packs the rest panel by panel).
func packATGroups(dst, a []float32, lda, panels, kc int) int {
	return packGroups(dst, a, lda, panels, kc, atGroup, MR, packAT48AVX2)
}

func packAT(dst, a []float32, lda, r, kc int) {
	if !useSIMD || r < MR || kc == 0 {
		packATGo(dst, a, lda, r, kc)
		return
	}
	_ = a[(kc-1)*lda+MR-1]
	_ = dst[MR*kc-1]
	packAT6AVX2(kc, &a[0], lda, &dst[0])
}
