package main

import (
	"fmt"
	"strings"
)

// stepConstList are the constants of step_amd64.s, each stored 8 times in
// its own read-only table stepc<> (scanc<> is private to scan_amd64.s):
// log2e and those of exp2Lines.
var stepConstList = []string{"log2e", "ymin", "ymax", "magic", "q5", "q4", "q3", "q2", "q1", "q0", "one"}

// stepLines rewrites scan constant operands (c) in l to stepc<> ones.
func stepLines(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		for j, k := range stepConstList {
			s = strings.ReplaceAll(s, c(k), fmt.Sprintf("stepc<>+%d(SB)", 32*j))
		}
		if strings.Contains(s, "scanc<>") {
			panic("step: constant missing from stepConstList: " + s)
		}
		out[i] = s
	}
	return out
}

func stepConsts() { constTable("stepc<>", stepConstList) }

// stepChannel returns the update of channel j of a group of four (N = 16,
// AVX2) in the six registers r: dt at 4j(SI), x at 4j(DI), states at
// 64j(AX), A at 64j(BX), B at (R11), C at (R12). The decays are
// 2^(a·(dt·log2e)) by exp2Lines (two interleaved chains, the full scan's
// polynomial), the states become h·e + (dt·x)·b in one fused multiply-add
// each and are stored, and the products h·c, summed over the two halves
// (h_k·c_k + h_{k+8}·c_{k+8}, fused), are left in prod. Every channel's
// list has the same length, so two can be interleaved.
func stepChannel(j int, prod string, r [6]string) []string {
	x := func(y string) string { return "X" + y[1:] }
	l := []string{
		fmt.Sprintf("VBROADCASTSS %d(SI), %s", 4*j, r[2]),
		fmt.Sprintf("VMULPS %s, %s, %s", c("log2e"), r[2], r[3]), // dt·log2e
		fmt.Sprintf("VMULPS %d(BX), %s, %s", 64*j, r[3], r[0]),   // y, states 0..7
		fmt.Sprintf("VMULPS %d(BX), %s, %s", 64*j+32, r[3], r[1]),
	}
	l = append(l, interleaved(exp2Lines(r[0], r[2], r[3]), exp2Lines(r[1], r[4], r[5]))...)
	return stepLines(append(l,
		fmt.Sprintf("VMOVSS %d(SI), %s", 4*j, x(r[2])),
		fmt.Sprintf("VMULSS %d(DI), %s, %s", 4*j, x(r[2]), x(r[2])), // dx = dt·x
		fmt.Sprintf("VBROADCASTSS %s, %s", x(r[2]), r[2]),
		fmt.Sprintf("VMULPS (R11), %s, %s", r[2], r[3]),
		fmt.Sprintf("VMULPS 32(R11), %s, %s", r[2], r[4]),
		fmt.Sprintf("VMOVUPS %d(AX), %s", 64*j, r[5]),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", r[3], r[0], r[5]), // h = h·e + dx·b
		fmt.Sprintf("VMOVUPS %d(AX), %s", 64*j+32, r[2]),
		fmt.Sprintf("VFMADD213PS %s, %s, %s", r[4], r[1], r[2]),
		fmt.Sprintf("VMOVUPS %s, %d(AX)", r[5], 64*j),
		fmt.Sprintf("VMOVUPS %s, %d(AX)", r[2], 64*j+32),
		fmt.Sprintf("VMULPS (R12), %s, %s", r[5], prod),
		fmt.Sprintf("VFMADD231PS 32(R12), %s, %s", r[2], prod),
	))
}

