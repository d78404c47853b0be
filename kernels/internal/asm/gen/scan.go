package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Constants of the scan routines, each stored 8 times (one YMM vector) in
// the read-only table scanc<>, so instructions can take them as memory
// operands. The exp is fastExpf's (kernels/fastexp.go): Cody–Waite
// reduction and Cephes' degree-5 polynomial; the log is Cephes' logf.
var scanConstList = []string{
	"log2e", "ln2hi", "ln2lo", "e5", "e4", "e3", "e2", "e1", "e0", "one", "expmax", "expmin", "sqrthf", "l8", "l7", "l6", "l5", "l4", "l3", "l2", "l1", "l0", "half", "mantmask", "halfbits", "i126", "twenty",
	"sqrt1_2", "absmask", "signmask", "nine", "g6", "g5", "g4", "g3", "g2", "g1", "g0",
	"asp", "a5", "a4", "a3", "a2", "a1",
	"magic", "q5", "q4", "q3", "q2", "q1", "q0", "ymin", "ymax",
	"s9", "s8", "s7", "s6", "s5", "s4", "s3", "s2", "s1",
}

func f(x float32) uint32 { return math.Float32bits(x) }

var scanConstBits = map[string]uint32{}

func init() {
	vals := map[string]uint32{
		"log2e": f(1.44269504088896341), "ln2hi": f(0.693359375), "ln2lo": f(-2.12194440e-4),
		"e5": f(1.9875691500e-4), "e4": f(1.3981999507e-3), "e3": f(8.3334519073e-3),
		"e2": f(4.1665795894e-2), "e1": f(1.6666665459e-1), "e0": f(5.0000001201e-1),
		"one": f(1), "expmax": f(88.3), "expmin": f(-86),
		"sqrthf": f(0.707106781186547524),
		"l8":     f(7.0376836292e-2), "l7": f(-1.1514610310e-1), "l6": f(1.1676998740e-1),
		"l5": f(-1.2420140846e-1), "l4": f(1.4249322787e-1), "l3": f(-1.6668057665e-1),
		"l2": f(2.0000714765e-1), "l1": f(-2.4999993993e-1), "l0": f(3.3333331174e-1),
		"half": f(0.5), "mantmask": 0x007fffff, "halfbits": 0x3f000000, "i126": 126, "twenty": f(20),
		// Gelu: erf(z) = z·P(z²) for |z| < 1 (erfSmall in kernels), else
		// Abramowitz–Stegun 7.1.26 (coefficients asp, a5..a1).
		"sqrt1_2": f(0.70710678118654752), "absmask": 0x7fffffff, "signmask": 0x80000000, "nine": f(9),
		"g6": f(7.882497022819735e-05), "g5": f(-0.0008018854965791889), "g4": f(0.0051893119395134595),
		"g3": f(-0.0268543287943077), "g2": f(0.11283597463441998), "g1": f(-0.37612626903575536),
		"g0":  f(1.1283791658815012),
		"asp": f(0.3275911), "a5": f(1.061405429), "a4": f(-1.453152027), "a3": f(1.421413741),
		"a2": f(-0.284496736), "a1": f(0.254829592),
		// The scan's decay exp(Δ·a) = 2^(Δ·a·log2e) (exp2Lines): 1.5·2^23
		// rounds to an integer when added, a degree-6 minimax fit of 2^f on
		// [−½, ½] with constant term 1 (relative error 7.7e−8 in float32
		// Horner evaluation: 1.3 ulp), and the clamp of the AVX2 version,
		// the argument range of expLines' clamp in log2 units.
		"magic": f(12582912),
		"q5":    f(1.5469732170e-04), "q4": f(1.3410000829e-03), "q3": f(9.6180308610e-03),
		"q2": f(5.5502973497e-02), "q1": f(2.4022650719e-01), "q0": f(6.9314724207e-01),
		"ymin": f(-124), "ymax": f(127.39),
		// Softplus: log1p(t) = t·S(t) on [0, 1], S a degree-9 minimax fit
		// of log1p(t)/t (relative error 4.7e−9; 1.5e−7 in float32 Horner
		// evaluation), S(0) = 1.
		"s9": f(-3.2440251671e-03), "s8": f(1.9851462916e-02), "s7": f(-5.6959535927e-02),
		"s6": f(1.0603655130e-01), "s5": f(-1.5305592120e-01), "s4": f(1.9675938785e-01),
		"s3": f(-2.4954134226e-01), "s2": f(3.3329963684e-01), "s1": f(-4.9999901652e-01),
	}
	scanConstBits = vals
}

// c returns the memory operand of scan constant name.
func c(name string) string {
	for i, k := range scanConstList {
		if k == name {
			return fmt.Sprintf("scanc<>+%d(SB)", 32*i)
		}
	}
	panic("unknown constant " + name)
}

// constTable emits the read-only table sym (such as "scanc<>") of the
// scan constants names, each stored 8 times (one YMM vector), in order.
func constTable(sym string, names []string) {
	p("")
	for i, k := range names {
		for j := 0; j < 8; j++ {
			p("DATA %s+%d(SB)/4, $0x%08x", sym, 32*i+4*j, scanConstBits[k])
		}
	}
	p("GLOBL %s(SB), RODATA|NOPTR, $%d", sym, 32*len(names))
}

func scanConsts() {
	constTable("scanc<>", scanConstList)
	// revidx<>: the lane indices 15, 14, …, 0 (VPERMPS reverses a zmm).
	for i := 0; i < 16; i++ {
		p("DATA revidx<>+%d(SB)/4, $%d", 4*i, 15-i)
	}
	p("GLOBL revidx<>(SB), RODATA|NOPTR, $64")
}

// exp2Lines returns the instructions of 2^y in place with temporaries t1
// and t2: the scan's decay exp(Δ·a) with y = Δ·(a·log2e), the factor log2e
// applied once per channel to a. y is clamped to [−124, 127.39] (the range
// of expLines' clamp), k = round(y) by the 1.5·2^23 addition, f = y − k
// (exact, |f| ≤ ½), 2^f by the degree-6 polynomial q and ·2^k by adding k
// to the exponent field (the low bits of y + 1.5·2^23 shifted left by 23
// are k's two's complement shifted there). It needs no range reduction
// multiply-adds, 12 vector instructions against expLines' 16.
func exp2Lines(y, t1, t2 string) []string {
	l := []string{
		fmt.Sprintf("VMAXPS %s, %s, %s", c("ymin"), y, y),
		fmt.Sprintf("VMINPS %s, %s, %s", c("ymax"), y, y),
		fmt.Sprintf("VADDPS %s, %s, %s", c("magic"), y, t1),
		fmt.Sprintf("VSUBPS %s, %s, %s", c("magic"), t1, t2), // k
		fmt.Sprintf("VSUBPS %s, %s, %s", t2, y, y),           // f = y − k
		fmt.Sprintf("VMOVUPS %s, %s", c("q5"), t2),
	}
	for _, k := range []string{"q4", "q3", "q2", "q1", "q0", "one"} {
		l = append(l, fmt.Sprintf("VFMADD213PS %s, %s, %s", c(k), y, t2))
	}
	return append(l,
		fmt.Sprintf("VPSLLD $23, %s, %s", t1, t1),
		fmt.Sprintf("VPADDD %s, %s, %s", t1, t2, y),
	)
}

