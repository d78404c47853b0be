package main

import (
	"fmt"
)

// step emits one k step of the 6×16 kernel reading a at aoff(SI) and b at
// boff(DI): two B vectors, six broadcasts, twelve FMAs into Y4..Y15.
func step(aoff, boff int) {
	p("\tVMOVUPS %d(DI), Y0", boff)
	p("\tVMOVUPS %d(DI), Y1", boff+32)
	for r := 0; r < 6; r++ {
		br := 2 + r%2
		p("\tVBROADCASTSS %d(SI), Y%d", aoff+4*r, br)
		p("\tVFMADD231PS Y0, Y%d, Y%d", br, 4+2*r)
		p("\tVFMADD231PS Y1, Y%d, Y%d", br, 5+2*r)
	}
}

func kernel6x16() {
	const unroll = 4
	p("")
	p("// func kernel6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32)")
	p("TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-48")
	p("\tMOVQ kc+0(FP), CX")
	p("\tMOVQ a+8(FP), SI")
	p("\tMOVQ b+16(FP), DI")
	p("\tMOVQ c+24(FP), DX")
	p("\tMOVQ ldc+32(FP), R8")
	p("\tSHLQ $2, R8")
	for r := 4; r < 16; r++ {
		p("\tVXORPS Y%d, Y%d, Y%d", r, r, r)
	}
	// Prefetch the C tile while the loop runs.
	p("\tMOVQ DX, R9")
	for r := 0; r < 6; r++ {
		p("\tPREFETCHT0 (R9)")
		p("\tPREFETCHT0 60(R9)")
		if r < 5 {
			p("\tADDQ R8, R9")
		}
	}
	p("\tCMPQ CX, $%d", unroll)
	p("\tJLT k6x16_tail")
	p("k6x16_loop:")
	for u := 0; u < unroll; u++ {
		step(24*u, 64*u)
	}
	p("\tADDQ $%d, SI", 24*unroll)
	p("\tADDQ $%d, DI", 64*unroll)
	p("\tSUBQ $%d, CX", unroll)
	p("\tCMPQ CX, $%d", unroll)
	p("\tJGE k6x16_loop")
	p("k6x16_tail:")
	p("\tTESTQ CX, CX")
	p("\tJZ k6x16_store")
	p("k6x16_tailloop:")
	step(0, 0)
	p("\tADDQ $24, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ k6x16_tailloop")
	p("k6x16_store:")
	p("\tVBROADCASTSS alpha+40(FP), Y0")
	p("\tVBROADCASTSS beta+44(FP), Y1")
	p("\tMOVL beta+44(FP), AX")
	p("\tANDL $0x7fffffff, AX")
	p("\tJZ k6x16_nobeta")
	for r := 0; r < 6; r++ {
		for h := 0; h < 2; h++ {
			acc := 4 + 2*r + h
			p("\tVMULPS Y0, Y%d, Y%d", acc, acc)
			p("\tVFMADD231PS %d(DX), Y1, Y%d", 32*h, acc)
			p("\tVMOVUPS Y%d, %d(DX)", acc, 32*h)
		}
		if r < 5 {
			p("\tADDQ R8, DX")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("k6x16_nobeta:")
	for r := 0; r < 6; r++ {
		for h := 0; h < 2; h++ {
			acc := 4 + 2*r + h
			p("\tVMULPS Y0, Y%d, Y%d", acc, acc)
			p("\tVMOVUPS Y%d, %d(DX)", acc, 32*h)
		}
		if r < 5 {
			p("\tADDQ R8, DX")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
}

// transpose8 transposes the 8×8 block whose rows are in Y0..Y7; column k
// ends in Y(8+k). Y0..Y7 are clobbered.
func transpose8() {
	for i := 0; i < 4; i++ {
		p("\tVUNPCKLPS Y%d, Y%d, Y%d", 2*i+1, 2*i, 8+2*i)
		p("\tVUNPCKHPS Y%d, Y%d, Y%d", 2*i+1, 2*i, 9+2*i)
	}
	// t0..t7 = Y8..Y15
	for g := 0; g < 2; g++ {
		t := 8 + 4*g // t0 or t4
		o := 4 * g
		p("\tVSHUFPS $0x44, Y%d, Y%d, Y%d", t+2, t, o+0)
		p("\tVSHUFPS $0xEE, Y%d, Y%d, Y%d", t+2, t, o+1)
		p("\tVSHUFPS $0x44, Y%d, Y%d, Y%d", t+3, t+1, o+2)
		p("\tVSHUFPS $0xEE, Y%d, Y%d, Y%d", t+3, t+1, o+3)
	}
	for k := 0; k < 4; k++ {
		p("\tVPERM2F128 $0x20, Y%d, Y%d, Y%d", 4+k, k, 8+k)
		p("\tVPERM2F128 $0x31, Y%d, Y%d, Y%d", 4+k, k, 12+k)
	}
}

// packBT16 packs 16 rows of a row-major matrix (stride ld floats), 8·n8
// columns of them, into dst[p*16+j] = src[j*ld+p].
func packBT16() {
	p("")
	p("// func packBT16AVX2(n8 int, src *float32, ld int, dst *float32)")
	p("TEXT ·packBT16AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ n8+0(FP), CX")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ ld+16(FP), R8")
	p("\tMOVQ dst+24(FP), DI")
	p("\tSHLQ $2, R8")
	p("\tLEAQ (R8)(R8*2), R9")   // 3·ld
	p("\tLEAQ (SI)(R8*4), BX")   // row 4
	p("\tLEAQ (BX)(R8*4), R10")  // row 8
	p("\tLEAQ (R10)(R8*4), R11") // row 12
	p("\tTESTQ CX, CX")
	p("\tJZ pbt_done")
	p("pbt_loop:")
	for h, base := range [][2]string{{"SI", "BX"}, {"R10", "R11"}} {
		for q, b := range base {
			p("\tVMOVUPS (%s), Y%d", b, 4*q+0)
			p("\tVMOVUPS (%s)(R8*1), Y%d", b, 4*q+1)
			p("\tVMOVUPS (%s)(R8*2), Y%d", b, 4*q+2)
			p("\tVMOVUPS (%s)(R9*1), Y%d", b, 4*q+3)
		}
		transpose8()
		for k := 0; k < 8; k++ {
			p("\tVMOVUPS Y%d, %d(DI)", 8+k, 64*k+32*h)
		}
	}
	for _, r := range []string{"SI", "BX", "R10", "R11"} {
		p("\tADDQ $32, %s", r)
	}
	p("\tADDQ $512, DI")
	p("\tDECQ CX")
	p("\tJNZ pbt_loop")
	p("pbt_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// packAN6 packs 6 rows of a row-major matrix (stride ld floats), 8·n8
// columns of them, into dst[p*6+i] = src[i*ld+p]. Each column is written
// with one 8-float store that overlaps the next, so the 8 floats after the
// last packed column are clobbered: callers keep that room in dst.
func packAN6() {
	p("")
	p("// func packAN6AVX2(n8 int, src *float32, ld int, dst *float32)")
	p("TEXT ·packAN6AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ n8+0(FP), CX")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ ld+16(FP), R8")
	p("\tMOVQ dst+24(FP), DI")
	p("\tSHLQ $2, R8")
	p("\tLEAQ (R8)(R8*2), R9")
	p("\tLEAQ (SI)(R8*4), BX")
	p("\tVXORPS Y6, Y6, Y6")
	p("\tVXORPS Y7, Y7, Y7")
	p("\tTESTQ CX, CX")
	p("\tJZ pan_done")
	p("pan_loop:")
	p("\tVMOVUPS (SI), Y0")
	p("\tVMOVUPS (SI)(R8*1), Y1")
	p("\tVMOVUPS (SI)(R8*2), Y2")
	p("\tVMOVUPS (SI)(R9*1), Y3")
	p("\tVMOVUPS (BX), Y4")
	p("\tVMOVUPS (BX)(R8*1), Y5")
	p("\tVXORPS Y6, Y6, Y6")
	p("\tVXORPS Y7, Y7, Y7")
	transpose8()
	for k := 0; k < 8; k++ {
		p("\tVMOVUPS Y%d, %d(DI)", 8+k, 24*k)
	}
	p("\tADDQ $32, SI")
	p("\tADDQ $32, BX")
	p("\tADDQ $192, DI")
	p("\tDECQ CX")
	p("\tJNZ pan_loop")
	p("pan_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// packBN16 copies 16 floats from each of n rows of a row-major matrix
// (stride ld floats) into dst[p*16+j] = src[p*ld+j], four rows per
// iteration.
func packBN16() {
	p("")
	p("// func packBN16AVX2(n int, src *float32, ld int, dst *float32)")
	p("TEXT ·packBN16AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ ld+16(FP), R8")
	p("\tMOVQ dst+24(FP), DI")
	p("\tSHLQ $2, R8")
	p("\tLEAQ (R8)(R8*2), R9")
	p("\tCMPQ CX, $4")
	p("\tJLT pbn_tail")
	p("pbn_loop4:")
	rows := []string{"(SI)", "(SI)(R8*1)", "(SI)(R8*2)", "(SI)(R9*1)"}
	for r, m := range rows {
		p("\tVMOVUPS %s, Y%d", m, 2*r)
		p("\tVMOVUPS 32%s, Y%d", m, 2*r+1)
	}
	for r := 0; r < 8; r++ {
		p("\tVMOVUPS Y%d, %d(DI)", r, 32*r)
	}
	p("\tLEAQ (SI)(R8*4), SI")
	p("\tADDQ $256, DI")
	p("\tSUBQ $4, CX")
	p("\tCMPQ CX, $4")
	p("\tJGE pbn_loop4")
	p("pbn_tail:")
	p("\tTESTQ CX, CX")
	p("\tJZ pbn_done")
	p("pbn_loop1:")
	p("\tVMOVUPS (SI), Y0")
	p("\tVMOVUPS 32(SI), Y1")
	p("\tVMOVUPS Y0, (DI)")
	p("\tVMOVUPS Y1, 32(DI)")
	p("\tADDQ R8, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ pbn_loop1")
	p("pbn_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// packBNGroup emits packBN<16·g>AVX2(n int, src *float32, ld int, dst
// *float32, pstride int): g adjacent 16-column panels at once, reading
// 16·g contiguous floats of each of n rows and writing them to
// dst[q*pstride + p*16 + j] = src[p*ld + 16q + j] for q < g, j < 16; one
// sweep along each row instead of g strided walks down the rows.
func packBNGroup(g int) {
	name := fmt.Sprintf("packBN%dAVX2", 16*g)
	l := fmt.Sprintf("pbg%d", g)
	p("")
	p("// func %s(n int, src *float32, ld int, dst *float32, pstride int)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ ld+16(FP), R8")
	p("\tMOVQ dst+24(FP), DI")
	p("\tMOVQ pstride+32(FP), R10")
	p("\tSHLQ $2, R8")
	p("\tSHLQ $2, R10")
	p("\tLEAQ (R10)(R10*2), R11")
	if g == 8 {
		p("\tLEAQ (DI)(R10*4), BX")
	}
	p("\tTESTQ CX, CX")
	p("\tJZ %s_done", l)
	p("%s_loop:", l)
	for half := 0; half < g/4; half++ {
		for v := 0; v < 8; v++ {
			p("\tVMOVUPS %d(SI), Y%d", 32*(8*half+v), 8*half+v)
		}
	}
	for half := 0; half < g/4; half++ {
		base := "DI"
		if half == 1 {
			base = "BX"
		}
		dsts := []string{"(" + base + ")", "(" + base + ")(R10*1)", "(" + base + ")(R10*2)", "(" + base + ")(R11*1)"}
		for q, d := range dsts {
			p("\tVMOVUPS Y%d, %s", 8*half+2*q, d)
			p("\tVMOVUPS Y%d, 32%s", 8*half+2*q+1, d)
		}
	}
	p("\tADDQ R8, SI")
	p("\tADDQ $64, DI")
	if g == 8 {
		p("\tADDQ $64, BX")
	}
	p("\tDECQ CX")
	p("\tJNZ %s_loop", l)
	p("%s_done:", l)
	p("\tVZEROUPPER")
	p("\tRET")
}

// packAT6 copies 6 floats from each of n rows of a row-major matrix
// (stride ld floats) into dst[p*6+i] = src[p*ld+i], reading no further than
// the sixth float of a row.
func packAT6() {
	p("")
	p("// func packAT6AVX2(n int, src *float32, ld int, dst *float32)")
	p("TEXT ·packAT6AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ ld+16(FP), R8")
	p("\tMOVQ dst+24(FP), DI")
	p("\tSHLQ $2, R8")
	p("\tTESTQ CX, CX")
	p("\tJZ pat_done")
	p("pat_loop:")
	p("\tVMOVUPS (SI), X0")
	p("\tMOVQ 16(SI), AX")
	p("\tVMOVUPS X0, (DI)")
	p("\tMOVQ AX, 16(DI)")
	p("\tADDQ R8, SI")
	p("\tADDQ $24, DI")
	p("\tDECQ CX")
	p("\tJNZ pat_loop")
	p("pat_done:")
	p("\tRET")
}

// packAT48 emits packAT48AVX2(n int, src *float32, ld int, dst *float32,
// pstride int): 8 adjacent 6-column panels of a transposed A at once,
// dst[q*pstride + p*6 + i] = src[p*ld + 6q + i] for q < 8, i < 6, reading
// the 48 contiguous floats of each row in one sweep instead of 8 strided
// walks down the rows.
func packAT48() {
	p("")
	p("// func packAT48AVX2(n int, src *float32, ld int, dst *float32, pstride int)")
	p("TEXT ·packAT48AVX2(SB), NOSPLIT, $0-40")
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ ld+16(FP), R8")
	p("\tMOVQ dst+24(FP), DI")
	p("\tMOVQ pstride+32(FP), R10")
	p("\tSHLQ $2, R8")
	p("\tSHLQ $2, R10")
	p("\tLEAQ (R10)(R10*2), R11")
	p("\tLEAQ (DI)(R10*4), BX")
	p("\tTESTQ CX, CX")
	p("\tJZ pat48_done")
	p("pat48_loop:")
	for q := 0; q < 8; q++ {
		p("\tVMOVUPS %d(SI), X%d", 24*q, q)
	}
	for q := 0; q < 8; q++ {
		base := "DI"
		if q >= 4 {
			base = "BX"
		}
		d := []string{"(%s)", "(%s)(R10*1)", "(%s)(R10*2)", "(%s)(R11*1)"}[q%4]
		dst := fmt.Sprintf(d, base)
		p("\tMOVQ %d(SI), AX", 24*q+16)
		p("\tVMOVUPS X%d, %s", q, dst)
		p("\tMOVQ AX, 16%s", dst)
	}
	p("\tADDQ R8, SI")
	p("\tADDQ $24, DI")
	p("\tADDQ $24, BX")
	p("\tDECQ CX")
	p("\tJNZ pat48_loop")
	p("pat48_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// dot4 emits out[r] = Σ_p x[p]·b[r·ld+p] for r < 4 and p < 16·k16, with
// two accumulators per row to hide the FMA latency.
func dot4() {
	p("")
	p("// func dot4AVX2(k16 int, x, b *float32, ld int, out *float32)")
	p("TEXT ·dot4AVX2(SB), NOSPLIT, $0-40")
	p("\tMOVQ k16+0(FP), CX")
	p("\tMOVQ x+8(FP), SI")
	p("\tMOVQ b+16(FP), DI")
	p("\tMOVQ ld+24(FP), R8")
	p("\tMOVQ out+32(FP), DX")
	p("\tSHLQ $2, R8")
	p("\tLEAQ (R8)(R8*2), R9")
	for r := 0; r < 8; r++ {
		p("\tVXORPS Y%d, Y%d, Y%d", r, r, r)
	}
	p("\tTESTQ CX, CX")
	p("\tJZ dot4_sum")
	p("dot4_loop:")
	p("\tVMOVUPS (SI), Y8")
	p("\tVMOVUPS 32(SI), Y9")
	rows := []string{"(DI)", "(DI)(R8*1)", "(DI)(R8*2)", "(DI)(R9*1)"}
	for h := 0; h < 2; h++ {
		for r, m := range rows {
			off := ""
			if h == 1 {
				off = "32"
			}
			p("\tVFMADD231PS %s%s, Y%d, Y%d", off, m, 8+h, r+4*h)
		}
	}
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ dot4_loop")
	p("dot4_sum:")
	sum4Store(false)
}

// sum4Store ends a four-row dot kernel: the accumulator pairs Y0+Y4 …
// Y3+Y7 (first folded from zmm halves when zmm) are summed across lanes
// into four floats stored at (DX); then VZEROUPPER and RET. dot4AVX2 and
// the bf16 panel dot kernels (bf16.go) end with it.
func sum4Store(zmm bool) {
	if zmm {
		for r := 0; r < 4; r++ {
			p("\tVADDPS Z%d, Z%d, Z%d", r+4, r, r)
			p("\tVEXTRACTF64X4 $1, Z%d, Y%d", r, r+4)
		}
	}
	for r := 0; r < 4; r++ {
		p("\tVADDPS Y%d, Y%d, Y%d", r+4, r, r)
	}
	p("\tVHADDPS Y1, Y0, Y0")
	p("\tVHADDPS Y3, Y2, Y2")
	p("\tVHADDPS Y2, Y0, Y0")
	p("\tVEXTRACTF128 $1, Y0, X1")
	p("\tVADDPS X1, X0, X0")
	p("\tVMOVUPS X0, (DX)")
	p("\tVZEROUPPER")
	p("\tRET")
}

// stepZ emits one k step of a 6×(16·panels) zmm kernel reading a at
// aoff(SI) and panel q of b at boff(DI) (q = 0) or boff(R11) (q = 1); the
// accumulator of row r and panel q is Z(4 + panels·r + q).
func stepZ(aoff, boff, panels int) {
	p("\tVMOVUPS %d(DI), Z0", boff)
	if panels == 2 {
		p("\tVMOVUPS %d(R11), Z1", boff)
	}
	for r := 0; r < 6; r++ {
		br := 16 + r
		p("\tVBROADCASTSS %d(SI), Z%d", aoff+4*r, br)
		for q := 0; q < panels; q++ {
			p("\tVFMADD231PS Z%d, Z%d, Z%d", q, br, 4+panels*r+q)
		}
	}
}

// kernelZ emits kernel6x(16·panels)AVX512(kc int, a, b, c *float32, ldc int,
// alpha, beta float32): the 6×16 tile of Kernel (panels = 1) or the 6×32
// tile of Kernel2 (panels = 2, the second B panel at b + 16·kc floats),
// summed in k order with one FMA per element and step.
func kernelZ(panels int) {
	const unroll = 4
	name := fmt.Sprintf("kernel6x%dAVX512", 16*panels)
	l := fmt.Sprintf("kz%d", panels)
	p("")
	p("// func %s(kc int, a, b, c *float32, ldc int, alpha, beta float32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-48", name)
	p("\tMOVQ kc+0(FP), CX")
	p("\tMOVQ a+8(FP), SI")
	p("\tMOVQ b+16(FP), DI")
	p("\tMOVQ c+24(FP), DX")
	p("\tMOVQ ldc+32(FP), R8")
	p("\tSHLQ $2, R8")
	if panels == 2 {
		p("\tMOVQ CX, R10")
		p("\tSHLQ $6, R10")
		p("\tLEAQ (DI)(R10*1), R11")
	}
	nacc := 6 * panels
	for r := 4; r < 4+nacc; r++ {
		p("\tVPXORD Z%d, Z%d, Z%d", r, r, r)
	}
	p("\tMOVQ DX, R9")
	for r := 0; r < 6; r++ {
		p("\tPREFETCHT0 (R9)")
		if panels == 2 {
			p("\tPREFETCHT0 64(R9)")
		}
		p("\tPREFETCHT0 %d(R9)", 64*panels-4)
		if r < 5 {
			p("\tADDQ R8, R9")
		}
	}
	p("\tCMPQ CX, $%d", unroll)
	p("\tJLT %s_tail", l)
	p("%s_loop:", l)
	for u := 0; u < unroll; u++ {
		stepZ(24*u, 64*u, panels)
	}
	p("\tADDQ $%d, SI", 24*unroll)
	p("\tADDQ $%d, DI", 64*unroll)
	if panels == 2 {
		p("\tADDQ $%d, R11", 64*unroll)
	}
	p("\tSUBQ $%d, CX", unroll)
	p("\tCMPQ CX, $%d", unroll)
	p("\tJGE %s_loop", l)
	p("%s_tail:", l)
	p("\tTESTQ CX, CX")
	p("\tJZ %s_store", l)
	p("%s_tailloop:", l)
	stepZ(0, 0, panels)
	p("\tADDQ $24, SI")
	p("\tADDQ $64, DI")
	if panels == 2 {
		p("\tADDQ $64, R11")
	}
	p("\tDECQ CX")
	p("\tJNZ %s_tailloop", l)
	p("%s_store:", l)
	p("\tVBROADCASTSS alpha+40(FP), Z0")
	p("\tVBROADCASTSS beta+44(FP), Z1")
	p("\tMOVL beta+44(FP), AX")
	p("\tANDL $0x7fffffff, AX")
	p("\tJZ %s_nobeta", l)
	for _, withBeta := range []bool{true, false} {
		if !withBeta {
			p("%s_nobeta:", l)
		}
		for r := 0; r < 6; r++ {
			for q := 0; q < panels; q++ {
				acc := 4 + panels*r + q
				p("\tVMULPS Z0, Z%d, Z%d", acc, acc)
				if withBeta {
					p("\tVFMADD231PS %d(DX), Z1, Z%d", 64*q, acc)
				}
				p("\tVMOVUPS Z%d, %d(DX)", acc, 64*q)
			}
			if r < 5 {
				p("\tADDQ R8, DX")
			}
		}
		p("\tVZEROUPPER")
		p("\tRET")
	}
}

func kernel6x16Z() { kernelZ(1) }

func kernel6x32Z() { kernelZ(2) }
