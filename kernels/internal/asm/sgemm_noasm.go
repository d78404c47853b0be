//go:build !amd64 || noasm

package asm

const haveSIMD = false

const haveAVX512 = false

var useSIMD = false

func kernel(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	kernelGo(kc, a, b, c, ldc, alpha, beta)
}

func kernel2(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	kernelGo(kc, a, b[:kc*NR], c, ldc, alpha, beta)
	kernelGo(kc, a, b[kc*NR:], c[NR:], ldc, alpha, beta)
}

func packAN(dst, a []float32, lda, r, kc int, _ bool) { packANGo(dst, a, lda, r, kc, 0) }

func packBT(dst, b []float32, ldb, c, kc int) { packBTGo(dst, b, ldb, c, kc, 0) }

func dot4(k int, x, b []float32, ldb int, out *[4]float32) { Dot4Go(k, x, b, ldb, out) }

func packBN(dst, b []float32, ldb, c, kc int) { packBNGo(dst, b, ldb, c, kc) }

func packAT(dst, a []float32, lda, r, kc int) { packATGo(dst, a, lda, r, kc) }

func packBNGroups(dst, b []float32, ldb, panels, kc int) int { return 0 }

func packATGroups(dst, a []float32, lda, panels, kc int) int { return 0 }