// expLines returns the instructions of exp(x) in place with temporaries
// t1, t2, t3: fastExpf's Cody–Waite reduction and degree-5 polynomial, the
// argument clamped to [−86, 88.3].
func expLines(x, t1, t2, t3 string) []string {
	return []string{
		fmt.Sprintf("VMINPS %s, %s, %s", c("expmax"), x, x),
		fmt.Sprintf("VMAXPS %s, %s, %s", c("expmin"), x, x),
		fmt.Sprintf("VMULPS %s, %s, %s", c("log2e"), x, t1),
		fmt.Sprintf("VROUNDPS $0, %s, %s", t1, t1),
		fmt.Sprintf("VFNMADD231PS %s, %s, %s", c("ln2hi"), t1, x),
		fmt.Sprintf("VFNMADD231PS %s, %s, %s", c("ln2lo"), t1, x),
		fmt.Sprintf("VMOVUPS %s, %s", c("e5"), t2),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", c("e4"), x, t2),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", c("e3"), x, t2),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", c("e2"), x, t2),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", c("e1"), x, t2),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", c("e0"), x, t2),
		fmt.Sprintf("VMULPS %s, %s, %s", x, x, t3),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", x, t3, t2),
		fmt.Sprintf("VADDPS %s, %s, %s", c("one"), t2, t2),
		// ·2^k by adding k to the exponent field: the clamp keeps k in
		// [−124, 127], so the result stays a normal number.
		fmt.Sprintf("VCVTPS2DQ %s, %s", t1, t1),
		fmt.Sprintf("VPSLLD $23, %s, %s", t1, t1),
		fmt.Sprintf("VPADDD %s, %s, %s", t1, t2, x),
	}
}

// interleaved returns equally long instruction lists merged round-robin,
// so that independent dependency chains overlap.
func interleaved(lists ...[]string) []string {
	var out []string
	for i := range lists[0] {
		for _, l := range lists {
			out = append(out, l[i])
		}
	}
	return out
}

// emit prints lines as instructions, one a line.
func emit(lines []string) {
	for _, s := range lines {
		p("\t%s", s)
	}
}

// interleave emits lists interleaved.
func interleave(lists ...[]string) { emit(interleaved(lists...)) }

// expInterleaved emits exp in place for each group {x, t1, t2, t3}.
func expInterleaved(g ...[4]string) {
	var lists [][]string
	for _, r := range g {
		lists = append(lists, expLines(r[0], r[1], r[2], r[3]))
	}
	interleave(lists...)
}

// scanN16 emits scanN16AVX2 and its time-reversed twin scanN16RevAVX2.
func scanN16() {
	scanN16v("scanN16AVX2", "scan16", false)
	scanN16v("scanN16RevAVX2", "scan16r", true)
}

// scanN16Step returns one step of the fused AVX2 recurrence for N = 16:
// dt at dtOff(SI), u at uOff(DI); the state h in Y0:Y1, a2 = a·log2e in
// Y2:Y3; the decays 2^(dt·a2) by exp2Lines (two interleaved chains); h·c
// (summed over the two halves) is left in prod. It advances R10 and R11 by
// their strides.
func scanN16Step(dtOff, uOff int, prod string) []string {
	l := []string{
		fmt.Sprintf("VBROADCASTSS %d(SI), Y8", dtOff),
		"VMULPS Y2, Y8, Y9", // y (states 0..7)
		"VMULPS Y3, Y8, Y8", // y (states 8..15)
	}
	l = append(l, interleaved(exp2Lines("Y9", "Y10", "Y11"), exp2Lines("Y8", "Y12", "Y13"))...)
	return append(l,
		fmt.Sprintf("VMOVSS %d(DI), X14", uOff),
		fmt.Sprintf("VMULSS %d(SI), X14, X14", dtOff), // du = dt·u
		"VBROADCASTSS X14, Y14",
		"VMULPS (R10), Y14, Y15",
		"VFMADD213PS Y15, Y9, Y0", // h = da·h + du·b
		"VMULPS 32(R10), Y14, Y15",
		"VFMADD213PS Y15, Y8, Y1",
		fmt.Sprintf("VMULPS (R11), Y0, %s", prod),
		fmt.Sprintf("VFMADD231PS 32(R11), Y1, %s", prod),
		"ADDQ R12, R10",
		"ADDQ R13, R11",
	)
}

// scanN16v emits the AVX2 ScanStates16 (rev: ScanStates16Rev) with the
// decays computed inside the recurrence, as the AVX-512 kernel does: the
// state lives in Y0:Y1 for the whole run (the only loop-carried chain is
// one FMA per step) and the exps, off that chain, fill the issue slots.
// Steps go four at a time: the four products h·c are reduced together by a
// transposing add tree into one xmm of four outputs; leftover steps reduce
// one at a time. Reversed, dt, u, gate and out are walked backwards from
// their ends (b and c forwards, step by step): a group of four reads its
// steps from the top down and reverses its four outputs with VPERMILPS.
func scanN16v(name, lab string, rev bool) {
	p("")
	p("// func %s(steps int, h, a2, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $16-92", name) // 0(SP): dSkip ×4
	p("\tMOVQ steps+0(FP), CX")
	p("\tMOVQ h+8(FP), AX")
	p("\tMOVQ a2+16(FP), BX")
	p("\tMOVQ dt+24(FP), SI")
	p("\tMOVQ u+32(FP), DI")
	p("\tMOVQ gate+40(FP), R8")
	p("\tMOVQ out+48(FP), R9")
	p("\tMOVQ b+56(FP), R10")
	p("\tMOVQ c+64(FP), R11")
	p("\tMOVQ bStride+72(FP), R12")
	p("\tMOVQ cStride+80(FP), R13")
	p("\tSHLQ $2, R12")
	p("\tSHLQ $2, R13")
	p("\tVBROADCASTSS dSkip+88(FP), X4")
	p("\tVMOVUPS X4, (SP)")
	p("\tVMOVUPS (AX), Y0")
	p("\tVMOVUPS 32(AX), Y1")
	p("\tVMOVUPS (BX), Y2")
	p("\tVMOVUPS 32(BX), Y3")
	if rev { // one past the last step; groups and steps first move back
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tLEAQ (%s)(CX*4), %s", r, r)
		}
	}
	p("\tCMPQ CX, $4")
	p("\tJLT %s_tail", lab)
	p("%s_loop4:", lab)
	if rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tSUBQ $16, %s", r)
		}
	}
	for j := 0; j < 4; j++ {
		off := 4 * j
		if rev {
			off = 12 - 4*j
		}
		emit(scanN16Step(off, off, fmt.Sprintf("Y%d", 4+j)))
	}
	// [p0..p3] → lane j of X4 = Σ p_j.
	sum4Lanes(4, 8)
	if rev { // lane j is step j, time 3 − j of the group
		p("\tVPERMILPS $0x1B, X4, X4")
	}
	p("\tVMOVUPS (DI), X8")
	p("\tVFMADD231PS (SP), X8, X4") // + dSkip·u
	p("\tVMULPS (R8), X4, X4")      // · gate
	p("\tVMOVUPS X4, (R9)")
	if !rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tADDQ $16, %s", r)
		}
	}
	p("\tSUBQ $4, CX")
	p("\tCMPQ CX, $4")
	p("\tJGE %s_loop4", lab)
	p("%s_tail:", lab)
	p("\tTESTQ CX, CX")
	p("\tJZ %s_done", lab)
	p("%s_loop1:", lab)
	if rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tSUBQ $4, %s", r)
		}
	}
	emit(scanN16Step(0, 0, "Y4"))
	p("\tVEXTRACTF128 $1, Y4, X8")
	p("\tVADDPS X8, X4, X4")
	p("\tVMOVHLPS X4, X4, X8")
	p("\tVADDPS X8, X4, X4")
	p("\tVMOVSHDUP X4, X8")
	p("\tVADDSS X8, X4, X4")
	p("\tVMOVSS (DI), X8")
	p("\tVFMADD231SS (SP), X8, X4")
	p("\tVMULSS (R8), X4, X4")
	p("\tVMOVSS X4, (R9)")
	if !rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tADDQ $4, %s", r)
		}
	}
	p("\tDECQ CX")
	p("\tJNZ %s_loop1", lab)
	p("%s_done:", lab)
	p("\tVMOVUPS Y0, (AX)")
	p("\tVMOVUPS Y1, 32(AX)")
	p("\tVZEROUPPER")
	p("\tRET")
}