// stepN16 emits stepN16AVX2, SelectiveStateUpdate's inner loop for N = 16:
// four channels per iteration, two at a time with their instructions
// interleaved (stepChannel into Y0–Y3; a channel's exp chain is long and
// one at a time left the out-of-order window short of independent work),
// their four sums
// reduced together by sum4Lanes, scanN16v's transposing add tree (lane j
// of X0 is channel j's ((p0+p2)+(p1+p3)) + ((p4+p6)+(p5+p7))), then
// out = (y + x·D)·gate for the four at once. Every channel's arithmetic is
// the same whichever lane it takes, so a channel's result does not depend
// on its neighbours (the Go side pads a tail to four).
func stepN16() {
	p("")
	p("// func stepN16AVX2(n4 int, h, a, dt, x, dSkip, gate, out, b, c *float32)")
	p("TEXT ·stepN16AVX2(SB), NOSPLIT, $0-80")
	p("\tMOVQ n4+0(FP), CX")
	p("\tMOVQ h+8(FP), AX")
	p("\tMOVQ a+16(FP), BX")
	p("\tMOVQ dt+24(FP), SI")
	p("\tMOVQ x+32(FP), DI")
	p("\tMOVQ dSkip+40(FP), R8")
	p("\tMOVQ gate+48(FP), R9")
	p("\tMOVQ out+56(FP), R10")
	p("\tMOVQ b+64(FP), R11")
	p("\tMOVQ c+72(FP), R12")
	p("\tTESTQ CX, CX")
	p("\tJZ step16_done")
	p("step16_loop:")
	ra := [6]string{"Y4", "Y5", "Y6", "Y7", "Y8", "Y9"}
	rb := [6]string{"Y10", "Y11", "Y12", "Y13", "Y14", "Y15"}
	for j := 0; j < 4; j += 2 { // two channels' chains interleaved
		interleave(stepChannel(j, fmt.Sprintf("Y%d", j), ra), stepChannel(j+1, fmt.Sprintf("Y%d", j+1), rb))
	}
	// [p0..p3] → lane j of X0 = Σ p_j.
	sum4Lanes(0, 8)
	p("\tVMOVUPS (DI), X8")
	p("\tVFMADD231PS (R8), X8, X0") // + x·D
	p("\tVMULPS (R9), X0, X0")      // · gate
	p("\tVMOVUPS X0, (R10)")
	p("\tADDQ $256, AX")
	p("\tADDQ $256, BX")
	for _, r := range []string{"SI", "DI", "R8", "R9", "R10"} {
		p("\tADDQ $16, %s", r)
	}
	p("\tDECQ CX")
	p("\tJNZ step16_loop")
	p("step16_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// transpose4x8 emits the transpose of the 4×4 blocks in each 128-bit half
// of r[0..3] into o[0..3] (row i of a half's output is column i of its
// input), with temporaries t0, t1: unpack pairs of singles, then pairs of
// doubles. It is its own inverse.
func transpose4x8(r, o [4]string, t0, t1 string) {
	p("\tVUNPCKLPS %s, %s, %s", r[1], r[0], t0)
	p("\tVUNPCKHPS %s, %s, %s", r[1], r[0], t1)
	p("\tVUNPCKLPS %s, %s, %s", r[3], r[2], o[2])
	p("\tVUNPCKHPS %s, %s, %s", r[3], r[2], o[3])
	p("\tVUNPCKLPD %s, %s, %s", o[2], t0, o[0])
	p("\tVUNPCKHPD %s, %s, %s", o[2], t0, o[1])
	p("\tVUNPCKLPD %s, %s, %s", o[3], t1, o[2])
	p("\tVUNPCKHPD %s, %s, %s", o[3], t1, o[3])
}

// conv4Step emits conv4StepAVX2, Conv1dStep's pass for K = 4 over 8·n8
// channels: the (channel, tap) states and weights of eight channels (four
// vectors each, two channels per vector) are transposed to tap-major
// vectors in the channel order 0 2 4 6 1 3 5 7 (x and the bias are
// permuted to it with VPERMPS), the output is w0·s1 + w1·s2 + w2·s3 + w3·x
// + b with separate multiplies and adds in that order (conv4's, so equal
// to the full causal conv bit for bit), permuted back and stored, and the
// new state rows (s1, s2, s3, x), transposed back, are stored over the old.
// bstep is the bias pointer's advance per eight channels (32, or 0 for a
// zero bias row).
func conv4Step() {
	p("")
	for i, v := range []int{0, 2, 4, 6, 1, 3, 5, 7, 0, 4, 1, 5, 2, 6, 3, 7} {
		p("DATA convperm<>+%d(SB)/4, $%d", 4*i, v)
	}
	p("GLOBL convperm<>(SB), RODATA|NOPTR, $64")
	p("")
	p("// func conv4StepAVX2(n8 int, dst, state, x, w, bias *float32, bstep int)")
	p("TEXT ·conv4StepAVX2(SB), NOSPLIT, $0-56")
	p("\tMOVQ n8+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ state+16(FP), AX")
	p("\tMOVQ x+24(FP), SI")
	p("\tMOVQ w+32(FP), BX")
	p("\tMOVQ bias+40(FP), DX")
	p("\tMOVQ bstep+48(FP), R8")
	p("\tVMOVUPS convperm<>+0(SB), Y14")  // to the transposed order
	p("\tVMOVUPS convperm<>+32(SB), Y15") // back
	p("\tTESTQ CX, CX")
	p("\tJZ conv4_done")
	p("conv4_loop:")
	for i := 0; i < 4; i++ {
		p("\tVMOVUPS %d(BX), Y%d", 32*i, i)
	}
	transpose4x8([4]string{"Y0", "Y1", "Y2", "Y3"}, [4]string{"Y4", "Y5", "Y6", "Y7"}, "Y8", "Y9") // w0..w3
	for i := 0; i < 4; i++ {
		p("\tVMOVUPS %d(AX), Y%d", 32*i, i)
	}
	transpose4x8([4]string{"Y0", "Y1", "Y2", "Y3"}, [4]string{"Y10", "Y11", "Y12", "Y13"}, "Y8", "Y9") // s0..s3
	p("\tVPERMPS (SI), Y14, Y0")                                                                       // x
	p("\tVPERMPS (DX), Y14, Y9")                                                                       // bias
	p("\tVMULPS Y11, Y4, Y1")                                                                          // w0·s1
	p("\tVMULPS Y12, Y5, Y2")
	p("\tVADDPS Y2, Y1, Y1")
	p("\tVMULPS Y13, Y6, Y2")
	p("\tVADDPS Y2, Y1, Y1")
	p("\tVMULPS Y0, Y7, Y2")
	p("\tVADDPS Y2, Y1, Y1")
	p("\tVADDPS Y9, Y1, Y1")
	p("\tVPERMPS Y1, Y15, Y1")
	p("\tVMOVUPS Y1, (DI)")
	transpose4x8([4]string{"Y11", "Y12", "Y13", "Y0"}, [4]string{"Y2", "Y3", "Y4", "Y5"}, "Y8", "Y10") // new state
	for i := 0; i < 4; i++ {
		p("\tVMOVUPS Y%d, %d(AX)", 2+i, 32*i)
	}
	p("\tADDQ $128, AX")
	p("\tADDQ $128, BX")
	p("\tADDQ $32, SI")
	p("\tADDQ $32, DI")
	p("\tADDQ R8, DX")
	p("\tDECQ CX")
	p("\tJNZ conv4_loop")
	p("conv4_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}