// sum4Lanes emits the transposing add tree of four ymm vectors Y(r) …
// Y(r+3): pairs, pairs of pairs, halves, so that lane j of X(r) is the sum
// of the lanes of Y(r+j), ((p0+p2)+(p1+p3)) + ((p4+p6)+(p5+p7)). Y(r) …
// Y(r+3) and the temporary Y(t) are clobbered.
func sum4Lanes(r, t int) {
	a, b, c, d := r, r+1, r+2, r+3
	p("\tVUNPCKLPS Y%d, Y%d, Y%d", b, a, t)
	p("\tVUNPCKHPS Y%d, Y%d, Y%d", b, a, a)
	p("\tVADDPS Y%d, Y%d, Y%d", t, a, a)
	p("\tVUNPCKLPS Y%d, Y%d, Y%d", d, c, t)
	p("\tVUNPCKHPS Y%d, Y%d, Y%d", d, c, c)
	p("\tVADDPS Y%d, Y%d, Y%d", t, c, c)
	p("\tVSHUFPS $0x44, Y%d, Y%d, Y%d", c, a, t)
	p("\tVSHUFPS $0xEE, Y%d, Y%d, Y%d", c, a, a)
	p("\tVADDPS Y%d, Y%d, Y%d", t, a, a)
	p("\tVEXTRACTF128 $1, Y%d, X%d", a, t)
	p("\tVADDPS X%d, X%d, X%d", t, a, a)
}

// scanN1 is the scalar-state recurrence (N = 1) given the decays da[t]:
// one fused multiply-add per step on the loop-carried chain.
func scanN1() {
	p("")
	p("// func scanN1AVX2(steps int, h, da, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)")
	p("TEXT ·scanN1AVX2(SB), NOSPLIT, $0-92")
	p("\tMOVQ steps+0(FP), CX")
	p("\tMOVQ h+8(FP), AX")
	p("\tMOVQ da+16(FP), BX")
	p("\tMOVQ dt+24(FP), SI")
	p("\tMOVQ u+32(FP), DI")
	p("\tMOVQ gate+40(FP), R8")
	p("\tMOVQ out+48(FP), R9")
	p("\tMOVQ b+56(FP), R10")
	p("\tMOVQ c+64(FP), R11")
	p("\tMOVQ bStride+72(FP), R12")
	p("\tMOVQ cStride+80(FP), R13")
	p("\tSHLQ $2, R12")
	p("\tSHLQ $2, R13")
	p("\tVMOVSS dSkip+88(FP), X5")
	p("\tVMOVSS (AX), X0")
	p("\tTESTQ CX, CX")
	p("\tJZ scan1_done")
	p("scan1_loop:")
	p("\tVMOVSS (DI), X1")        // u
	p("\tVMULSS (SI), X1, X2")    // du = dt·u
	p("\tVMULSS (R10), X2, X2")   // du·b
	p("\tVMOVSS (BX), X3")        // da
	p("\tVFMADD213SS X2, X3, X0") // h = da·h + du·b
	p("\tVMULSS (R11), X0, X4")   // y = h·c
	p("\tVFMADD231SS X5, X1, X4") // + u·dSkip
	p("\tVMULSS (R8), X4, X4")    // · gate
	p("\tVMOVSS X4, (R9)")
	p("\tADDQ $4, BX")
	p("\tADDQ $4, SI")
	p("\tADDQ $4, DI")
	p("\tADDQ $4, R8")
	p("\tADDQ $4, R9")
	p("\tADDQ R12, R10")
	p("\tADDQ R13, R11")
	p("\tDECQ CX")
	p("\tJNZ scan1_loop")
	p("scan1_done:")
	p("\tVMOVSS X0, (AX)")
	p("\tRET")
}

// softplusLines returns dst[off] = softplus(src[off] + bias) with bias in
// Y15 and the seven registers r, as max(x, 0) + log1p(exp(−|x|)): exp(−|x|)
// = t is in (0, 1], where log1p(t) = t·S(t) needs no range reduction, no
// logarithm and no division (the former log(1+e) + correction needed
// both). Above 20, x + log1p(e^−x) rounds to x, PyTorch's threshold. The
// result is in r[4] before the last line, its store.
func softplusLines(off int, r [7]string) []string {
	x, t, t1, t2, res, t3, q := r[0], r[1], r[2], r[3], r[4], r[5], r[6]
	l := []string{
		fmt.Sprintf("VADDPS %d(SI), Y15, %s", off, x),
		fmt.Sprintf("VANDPS %s, %s, %s", c("absmask"), x, t),
		fmt.Sprintf("VXORPS %s, %s, %s", c("signmask"), t, t), // −|x|
	}
	l = append(l, expLines(t, t1, t2, t3)...)
	l = append(l, fmt.Sprintf("VMOVUPS %s, %s", c("s9"), q))
	for _, k := range []string{"s8", "s7", "s6", "s5", "s4", "s3", "s2", "s1", "one"} {
		l = append(l, fmt.Sprintf("VFMADD213PS %s, %s, %s", c(k), t, q))
	}
	return append(l,
		fmt.Sprintf("VMULPS %s, %s, %s", t, q, q), // log1p(t)
		fmt.Sprintf("VXORPS %s, %s, %s", t1, t1, t1),
		fmt.Sprintf("VMAXPS %s, %s, %s", x, t1, x), // max(x, 0), NaN stays
		fmt.Sprintf("VADDPS %s, %s, %s", q, x, res),
		fmt.Sprintf("VMOVUPS %s, %d(DI)", res, off),
	)
}

// softplus emits dst = softplus(src + bias) for 16·n16 floats, two
// interleaved vectors per iteration.
func softplus() {
	p("")
	p("// func softplusAVX2(n16 int, dst, src *float32, bias float32)")
	p("TEXT ·softplusAVX2(SB), NOSPLIT, $0-28")
	p("\tMOVQ n16+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ src+16(FP), SI")
	p("\tVBROADCASTSS bias+24(FP), Y15")
	p("\tTESTQ CX, CX")
	p("\tJZ sp_done")
	p("sp_loop:")
	interleave(
		softplusLines(0, [7]string{"Y0", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6"}),
		softplusLines(32, [7]string{"Y7", "Y8", "Y9", "Y10", "Y11", "Y12", "Y13"}))
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ sp_loop")
	p("sp_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// silu emits dst = src/(1 + exp(−src)) for 16·n16 floats, two interleaved
// vectors per iteration.
func silu() {
	p("")
	p("// func siluAVX2(n16 int, dst, src *float32)")
	p("TEXT ·siluAVX2(SB), NOSPLIT, $0-24")
	p("\tMOVQ n16+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ src+16(FP), SI")
	p("\tVXORPS Y15, Y15, Y15")
	p("\tTESTQ CX, CX")
	p("\tJZ silu_done")
	p("silu_loop:")
	p("\tVMOVUPS (SI), Y0")
	p("\tVMOVUPS 32(SI), Y5")
	p("\tVSUBPS Y0, Y15, Y1") // −x
	p("\tVSUBPS Y5, Y15, Y6")
	expInterleaved([4]string{"Y1", "Y2", "Y3", "Y4"}, [4]string{"Y6", "Y7", "Y8", "Y9"})
	p("\tVADDPS %s, Y1, Y1", c("one"))
	p("\tVADDPS %s, Y6, Y6", c("one"))
	p("\tVDIVPS Y1, Y0, Y0")
	p("\tVDIVPS Y6, Y5, Y5")
	p("\tVMOVUPS Y0, (DI)")
	p("\tVMOVUPS Y5, 32(DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ silu_loop")
	p("silu_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// gateSum emits dst = (a + b)·silu(z) for 16·n16 floats, two interleaved
// vectors per iteration: silu's instructions (the same exp, add and
// division, so the gate equals siluAVX2's bit for bit), then one add and
// one multiply. Each iteration loads all its operands before its stores,
// so dst may alias a or b.
func gateSum() {
	p("")
	p("// func gateSumAVX2(n16 int, dst, a, b, z *float32)")
	p("TEXT ·gateSumAVX2(SB), NOSPLIT, $0-40")
	p("\tMOVQ n16+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ a+16(FP), SI")
	p("\tMOVQ b+24(FP), DX")
	p("\tMOVQ z+32(FP), R8")
	p("\tVXORPS Y15, Y15, Y15")
	p("\tTESTQ CX, CX")
	p("\tJZ gs_done")
	p("gs_loop:")
	p("\tVMOVUPS (R8), Y0")
	p("\tVMOVUPS 32(R8), Y5")
	p("\tVSUBPS Y0, Y15, Y1") // −z
	p("\tVSUBPS Y5, Y15, Y6")
	expInterleaved([4]string{"Y1", "Y2", "Y3", "Y4"}, [4]string{"Y6", "Y7", "Y8", "Y9"})
	p("\tVADDPS %s, Y1, Y1", c("one"))
	p("\tVADDPS %s, Y6, Y6", c("one"))
	p("\tVDIVPS Y1, Y0, Y0") // silu(z)
	p("\tVDIVPS Y6, Y5, Y5")
	p("\tVMOVUPS (SI), Y10")
	p("\tVMOVUPS 32(SI), Y11")
	p("\tVADDPS (DX), Y10, Y10") // a + b
	p("\tVADDPS 32(DX), Y11, Y11")
	p("\tVMULPS Y0, Y10, Y10")
	p("\tVMULPS Y5, Y11, Y11")
	p("\tVMOVUPS Y10, (DI)")
	p("\tVMOVUPS Y11, 32(DI)")
	for _, r := range []string{"SI", "DX", "R8", "DI"} {
		p("\tADDQ $64, %s", r)
	}
	p("\tDECQ CX")
	p("\tJNZ gs_loop")
	p("gs_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// conv4 emits conv4AVX2 and conv4RevAVX2: Mamba's 4-tap depthwise conv
// rows, eight outputs per iteration, o[i] = ((((w0·x[i+s0] + w1·x[i+s1]) +
// w2·x[i+s2]) + w3·x[i+s3]) + b with (s0..s3) = (0, 1, 2, 3) (causal, x
// pointing three before the first output's time) or (3, 2, 1, 0)
// (anti-causal): products and sums rounded one at a time in the order of
// the twins Conv4Go/Conv4RevGo (no fused multiply-add), so the results
// are theirs bit for bit.
func conv4() {
	for _, v := range []struct {
		name string
		offs [4]int
	}{{"conv4AVX2", [4]int{0, 1, 2, 3}}, {"conv4RevAVX2", [4]int{3, 2, 1, 0}}} {
		lab := strings.TrimSuffix(v.name, "AVX2")
		p("")
		p("// func %s(n8 int, o, x, w *float32, b float32)", v.name)
		p("TEXT ·%s(SB), NOSPLIT, $0-36", v.name)
		p("\tMOVQ n8+0(FP), CX")
		p("\tMOVQ o+8(FP), DI")
		p("\tMOVQ x+16(FP), SI")
		p("\tMOVQ w+24(FP), AX")
		p("\tVBROADCASTSS (AX), Y4")
		p("\tVBROADCASTSS 4(AX), Y5")
		p("\tVBROADCASTSS 8(AX), Y6")
		p("\tVBROADCASTSS 12(AX), Y7")
		p("\tVBROADCASTSS b+32(FP), Y8")
		p("\tTESTQ CX, CX")
		p("\tJZ %s_done", lab)
		p("%s_loop:", lab)
		p("\tVMULPS %d(SI), Y4, Y0", 4*v.offs[0])
		for j := 1; j < 4; j++ {
			p("\tVMULPS %d(SI), Y%d, Y1", 4*v.offs[j], 4+j)
			p("\tVADDPS Y1, Y0, Y0")
		}
		p("\tVADDPS Y8, Y0, Y0")
		p("\tVMOVUPS Y0, (DI)")
		p("\tADDQ $32, SI")
		p("\tADDQ $32, DI")
		p("\tDECQ CX")
		p("\tJNZ %s_loop", lab)
		p("%s_done:", lab)
		p("\tVZEROUPPER")
		p("\tRET")
	}
}

// expVec emits dst = exp(src) for 16·n16 floats, two vectors per iteration.
func expVec() {
	p("")
	p("// func expAVX2(n16 int, dst, src *float32)")
	p("TEXT ·expAVX2(SB), NOSPLIT, $0-24")
	p("\tMOVQ n16+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ src+16(FP), SI")
	p("\tTESTQ CX, CX")
	p("\tJZ exp_done")
	p("exp_loop:")
	p("\tVMOVUPS (SI), Y0")
	p("\tVMOVUPS 32(SI), Y1")
	expInterleaved([4]string{"Y0", "Y2", "Y3", "Y4"}, [4]string{"Y1", "Y5", "Y6", "Y7"})
	p("\tVMOVUPS Y0, (DI)")
	p("\tVMOVUPS Y1, 32(DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ exp_loop")
	p("exp_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// geluLines returns the instructions of dst = 0.5·x·(1+erf(x/√2)) for one
// vector loaded from off(SI) and stored to off(DI), with registers
// r = {X, Z, A, W, S, E, T, Q}; it is GeluGo step for step (with FMAs).
func geluLines(off int, r [8]string) []string {
	X, Z, A, W, S, E, T, Q := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
	l := []string{
		fmt.Sprintf("VMOVUPS %d(SI), %s", off, X),
		fmt.Sprintf("VMULPS %s, %s, %s", c("sqrt1_2"), X, Z),
		fmt.Sprintf("VANDPS %s, %s, %s", c("absmask"), Z, A),
		// small branch: S = z·P(z²)
		fmt.Sprintf("VMULPS %s, %s, %s", Z, Z, W),
		fmt.Sprintf("VMOVUPS %s, %s", c("g6"), S),
	}
	for _, k := range []string{"g5", "g4", "g3", "g2", "g1", "g0"} {
		l = append(l, fmt.Sprintf("VFMADD213PS %s, %s, %s", c(k), W, S))
	}
	l = append(l,
		fmt.Sprintf("VMULPS %s, %s, %s", Z, S, S),
		fmt.Sprintf("VANDPS %s, %s, %s", c("signmask"), Z, Z),
		// E = exp(−min(|z|, 9)²)
		fmt.Sprintf("VMINPS %s, %s, %s", c("nine"), A, E),
		fmt.Sprintf("VMULPS %s, %s, %s", E, E, E),
		fmt.Sprintf("VXORPS %s, %s, %s", c("signmask"), E, E),
	)
	l = append(l, expLines(E, W, T, Q)...)
	l = append(l,
		// T = 1/(1 + p·|z|)
		fmt.Sprintf("VMOVUPS %s, %s", c("asp"), T),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", c("one"), A, T),
		fmt.Sprintf("VMOVUPS %s, %s", c("one"), Q),
		fmt.Sprintf("VDIVPS %s, %s, %s", T, Q, T),
		fmt.Sprintf("VMOVUPS %s, %s", c("a5"), Q),
	)
	for _, k := range []string{"a4", "a3", "a2", "a1"} {
		l = append(l, fmt.Sprintf("VFMADD213PS %s, %s, %s", c(k), T, Q))
	}
	l = append(l,
		fmt.Sprintf("VMULPS %s, %s, %s", T, Q, Q),
		fmt.Sprintf("VFNMADD213PS %s, %s, %s", c("one"), E, Q), // 1 − q·t·e
		fmt.Sprintf("VXORPS %s, %s, %s", Z, Q, Q),              // sign of z
		fmt.Sprintf("VCMPPS $1, %s, %s, %s", c("one"), A, A),   // |z| < 1
		fmt.Sprintf("VBLENDVPS %s, %s, %s, %s", A, S, Q, Q),
		fmt.Sprintf("VADDPS %s, %s, %s", c("one"), Q, Q),
		fmt.Sprintf("VMULPS %s, %s, %s", c("half"), X, X),
		fmt.Sprintf("VMULPS %s, %s, %s", Q, X, X),
		fmt.Sprintf("VMOVUPS %s, %d(DI)", X, off),
	)
	return l
}

// gelu emits dst = 0.5·x·(1+erf(x/√2)) for 16·n16 floats, two interleaved
// vectors per iteration (all sixteen Y registers).
func gelu() {
	p("")
	p("// func geluAVX2(n16 int, dst, src *float32)")
	p("TEXT ·geluAVX2(SB), NOSPLIT, $0-24")
	p("\tMOVQ n16+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ src+16(FP), SI")
	p("\tTESTQ CX, CX")
	p("\tJZ gelu_done")
	p("gelu_loop:")
	interleave(
		geluLines(0, [8]string{"Y0", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"}),
		geluLines(32, [8]string{"Y8", "Y9", "Y10", "Y11", "Y12", "Y13", "Y14", "Y15"}),
	)
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ gelu_loop")
	p("gelu_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// ---- AVX-512F (zmm) kernels ----
//
// They use only AVX-512F instructions (integer logic as VPANDD/VPORD/VPXORD,
// not the AVX512DQ VANDPS family) and the scan constants as embedded
// broadcasts (.BCST) of the first float of each scanc<> entry. The exp
// sequence is expLines' instruction for instruction (VRNDSCALEPS $0 is
// VROUNDPS $0) up to the final scaling by 2^k, one VSCALEFPS instead of a
// convert, shift and integer add, exact in the clamped range: both paths
// give bit-identical exps.

// cz returns the broadcast memory operand of scan constant name; use it
// with a .BCST instruction or VBROADCASTSS.
func cz(name string) string { return c(name) }

// opZ renders "ins const, src, dst" with the scan constant k taken from
// its register in reg (holding it in all 16 lanes) or else as an embedded
// broadcast.
func opZ(reg map[string]string, ins, k, src, dst string) string {
	if r, ok := reg[k]; ok {
		return fmt.Sprintf("%s %s, %s, %s", ins, r, src, dst)
	}
	return fmt.Sprintf("%s.BCST %s, %s, %s", ins, cz(k), src, dst)
}

// loadZ returns the instruction setting zmm dst to the scan constant k in
// all lanes: a copy of its register in reg, or else a broadcast load.
func loadZ(reg map[string]string, k, dst string) string {
	if r, ok := reg[k]; ok {
		return fmt.Sprintf("VMOVAPS %s, %s", r, dst)
	}
	return fmt.Sprintf("VBROADCASTSS %s, %s", cz(k), dst)
}

// expZ returns exp(x) in place for a zmm register x with temporaries t1, t2,
// t3: expLines with broadcast constants.
func expZ(x, t1, t2, t3 string) []string { return expZr(x, t1, t2, t3, nil) }

// expZr is expZ taking the constants named in reg from registers (each
// holding the constant in all 16 lanes) instead of memory.
func expZr(x, t1, t2, t3 string, reg map[string]string) []string {
	return []string{
		opZ(reg, "VMINPS", "expmax", x, x),
		opZ(reg, "VMAXPS", "expmin", x, x),
		opZ(reg, "VMULPS", "log2e", x, t1),
		fmt.Sprintf("VRNDSCALEPS $0, %s, %s", t1, t1),
		opZ(reg, "VFNMADD231PS", "ln2hi", t1, x),
		opZ(reg, "VFNMADD231PS", "ln2lo", t1, x),
		loadZ(reg, "e5", t2),
		opZ(reg, "VFMADD213PS", "e4", x, t2),
		opZ(reg, "VFMADD213PS", "e3", x, t2),
		opZ(reg, "VFMADD213PS", "e2", x, t2),
		opZ(reg, "VFMADD213PS", "e1", x, t2),
		opZ(reg, "VFMADD213PS", "e0", x, t2),
		fmt.Sprintf("VMULPS %s, %s, %s", x, x, t3),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", x, t3, t2),
		opZ(reg, "VADDPS", "one", t2, t2),
		// ·2^k in one instruction: the clamp keeps k in [−124, 127], so
		// the scaling is exact and equals expLines' exponent add.
		fmt.Sprintf("VSCALEFPS %s, %s, %s", t1, t2, x),
	}
}

// exp2Zr is exp2Lines for a zmm register y with temporaries t1 and t2,
// taking the constants named in reg from registers (each holding the
// constant in all 16 lanes) and the others as embedded broadcasts. It has
// no clamp: VSCALEFPS scales by 2^k with IEEE underflow and overflow (y far
// below −126 gives 0 or a denormal, above 128 +Inf, as exp does), exactly
// equal to exp2Lines' exponent add wherever that one's clamp is inactive.
func exp2Zr(y, t1, t2 string, reg map[string]string) []string {
	l := []string{
		opZ(reg, "VADDPS", "magic", y, t1),
		opZ(reg, "VSUBPS", "magic", t1, t1),        // k
		fmt.Sprintf("VSUBPS %s, %s, %s", t1, y, y), // f = y − k
		loadZ(reg, "q5", t2),
	}
	for _, k := range []string{"q4", "q3", "q2", "q1", "q0", "one"} {
		l = append(l, opZ(reg, "VFMADD213PS", k, y, t2))
	}
	return append(l, fmt.Sprintf("VSCALEFPS %s, %s, %s", t1, t2, y))
}

// scanStepZ returns one step j of the fused N = 16 recurrence in a block
// of 16: Z1 holds a2 = a·log2e, Z2 the state h; dt[j] at dtOff+4j(dtBase),
// du[j] = dt[j]·u[j] at 4j(SP), b at (R10), c at (R11); h·c is left in
// prod. It advances R10 and R11 by their strides.
func scanStepZ(j int, dtBase string, dtOff int, prod string, reg map[string]string) []string {
	l := []string{fmt.Sprintf("VMULPS.BCST %d(%s), Z1, Z4", dtOff+4*j, dtBase)} // y = dt·a2
	l = append(l, exp2Zr("Z4", "Z5", "Z6", reg)...)                             // da = 2^y
	return append(l,
		"VMOVUPS (R10), Z9",
		fmt.Sprintf("VMULPS.BCST %d(SP), Z9, Z9", 4*j), // du·b
		"VFMADD213PS Z9, Z4, Z2",                       // h = da·h + du·b
		fmt.Sprintf("VMULPS (R11), Z2, %s", prod),
		"ADDQ R12, R10",
		"ADDQ R13, R11",
	)
}

// scanStep1Z is scanStepZ for a lone step at (SI), (DI) (du computed in
// place, constants from memory); h·c is left in Z11.
func scanStep1Z() []string {
	l := []string{"VBROADCASTSS (SI), Z3", "VMULPS Z1, Z3, Z4"}
	l = append(l, exp2Zr("Z4", "Z5", "Z6", nil)...)
	return append(l,
		"VBROADCASTSS (DI), Z8",
		"VMULPS Z3, Z8, Z8",      // du = dt·u
		"VMULPS (R10), Z8, Z9",   // du·b
		"VFMADD213PS Z9, Z4, Z2", // h = da·h + du·b
		"VMULPS (R11), Z2, Z11",
		"ADDQ R12, R10",
		"ADDQ R13, R11",
	)
}

// scanN16Z emits scanN16AVX512 and its time-reversed twin
// scanN16RevAVX512: ScanStates16 and ScanStates16Rev with the exps fused
// into the recurrence (they are off its loop-carried chain, so they fill
// the issue slots the chain's FMA latency leaves) and, for each block of 16
// steps, the 16 dot products Σ_n h_n·c_n reduced together by a transposing
// add tree into one vector of 16 outputs. Leftover steps reduce one at a
// time. The reversed kernel walks dt, u, gate and out backwards: each block
// of 16 is loaded in order and reversed with VPERMPS (dt and du to the
// stack), and its 16 outputs reversed back before the store, so that no
// reversed copies of the operands are needed.
func scanN16Z() {
	// The exp constants live in registers in the 16-step loop (fewer
	// loads per step: with Cody–Waite's exp, six constants in registers
	// gave 2.76e9 against 2.57e9 state updates/s with all constants as
	// broadcasts, on the device's Xeon in one run).
	reg := map[string]string{
		"magic": "Z3", "q5": "Z7", "q4": "Z8", "q3": "Z11", "q2": "Z12", "q1": "Z13", "q0": "Z14", "one": "Z15"}
	scanN16Zv("scanN16AVX512", "sz", false, reg)
	scanN16Zv("scanN16RevAVX512", "szr", true, reg)
}

// scanN16Zv emits one variant of scanN16AVX512 named name (labels prefixed
// lab), reversed in time with rev, taking the exp constants in reg from
// registers in the 16-step loop.
func scanN16Zv(name, lab string, rev bool, reg map[string]string) {
	p("")
	p("// func %s(steps int, h, a2, dt, u, gate, out, b, c *float32, bStride, cStride int, dSkip float32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $128-92", name) // 0(SP): du of a block; 64(SP): reversed dt
	p("\tMOVQ steps+0(FP), CX")
	p("\tMOVQ h+8(FP), AX")
	p("\tMOVQ a2+16(FP), BX")
	p("\tMOVQ dt+24(FP), SI")
	p("\tMOVQ u+32(FP), DI")
	p("\tMOVQ gate+40(FP), R8")
	p("\tMOVQ out+48(FP), R9")
	p("\tMOVQ b+56(FP), R10")
	p("\tMOVQ c+64(FP), R11")
	p("\tMOVQ bStride+72(FP), R12")
	p("\tMOVQ cStride+80(FP), R13")
	p("\tSHLQ $2, R12")
	p("\tSHLQ $2, R13")
	p("\tVBROADCASTSS dSkip+88(FP), Z10")
	p("\tVMOVUPS (BX), Z1")
	p("\tVMOVUPS (AX), Z2")
	if rev { // one past the last step; blocks and steps first move back
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tLEAQ (%s)(CX*4), %s", r, r)
		}
	}
	for _, k := range scanConstList {
		if r, ok := reg[k]; ok {
			p("\tVBROADCASTSS %s, %s", cz(k), r)
		}
	}
	p("\tCMPQ CX, $16")
	p("\tJLT %s_tail", lab)
	p("%s_loop16:", lab)
	dtBase, dtOff := "SI", 0
	if rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tSUBQ $64, %s", r)
		}
		p("\tVMOVUPS revidx<>(SB), Z0")
		p("\tVPERMPS (SI), Z0, Z4") // dt, step order
		p("\tVPERMPS (DI), Z0, Z5") // u, step order
		p("\tVMOVUPS Z4, 64(SP)")
		p("\tVMULPS Z5, Z4, Z5") // du
		p("\tVMOVUPS Z5, (SP)")
		dtBase, dtOff = "SP", 64
	} else {
		p("\tVMOVUPS (SI), Z0")
		p("\tVMULPS (DI), Z0, Z0") // du = dt·u for the block
		p("\tVMOVUPS Z0, (SP)")
	}
	for j := 0; j < 16; j++ {
		emit(scanStepZ(j, dtBase, dtOff, fmt.Sprintf("Z%d", 16+j), reg))
	}
	// Level 1: pairs (v2k, v2k+1) → per 128-bit lane [a0+a2, b0+b2, a1+a3, b1+b3].
	for k := 0; k < 8; k++ {
		a, b := 16+2*k, 17+2*k
		p("\tVUNPCKLPS Z%d, Z%d, Z0", b, a)
		p("\tVUNPCKHPS Z%d, Z%d, Z%d", b, a, a)
		p("\tVADDPS Z0, Z%d, Z%d", a, a)
	}
	// Level 2: pairs of pairs → per 128-bit lane the four partial sums of
	// v4k..v4k+3, in Z16, Z20, Z24, Z28.
	for k := 0; k < 4; k++ {
		a, b := 16+4*k, 18+4*k
		p("\tVSHUFPS $0x44, Z%d, Z%d, Z0", b, a)
		p("\tVSHUFPS $0xEE, Z%d, Z%d, Z%d", b, a, a)
		p("\tVADDPS Z0, Z%d, Z%d", a, a)
	}
	// Levels 3 and 4: add the 128-bit lanes across registers.
	for _, pr := range [][2]int{{16, 20}, {24, 28}} {
		p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z0", pr[1], pr[0])
		p("\tVSHUFF32X4 $0xDD, Z%d, Z%d, Z%d", pr[1], pr[0], pr[0])
		p("\tVADDPS Z0, Z%d, Z%d", pr[0], pr[0])
	}
	p("\tVSHUFF32X4 $0x88, Z24, Z16, Z0")
	p("\tVSHUFF32X4 $0xDD, Z24, Z16, Z16")
	p("\tVADDPS Z0, Z16, Z16")
	if rev { // lane j is step j, time 15 − j of the block
		p("\tVMOVUPS revidx<>(SB), Z0")
		p("\tVPERMPS Z16, Z0, Z16")
	}
	p("\tVMOVUPS (DI), Z0")
	p("\tVFMADD231PS Z10, Z0, Z16") // + dSkip·u
	p("\tVMULPS (R8), Z16, Z16")    // · gate
	p("\tVMOVUPS Z16, (R9)")
	if !rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tADDQ $64, %s", r)
		}
	}
	p("\tSUBQ $16, CX")
	p("\tCMPQ CX, $16")
	p("\tJGE %s_loop16", lab)
	p("%s_tail:", lab)
	p("\tTESTQ CX, CX")
	p("\tJZ %s_done", lab)
	p("%s_loop1:", lab)
	if rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tSUBQ $4, %s", r)
		}
	}
	emit(scanStep1Z())
	p("\tVEXTRACTF64X4 $1, Z11, Y12")
	p("\tVADDPS Y12, Y11, Y11")
	p("\tVEXTRACTF128 $1, Y11, X12")
	p("\tVADDPS X12, X11, X11")
	p("\tVMOVHLPS X11, X11, X12")
	p("\tVADDPS X12, X11, X11")
	p("\tVMOVSHDUP X11, X12")
	p("\tVADDSS X12, X11, X11")
	p("\tVMOVSS (DI), X3")
	p("\tVFMADD231SS X10, X3, X11")
	p("\tVMULSS (R8), X11, X11")
	p("\tVMOVSS X11, (R9)")
	if !rev {
		for _, r := range []string{"SI", "DI", "R8", "R9"} {
			p("\tADDQ $4, %s", r)
		}
	}
	p("\tDECQ CX")
	p("\tJNZ %s_loop1", lab)
	p("%s_done:", lab)
	p("\tVMOVUPS Z2, (AX)")
	p("\tVZEROUPPER")
	p("\tRET")
}

// vecZ emits name(n int, dst, src *float32[, extra args]): body maps the
// zmm register it is given in place (loaded from src, stored to dst) for
// all n floats, 16 per iteration and the last n mod 16 under the mask K1
// (masked-off lanes are neither read nor written). Bodies of at least
// interleaveMin instructions first go 32 floats per iteration as two
// interleaved copies (the second on registers shifted by shiftZ). Extra
// arguments are float32s after src, loaded by the caller-supplied preamble
// of body (the first into Z15 by broadcast).
func vecZ(name, label string, extra []string, body func(x string) []string) {
	args := "n int, dst, src *float32"
	size := 24
	for _, e := range extra {
		args += ", " + e
		size += 4
	}
	p("")
	p("// func %s(%s)", name, args)
	p("TEXT ·%s(SB), NOSPLIT, $0-%d", name, size)
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ src+16(FP), SI")
	if len(extra) > 0 {
		p("\tVBROADCASTSS %s+24(FP), Z15", strings.Fields(extra[0])[0])
	}
	if len(body("Z0")) >= interleaveMin {
		vecZ32(label, body)
	}
	p("%s_z16:", label)
	p("\tCMPQ CX, $16")
	p("\tJLT %s_ztail", label)
	p("\tVMOVUPS (SI), Z0")
	emit(body("Z0"))
	p("\tVMOVUPS Z0, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tSUBQ $16, CX")
	p("\tJMP %s_z16", label)
	p("%s_ztail:", label)
	p("\tTESTQ CX, CX")
	p("\tJZ %s_zdone", label)
	p("\tMOVL $1, AX")
	p("\tSHLL CX, AX")
	p("\tDECL AX")
	p("\tKMOVW AX, K1")
	p("\tVMOVUPS.Z (SI), K1, Z0")
	emit(body("Z0"))
	p("\tVMOVUPS Z0, K1, (DI)")
	p("%s_zdone:", label)
	p("\tVZEROUPPER")
	p("\tRET")
}

// interleaveMin is the body length from which vecZ interleaves two
// vectors. A lone softplus (34 instructions) or SiLU (21) is one long
// dependency chain and too few iterations of it fit in the scheduler to
// fill the ports; the device's Xeon, same run, 4096 floats: softplus 4566
// → 2835 ns and SiLU 1816 → 1367 ns interleaved, but exp alone (17) 942 →
// 1443 ns, so exp keeps one vector per iteration.
const interleaveMin = 20

// vecZ32 emits vecZ's loop of 32 floats per iteration, two interleaved
// copies of body, falling through to the 16-float loop for the rest.
func vecZ32(label string, body func(x string) []string) {
	p("%s_z32:", label)
	p("\tCMPQ CX, $32")
	p("\tJLT %s_z16", label)
	p("\tVMOVUPS (SI), Z0")
	p("\tVMOVUPS 64(SI), Z16")
	interleave(body("Z0"), shiftZ(body("Z0")))
	p("\tVMOVUPS Z0, (DI)")
	p("\tVMOVUPS Z16, 64(DI)")
	p("\tADDQ $128, SI")
	p("\tADDQ $128, DI")
	p("\tSUBQ $32, CX")
	p("\tJMP %s_z32", label)
}

// zkReg matches a zmm or mask register name.
var zkReg = regexp.MustCompile(`\b([ZK])([0-9]+)\b`)

// shiftZ renames the registers of a vecZ body for its interleaved second
// copy: Z0..Z14 become Z16..Z30 (Z15, the broadcast argument, stays) and
// the masks K2, K3 become K4, K5.
func shiftZ(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = zkReg.ReplaceAllStringFunc(l, func(r string) string {
			k, _ := strconv.Atoi(r[1:])
			switch {
			case r[0] == 'Z' && k < 15:
				return "Z" + strconv.Itoa(k+16)
			case r[0] == 'K' && (k == 2 || k == 3):
				return "K" + strconv.Itoa(k+2)
			case r[0] == 'K' || k > 15:
				panic("shiftZ: body uses " + r)
			}
			return r
		})
	}
	return out
}

// expZBody is exp in place (temporaries Z1..Z3).
func expZBody(x string) []string { return expZ(x, "Z1", "Z2", "Z3") }

// softplusZ is softplusLines for zmm: x + bias (bias in Z15), in place.
// Temporaries Z1..Z5 (Z6 and the mask registers are left alone).
func softplusZ(x string) []string {
	t, t1, t2, t3, q := "Z1", "Z2", "Z3", "Z4", "Z5"
	l := []string{
		fmt.Sprintf("VADDPS Z15, %s, %s", x, x),
		fmt.Sprintf("VPANDD.BCST %s, %s, %s", cz("absmask"), x, t),
		fmt.Sprintf("VPXORD.BCST %s, %s, %s", cz("signmask"), t, t), // −|x|
	}
	l = append(l, expZ(t, t1, t2, t3)...)
	l = append(l, fmt.Sprintf("VBROADCASTSS %s, %s", cz("s9"), q))
	for _, k := range []string{"s8", "s7", "s6", "s5", "s4", "s3", "s2", "s1", "one"} {
		l = append(l, fmt.Sprintf("VFMADD213PS.BCST %s, %s, %s", cz(k), t, q))
	}
	return append(l,
		fmt.Sprintf("VMULPS %s, %s, %s", t, q, q), // log1p(t)
		fmt.Sprintf("VPXORD %s, %s, %s", t1, t1, t1),
		fmt.Sprintf("VMAXPS %s, %s, %s", x, t1, x), // max(x, 0), NaN stays
		fmt.Sprintf("VADDPS %s, %s, %s", q, x, x),
	)
}

// siluZ is x/(1 + exp(−x)) in place (temporaries Z1..Z5).
func siluZ(x string) []string {
	l := []string{
		"VPXORD Z5, Z5, Z5",
		fmt.Sprintf("VSUBPS %s, Z5, Z1", x), // −x
	}
	l = append(l, expZ("Z1", "Z2", "Z3", "Z4")...)
	return append(l,
		fmt.Sprintf("VADDPS.BCST %s, Z1, Z1", cz("one")),
		fmt.Sprintf("VDIVPS Z1, %s, %s", x, x),
	)
}

// geluZ is geluLines for zmm, in place (temporaries Z1..Z7, mask K2).
func geluZ(X string) []string {
	Z, A, W, S, E, T, Q := "Z1", "Z2", "Z3", "Z4", "Z5", "Z6", "Z7"
	l := []string{
		fmt.Sprintf("VMULPS.BCST %s, %s, %s", cz("sqrt1_2"), X, Z),
		fmt.Sprintf("VPANDD.BCST %s, %s, %s", cz("absmask"), Z, A),
		fmt.Sprintf("VMULPS %s, %s, %s", Z, Z, W),
		fmt.Sprintf("VBROADCASTSS %s, %s", cz("g6"), S),
	}
	for _, k := range []string{"g5", "g4", "g3", "g2", "g1", "g0"} {
		l = append(l, fmt.Sprintf("VFMADD213PS.BCST %s, %s, %s", cz(k), W, S))
	}
	l = append(l,
		fmt.Sprintf("VMULPS %s, %s, %s", Z, S, S),
		fmt.Sprintf("VPANDD.BCST %s, %s, %s", cz("signmask"), Z, Z),
		fmt.Sprintf("VMINPS.BCST %s, %s, %s", cz("nine"), A, E),
		fmt.Sprintf("VMULPS %s, %s, %s", E, E, E),
		fmt.Sprintf("VPXORD.BCST %s, %s, %s", cz("signmask"), E, E),
	)
	l = append(l, expZ(E, W, T, Q)...)
	l = append(l,
		fmt.Sprintf("VBROADCASTSS %s, %s", cz("asp"), T),
		fmt.Sprintf("VFMADD213PS.BCST %s, %s, %s", cz("one"), A, T),
		fmt.Sprintf("VBROADCASTSS %s, %s", cz("one"), Q),
		fmt.Sprintf("VDIVPS %s, %s, %s", T, Q, T),
		fmt.Sprintf("VBROADCASTSS %s, %s", cz("a5"), Q),
	)
	for _, k := range []string{"a4", "a3", "a2", "a1"} {
		l = append(l, fmt.Sprintf("VFMADD213PS.BCST %s, %s, %s", cz(k), T, Q))
	}
	return append(l,
		fmt.Sprintf("VMULPS %s, %s, %s", T, Q, Q),
		fmt.Sprintf("VFNMADD213PS.BCST %s, %s, %s", cz("one"), E, Q), // 1 − q·t·e
		fmt.Sprintf("VPXORD %s, %s, %s", Z, Q, Q),                    // sign of z
		fmt.Sprintf("VCMPPS.BCST $1, %s, %s, K2", cz("one"), A),      // |z| < 1
		fmt.Sprintf("VMOVAPS %s, K2, %s", S, Q),
		fmt.Sprintf("VADDPS.BCST %s, %s, %s", cz("one"), Q, Q),
		fmt.Sprintf("VMULPS.BCST %s, %s, %s", cz("half"), X, X),
		fmt.Sprintf("VMULPS %s, %s, %s", Q, X, X),
	)
}
