package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Kernels of the N = 1 selective scan run eight channels at a time
// (kernels/scan_oct1.go): a fused per-channel pass computing the decays and
// inputs, the interleaved recurrence of eight channels, and the output
// pass. They reuse scan.go's exp and softplus instruction lists, with the
// constants in this file's own table scan1c<> (a <> symbol is private to
// its file).

// recur8Row is Recur8Block (floats) in bytes.
const recur8Row = 256 * 4

// q1 prints lines with the constant table renamed to scan1c<>.
func q1(lines ...string) {
	for _, l := range lines {
		p("\t%s", strings.ReplaceAll(l, "scanc<>", "scan1c<>"))
	}
}

// interleave1 is interleave for q1.
func interleave1(lists ...[]string) { q1(interleaved(lists...)...) }

// scan1Consts emits scan1c<>, a copy of scanc<>.
func scan1Consts() { constTable("scan1c<>", scanConstList) }

// prepLines returns, for the ymm at byte offset off, Δ = softplus(delta +
// bias) (softplusLines without its store, the result in r[4]), da =
// exp(Δ·a) stored at off(R8) and w = Δ·u·b stored at off(R9); delta at SI,
// u at R10, b at R11, bias in Y15, a in Y14.
func prepLines(off int, r [7]string) []string {
	l := softplusLines(off, r)
	l = l[:len(l)-1] // keep Δ in r[4]
	x, t1, t2, t3, sp := r[0], r[1], r[2], r[3], r[4]
	l = append(l, fmt.Sprintf("VMULPS Y14, %s, %s", sp, x))
	l = append(l, expLines(x, t1, t2, t3)...)
	return append(l,
		fmt.Sprintf("VMOVUPS %s, %d(R8)", x, off),
		fmt.Sprintf("VMULPS %d(R10), %s, %s", off, sp, sp),
		fmt.Sprintf("VMULPS %d(R11), %s, %s", off, sp, sp),
		fmt.Sprintf("VMOVUPS %s, %d(R9)", sp, off),
	)
}

// oct1Prep emits oct1PrepAVX2(n16, da, w, delta, u, b, bias, a): for
// 16·n16 steps, Δ = softplus(delta + bias), da = exp(Δ·a), w = Δ·u·b,
// two interleaved vectors per iteration.
func oct1Prep() {
	p("")
	p("// func oct1PrepAVX2(n16 int, da, w, delta, u, b *float32, bias, a float32)")
	p("TEXT ·oct1PrepAVX2(SB), NOSPLIT, $0-56")
	p("\tMOVQ n16+0(FP), CX")
	p("\tMOVQ da+8(FP), R8")
	p("\tMOVQ w+16(FP), R9")
	p("\tMOVQ delta+24(FP), SI")
	p("\tMOVQ u+32(FP), R10")
	p("\tMOVQ b+40(FP), R11")
	p("\tVBROADCASTSS bias+48(FP), Y15")
	p("\tVBROADCASTSS a+52(FP), Y14")
	p("\tTESTQ CX, CX")
	p("\tJZ prep_done")
	p("prep_loop:")
	interleave1(
		prepLines(0, [7]string{"Y0", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6"}),
		prepLines(32, [7]string{"Y7", "Y8", "Y9", "Y10", "Y11", "Y12", "Y13"}))
	for _, r := range []string{"SI", "R8", "R9", "R10", "R11"} {
		p("\tADDQ $64, %s", r)
	}
	p("\tDECQ CX")
	p("\tJNZ prep_loop")
	p("prep_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// oct1PrepZ emits oct1PrepAVX512(n, da, w, delta, u, b, bias, a), the same
// pass 16 lanes at a time with a masked tail (any n).
func oct1PrepZ() {
	body := func() []string {
		l := softplusZ("Z0") // Δ in Z0
		l = append(l, "VMULPS Z14, Z0, Z7")
		l = append(l, expZ("Z7", "Z1", "Z2", "Z3")...)
		return l
	}
	p("")
	p("// func oct1PrepAVX512(n int, da, w, delta, u, b *float32, bias, a float32)")
	p("TEXT ·oct1PrepAVX512(SB), NOSPLIT, $0-56")
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ da+8(FP), R8")
	p("\tMOVQ w+16(FP), R9")
	p("\tMOVQ delta+24(FP), SI")
	p("\tMOVQ u+32(FP), R10")
	p("\tMOVQ b+40(FP), R11")
	p("\tVBROADCASTSS bias+48(FP), Z15")
	p("\tVBROADCASTSS a+52(FP), Z14")
	// Four vectors per iteration: each one's softplus and exp is a chain
	// of about 45 dependent instructions, so a single vector per
	// iteration waits on latency (oct1PrepAVX512 was 8% of vmamba-tiny's
	// time on the device Xeon); four independent chains fill the ports.
	one := append([]string{"VMOVUPS (SI), Z0"}, body()...)
	one = append(one, "VMOVUPS Z7, (R8)", "VMULPS (R10), Z0, Z0", "VMULPS (R11), Z0, Z0", "VMOVUPS Z0, (R9)")
	chains := make([][]string, 4)
	for c := range chains {
		chains[c] = renameChain(one, oct1PrepRegs[c], 64*c)
	}
	p("prepz_loop4:")
	p("\tCMPQ CX, $64")
	p("\tJLT prepz_loop")
	interleave1(chains...)
	for _, r := range []string{"SI", "R8", "R9", "R10", "R11"} {
		p("\tADDQ $256, %s", r)
	}
	p("\tSUBQ $64, CX")
	p("\tJMP prepz_loop4")
	p("prepz_loop:")
	p("\tCMPQ CX, $16")
	p("\tJLT prepz_tail")
	p("\tVMOVUPS (SI), Z0")
	q1(body()...)
	q1("VMOVUPS Z7, (R8)", "VMULPS (R10), Z0, Z0", "VMULPS (R11), Z0, Z0", "VMOVUPS Z0, (R9)")
	for _, r := range []string{"SI", "R8", "R9", "R10", "R11"} {
		p("\tADDQ $64, %s", r)
	}
	p("\tSUBQ $16, CX")
	p("\tJMP prepz_loop")
	p("prepz_tail:")
	p("\tTESTQ CX, CX")
	p("\tJZ prepz_done")
	p("\tMOVL $1, AX")
	p("\tSHLL CX, AX")
	p("\tDECL AX")
	p("\tKMOVW AX, K1")
	p("\tVMOVUPS.Z (SI), K1, Z0")
	q1(body()...)
	q1("VMOVUPS Z7, K1, (R8)", "VMOVUPS.Z (R10), K1, Z8", "VMULPS Z8, Z0, Z0", "VMOVUPS.Z (R11), K1, Z8", "VMULPS Z8, Z0, Z0", "VMOVUPS Z0, K1, (R9)")
	p("prepz_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// oct1PrepRegs maps the zmm registers of oct1PrepZ's single-vector body
// (Z0–Z5 and Z7; Z14 and Z15 hold a and the bias) to those of each of the
// four interleaved chains.
var oct1PrepRegs = [4]map[int]int{
	{0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 7: 7},
	{0: 6, 1: 8, 2: 9, 3: 10, 4: 11, 5: 12, 7: 13},
	{0: 16, 1: 17, 2: 18, 3: 19, 4: 20, 5: 21, 7: 22},
	{0: 23, 1: 24, 2: 25, 3: 26, 4: 27, 5: 28, 7: 29},
}

var (
	zmmRe  = regexp.MustCompile(`\bZ([0-9]+)\b`)
	baseRe = regexp.MustCompile(`(^|[ ,])\((SI|R8|R9|R10|R11)\)`)
)

// renameChain returns lines with their zmm registers renamed by regs (Z14
// and Z15, the shared constants, stay) and their (SI), (R8), (R9), (R10)
// and (R11) operands displaced by off bytes. It panics on a register that
// regs does not cover, so a change of the body cannot silently share one.
func renameChain(lines []string, regs map[int]int, off int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		l = zmmRe.ReplaceAllStringFunc(l, func(z string) string {
			n, _ := strconv.Atoi(z[1:])
			if n == 14 || n == 15 {
				return z
			}
			m, ok := regs[n]
			if !ok {
				panic(fmt.Sprintf("renameChain: %s in %q has no mapping", z, l))
			}
			return fmt.Sprintf("Z%d", m)
		})
		out[i] = baseRe.ReplaceAllString(l, fmt.Sprintf("${1}%d(${2})", off))
	}
	return out
}

// oct1Out emits oct1OutAVX2(n8, out, h, u, c, gate, dSkip): for 8·n8
// steps, out = (h·c + dSkip·u)·gate, each product and the sum rounded
// separately (no fused multiply-add), as the Go twin computes it; and
// oct1OutAccAVX2 with the same operands, which adds that to out (out += y,
// one more rounded add before the store).
func oct1Out() {
	for _, acc := range []bool{false, true} {
		name, lbl := "oct1OutAVX2", "out"
		if acc {
			name, lbl = "oct1OutAccAVX2", "outacc"
		}
		p("")
		p("// func %s(n8 int, out, h, u, c, gate *float32, dSkip float32)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-52", name)
		p("\tMOVQ n8+0(FP), CX")
		p("\tMOVQ out+8(FP), DI")
		p("\tMOVQ h+16(FP), SI")
		p("\tMOVQ u+24(FP), R10")
		p("\tMOVQ c+32(FP), R11")
		p("\tMOVQ gate+40(FP), R8")
		p("\tVBROADCASTSS dSkip+48(FP), Y15")
		p("\tTESTQ CX, CX")
		p("\tJZ %s_done", lbl)
		p("%s_loop:", lbl)
		p("\tVMOVUPS (SI), Y0")
		p("\tVMULPS (R11), Y0, Y0")
		p("\tVMULPS (R10), Y15, Y1")
		p("\tVADDPS Y1, Y0, Y0")
		p("\tVMULPS (R8), Y0, Y0")
		if acc {
			p("\tVADDPS (DI), Y0, Y0")
		}
		p("\tVMOVUPS Y0, (DI)")
		for _, r := range []string{"SI", "DI", "R8", "R10", "R11"} {
			p("\tADDQ $32, %s", r)
		}
		p("\tDECQ CX")
		p("\tJNZ %s_loop", lbl)
		p("%s_done:", lbl)
		p("\tVZEROUPPER")
		p("\tRET")
	}
}

// recur8 emits the N = 1 scan's recurrence over eight channels,
// recur8AVX(h, da, w, n, rev): rows k of da and w lie Recur8Block floats
// apart (a constant displacement), the eight states stay in X0–X7 and each
// step of each chain is one load, one multiply, one add and one store, so
// that the eight chains overlap. The multiply and the add round separately,
// as Recur8Go does.
func recur8() {
	p("")
	p("// func recur8AVX(h *[8]float32, da, w *[8][%d]float32, n int, rev bool)", recur8Row/4)
	p("TEXT ·recur8AVX(SB), NOSPLIT, $0-33")
	p("\tMOVQ h+0(FP), AX")
	p("\tMOVQ da+8(FP), SI")
	p("\tMOVQ w+16(FP), DI")
	p("\tMOVQ n+24(FP), CX")
	p("\tMOVBLZX rev+32(FP), DX")
	for k := range 8 {
		p("\tVMOVSS %d(AX), X%d", 4*k, k)
	}
	p("\tTESTQ DX, DX")
	p("\tJNZ r8_rev")
	// Forward: BX runs over byte offsets 0, 4, …, 4(n−1).
	p("\tXORQ BX, BX")
	p("\tSHLQ $2, CX")
	p("r8_fwd:")
	step8()
	p("\tADDQ $4, BX")
	p("\tCMPQ BX, CX")
	p("\tJLT r8_fwd")
	p("\tJMP r8_done")
	// Reverse: BX runs over 4(n−1), …, 4, 0.
	p("r8_rev:")
	p("\tLEAQ -4(CX*4), BX")
	p("r8_revloop:")
	step8()
	p("\tSUBQ $4, BX")
	p("\tJGE r8_revloop")
	p("r8_done:")
	for k := range 8 {
		p("\tVMOVSS X%d, %d(AX)", k, 4*k)
	}
	p("\tRET")
}

// step8 emits one step of the eight chains at byte offset BX: loads first,
// then the multiplies, the adds and the stores, each group over k.
func step8() {
	for k := range 8 {
		p("\tVMOVSS %d(SI)(BX*1), X%d", k*recur8Row, 8+k)
	}
	for k := range 8 {
		p("\tVMULSS X%d, X%d, X%d", 8+k, k, k)
	}
	for k := range 8 {
		p("\tVADDSS %d(DI)(BX*1), X%d, X%d", k*recur8Row, k, k)
	}
	for k := range 8 {
		p("\tVMOVSS X%d, %d(DI)(BX*1)", k, k*recur8Row)
	}
}

// ln2d emits ln2dAVX2_<v>(c, stride, x, dst, w, b, eps, invC): VMamba's
// channel-first LayerNorm2d of 8·v neighbouring pixels (v ≤ 2 vectors of
// 8) over c channels whose rows lie stride bytes apart, in three passes over
// the channels, all on values shifted by the pixel's first channel k (so
// that a large common offset does not cancel in float32): the shifted mean
// m = Σ(x − k)/c, the variance as the mean of (x − k − m)², and dst =
// (x − k − m)·rstd·w[ch] + b[ch] with rstd = 1/sqrt(var + eps).
func ln2d(v int) { ln2dv(v, false) }

// ln2dMasked emits ln2dMaskAVX2(c, stride, x, dst, w, b, eps, invC, n):
// ln2d for the first n < 8 pixels of a vector, through masked loads and
// stores (the other lanes compute on zeros and are not written).
func ln2dMasked() { ln2dv(1, true) }

func ln2dv(v int, masked bool) {
	name := fmt.Sprintf("ln2dAVX2_%d", v)
	if masked {
		name = "ln2dMaskAVX2"
	}
	load := func(mem, reg string) {
		if masked {
			p("\tVMASKMOVPS %s, Y14, %s", mem, reg)
		} else {
			p("\tVMOVUPS %s, %s", mem, reg)
		}
	}
	M := func(j int) string { return fmt.Sprintf("Y%d", j) }   // sums, then means
	R := func(j int) string { return fmt.Sprintf("Y%d", 2+j) } // squares, then rstd
	K := func(j int) string { return fmt.Sprintf("Y%d", 4+j) } // pivots
	T := func(j int) string { return fmt.Sprintf("Y%d", 6+j) }
	p("")
	if masked {
		p("// func %s(c, stride int, x, dst, w, b *float32, eps, invC float32, n int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
		laneMask("n+56(FP)", "Y14")
	} else {
		p("// func %s(c, stride int, x, dst, w, b *float32, eps, invC float32)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	}
	p("\tMOVQ c+0(FP), CX")
	p("\tMOVQ stride+8(FP), DX")
	p("\tMOVQ x+16(FP), SI")
	p("\tMOVQ dst+24(FP), DI")
	p("\tMOVQ w+32(FP), R8")
	p("\tMOVQ b+40(FP), R9")
	p("\tVBROADCASTSS invC+52(FP), Y15")
	for j := range v {
		p("\tVXORPS %s, %s, %s", M(j), M(j), M(j))
		p("\tVXORPS %s, %s, %s", R(j), R(j), R(j))
		load(fmt.Sprintf("%d(SI)", 32*j), K(j))
	}
	// shifted emits T(j) = x − k for the row at AX.
	shifted := func() {
		for j := range v {
			load(fmt.Sprintf("%d(AX)", 32*j), T(j))
		}
		for j := range v {
			p("\tVSUBPS %s, %s, %s", K(j), T(j), T(j))
		}
	}
	// Pass 1: Σ(x − k).
	p("\tMOVQ SI, AX")
	p("\tMOVQ CX, BX")
	p("%s_sum:", name)
	shifted()
	for j := range v {
		p("\tVADDPS %s, %s, %s", T(j), M(j), M(j))
	}
	p("\tADDQ DX, AX")
	p("\tDECQ BX")
	p("\tJNZ %s_sum", name)
	for j := range v {
		p("\tVMULPS Y15, %s, %s", M(j), M(j))
	}
	// Pass 2: Σ(x − k − m)².
	p("\tMOVQ SI, AX")
	p("\tMOVQ CX, BX")
	p("%s_var:", name)
	shifted()
	for j := range v {
		p("\tVSUBPS %s, %s, %s", M(j), T(j), T(j))
	}
	for j := range v {
		p("\tVFMADD231PS %s, %s, %s", T(j), T(j), R(j))
	}
	p("\tADDQ DX, AX")
	p("\tDECQ BX")
	p("\tJNZ %s_var", name)
	p("\tVBROADCASTSS eps+48(FP), Y8")
	p("\tVBROADCASTSS %s, Y9", strings.ReplaceAll(c("one"), "scanc<>", "scan1c<>"))
	for j := range v {
		p("\tVMULPS Y15, %s, %s", R(j), R(j))
		p("\tVADDPS Y8, %s, %s", R(j), R(j))
		p("\tVSQRTPS %s, %s", R(j), R(j))
		p("\tVDIVPS %s, Y9, %s", R(j), R(j))
	}
	// Pass 3: normalise, scale and shift.
	p("\tMOVQ SI, AX")
	p("%s_norm:", name)
	p("\tVBROADCASTSS (R8), Y8")
	p("\tVBROADCASTSS (R9), Y9")
	shifted()
	for j := range v {
		p("\tVSUBPS %s, %s, %s", M(j), T(j), T(j))
	}
	for j := range v {
		p("\tVMULPS %s, %s, %s", R(j), T(j), T(j))
	}
	for j := range v {
		p("\tVMULPS Y8, %s, %s", T(j), T(j))
	}
	for j := range v {
		p("\tVADDPS Y9, %s, %s", T(j), T(j))
	}
	for j := range v {
		if masked {
			p("\tVMASKMOVPS %s, Y14, %d(DI)", T(j), 32*j)
		} else {
			p("\tVMOVUPS %s, %d(DI)", T(j), 32*j)
		}
	}
	p("\tADDQ DX, AX")
	p("\tADDQ DX, DI")
	p("\tADDQ $4, R8")
	p("\tADDQ $4, R9")
	p("\tDECQ CX")
	p("\tJNZ %s_norm", name)
	p("\tVZEROUPPER")
	p("\tRET")
}

// transposeTile emits tr8AVX2(src, lds, dst, ldd) (full 8×8 tiles, plain
// loads and stores) and tr8MaskAVX2(src, lds, dst, ldd, r, c) (an r×c
// corner, r, c in 1..8: masked loads of r rows of c floats, masked stores
// of c rows of r floats): dst[j·ldd + i] = src[i·lds + j], strides in
// bytes. The 8×8 transpose is the usual unpack / shuffle / lane-permute
// network.
func transposeTile(masked bool) {
	name := "tr8AVX2"
	args, size := "src *float32, lds int, dst *float32, ldd int", 32
	if masked {
		name = "tr8MaskAVX2"
		args, size = args+", r, c int", 48
	}
	p("")
	p("// func %s(%s)", name, args)
	p("TEXT ·%s(SB), NOSPLIT, $0-%d", name, size)
	p("\tMOVQ src+0(FP), SI")
	p("\tMOVQ lds+8(FP), AX")
	p("\tMOVQ dst+16(FP), DI")
	p("\tMOVQ ldd+24(FP), BX")
	if masked {
		p("\tMOVQ r+32(FP), R8")
		p("\tMOVQ c+40(FP), R9")
		laneMask("R9", "Y15") // the first c lanes
	}
	for i := range 8 {
		if masked {
			p("\tVXORPS Y%d, Y%d, Y%d", i, i, i)
			p("\tCMPQ R8, $%d", i)
			p("\tJLE %s_l%d", name, i)
			p("\tVMASKMOVPS (SI), Y15, Y%d", i)
			p("%s_l%d:", name, i)
		} else {
			p("\tVMOVUPS (SI), Y%d", i)
		}
		if i < 7 {
			p("\tADDQ AX, SI")
		}
	}
	for k := range 4 { // t = unpack(r2k, r2k+1)
		p("\tVUNPCKLPS Y%d, Y%d, Y%d", 2*k+1, 2*k, 8+2*k)
		p("\tVUNPCKHPS Y%d, Y%d, Y%d", 2*k+1, 2*k, 9+2*k)
	}
	// tt0..tt7 into Y0..Y7.
	for _, g := range [][4]int{{0, 8, 10, 0x44}, {1, 8, 10, 0xEE}, {2, 9, 11, 0x44}, {3, 9, 11, 0xEE},
		{4, 12, 14, 0x44}, {5, 12, 14, 0xEE}, {6, 13, 15, 0x44}, {7, 13, 15, 0xEE}} {
		p("\tVSHUFPS $0x%02x, Y%d, Y%d, Y%d", g[3], g[2], g[1], g[0])
	}
	// out k = perm2f128(tt k, tt k+4, 0x20) for k < 4, (tt k−4, tt k, 0x31) above.
	for k := range 4 {
		p("\tVPERM2F128 $0x20, Y%d, Y%d, Y%d", k+4, k, 8+k)
	}
	for k := range 4 {
		p("\tVPERM2F128 $0x31, Y%d, Y%d, Y%d", k+4, k, 12+k)
	}
	if masked {
		laneMask("R8", "Y0") // the first r lanes
	}
	for j := range 8 {
		if masked {
			if j > 0 {
				p("\tCMPQ R9, $%d", j)
				p("\tJLE %s_done", name)
			}
			p("\tVMASKMOVPS Y%d, Y0, (DI)", 8+j)
		} else {
			p("\tVMOVUPS Y%d, (DI)", 8+j)
		}
		if j < 7 {
			p("\tADDQ BX, DI")
		}
	}
	if masked {
		p("%s_done:", name)
	}
	p("\tVZEROUPPER")
	p("\tRET")
}

// maskTab emits masktab<>: eight set lanes then eight clear ones (a window
// of eight starting at 8 − n has its first n lanes set).
func maskTab() {
	p("")
	for i := range 16 {
		v := "0xffffffff"
		if i >= 8 {
			v = "0x00000000"
		}
		p("DATA masktab<>+%d(SB)/4, $%s", 4*i, v)
	}
	p("GLOBL masktab<>(SB), RODATA|NOPTR, $64")
}

// dw3 emits dw3AVX2(n8, o, r0, r1, r2, w, b): 8·n8 outputs of a 3×3
// depthwise conv row, o[x] = b + w00·r0[x−1] + w01·r0[x] + w02·r0[x+1] +
// w10·r1[x−1] + … + w22·r2[x+1] (the r pointers address x − 1 = −1 of the
// first output), each product and sum rounded separately in that order, as
// the Go twin does. The nine weights stay broadcast in Y7–Y15.
func dw3() {
	p("")
	p("// func dw3AVX2(n8 int, o, r0, r1, r2, w *float32, b float32)")
	p("TEXT ·dw3AVX2(SB), NOSPLIT, $0-52")
	p("\tMOVQ n8+0(FP), CX")
	p("\tMOVQ o+8(FP), DI")
	p("\tMOVQ r0+16(FP), R8")
	p("\tMOVQ r1+24(FP), R9")
	p("\tMOVQ r2+32(FP), R10")
	p("\tMOVQ w+40(FP), R11")
	for k := range 9 {
		p("\tVBROADCASTSS %d(R11), Y%d", 4*k, 7+k)
	}
	p("\tVBROADCASTSS b+48(FP), Y6")
	p("\tTESTQ CX, CX")
	p("\tJZ dw3_done")
	p("dw3_loop:")
	p("\tVMOVAPS Y6, Y0")
	for i, r := range []string{"R8", "R9", "R10"} {
		for j := range 3 {
			p("\tVMULPS %d(%s), Y%d, Y1", 4*j, r, 7+3*i+j)
			p("\tVADDPS Y1, Y0, Y0")
		}
	}
	p("\tVMOVUPS Y0, (DI)")
	for _, r := range []string{"DI", "R8", "R9", "R10"} {
		p("\tADDQ $32, %s", r)
	}
	p("\tDECQ CX")
	p("\tJNZ dw3_loop")
	p("dw3_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// addScalar emits addScalarAVX2(n32, dst, v): dst[i] += v for 32·n32
// floats.
func addScalar() {
	p("")
	p("// func addScalarAVX2(n32 int, dst *float32, v float32)")
	p("TEXT ·addScalarAVX2(SB), NOSPLIT, $0-20")
	p("\tMOVQ n32+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tVBROADCASTSS v+16(FP), Y15")
	p("\tTESTQ CX, CX")
	p("\tJZ adds_done")
	p("adds_loop:")
	for k := range 4 {
		p("\tVADDPS %d(DI), Y15, Y%d", 32*k, k)
	}
	for k := range 4 {
		p("\tVMOVUPS Y%d, %d(DI)", k, 32*k)
	}
	p("\tADDQ $128, DI")
	p("\tDECQ CX")
	p("\tJNZ adds_loop")
	p("adds_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// gather2 emits gather2AVX2(n8, dst, src): dst[k] = src[2k] for 8·n8
// floats (im2col of a stride-2 conv), 16 loaded floats compacted to their
// even lanes by a shuffle and a 64-bit lane permutation.
func gather2() {
	p("")
	p("// func gather2AVX2(n8 int, dst, src *float32)")
	p("TEXT ·gather2AVX2(SB), NOSPLIT, $0-24")
	p("\tMOVQ n8+0(FP), CX")
	p("\tMOVQ dst+8(FP), DI")
	p("\tMOVQ src+16(FP), SI")
	p("\tTESTQ CX, CX")
	p("\tJZ g2_done")
	p("g2_loop:")
	p("\tVMOVUPS (SI), Y0")
	p("\tVMOVUPS 32(SI), Y1")
	p("\tVSHUFPS $0x88, Y1, Y0, Y2") // a0 a2 b0 b2 | a4 a6 b4 b6
	p("\tVPERMPD $0xd8, Y2, Y2")     // a0 a2 a4 a6 | b0 b2 b4 b6
	p("\tVMOVUPS Y2, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $32, DI")
	p("\tDECQ CX")
	p("\tJNZ g2_loop")
	p("g2_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// laneMask loads into dst the AVX2 mask of the first count lanes (count, a
// register or memory operand, in 0..8): masktab<> + 4·(8 − count). It uses
// R10 and R11.
func laneMask(count, dst string) {
	p("\tMOVQ %s, R11", count)
	p("\tLEAQ masktab<>+32(SB), R10")
	p("\tSHLQ $2, R11")
	p("\tSUBQ R11, R10")
	p("\tVMOVUPS (R10), %s", dst)
}

// deltaRow emits deltaRowAVX512 and deltaRowAVX2(n, dst, x, stride, w, r):
// for n vectors of 16 (8) steps, dst = Σ_r w[r]·x[r·stride + ·], one fused
// multiply-add per term in r order from zero (the GEMM micro-kernel's order
// for one depth block), several vectors per pass over the r rows while
// they last (each chain waits on its fused multiply-add's latency: AVX2
// takes eight, then four, then one; AVX-512 four, then one). r ≥ 1.
func deltaRow() {
	for _, v := range []struct {
		name, reg, lab string
		width          int   // bytes per vector
		steps          []int // vectors per pass, largest first
	}{
		// AVX-512 keeps the four-vector pass that ran on the device.
		{"deltaRowAVX512", "Z", "drz", 64, []int{4, 1}},
		{"deltaRowAVX2", "Y", "dry", 32, []int{8, 4, 1}},
	} {
		R := func(i int) string { return fmt.Sprintf("%s%d", v.reg, i) }
		p("")
		p("// func %s(n int, dst, x *float32, stride int, w *float32, r int)", v.name)
		p("TEXT ·%s(SB), NOSPLIT, $0-48", v.name)
		p("\tMOVQ n+0(FP), CX")
		p("\tMOVQ dst+8(FP), DI")
		p("\tMOVQ x+16(FP), R8")
		p("\tMOVQ stride+24(FP), R9")
		p("\tSHLQ $2, R9")
		p("\tMOVQ w+32(FP), R10")
		p("\tMOVQ r+40(FP), R11")
		steps := v.steps
		for si, chains := range steps {
			loop := fmt.Sprintf("%s_loop%d", v.lab, chains)
			next := v.lab + "_done"
			if si+1 < len(steps) {
				next = fmt.Sprintf("%s_loop%d", v.lab, steps[si+1])
			}
			p("%s:", loop)
			p("\tCMPQ CX, $%d", chains)
			p("\tJLT %s", next)
			for c := range chains {
				if v.reg == "Z" {
					p("\tVPXORD %s, %s, %s", R(c), R(c), R(c))
				} else {
					p("\tVXORPS %s, %s, %s", R(c), R(c), R(c))
				}
			}
			p("\tMOVQ R8, SI")
			p("\tMOVQ R10, DX")
			p("\tMOVQ R11, BX")
			p("%s_r%d:", v.lab, chains)
			if v.reg == "Z" {
				for c := range chains {
					p("\tVMOVUPS %d(SI), %s", c*v.width, R(steps[0]+c))
				}
				for c := range chains {
					p("\tVFMADD231PS.BCST (DX), %s, %s", R(steps[0]+c), R(c))
				}
			} else {
				p("\tVBROADCASTSS (DX), Y8")
				for c := range chains {
					p("\tVFMADD231PS %d(SI), Y8, %s", c*v.width, R(c))
				}
			}
			p("\tADDQ R9, SI")
			p("\tADDQ $4, DX")
			p("\tDECQ BX")
			p("\tJNZ %s_r%d", v.lab, chains)
			for c := range chains {
				p("\tVMOVUPS %s, %d(DI)", R(c), c*v.width)
			}
			p("\tADDQ $%d, DI", chains*v.width)
			p("\tADDQ $%d, R8", chains*v.width)
			p("\tSUBQ $%d, CX", chains)
			p("\tJMP %s", loop)
		}
		p("%s_done:", v.lab)
		p("\tVZEROUPPER")
		p("\tRET")
	}
}

// prefetch emits prefetchLines(n, p): PREFETCHT0 of n consecutive cache
// lines from p (no vector registers; SSE, so any amd64 with the other
// kernels has it).
func prefetch() {
	p("")
	p("// func prefetchLines(n int, p *float32)")
	p("TEXT ·prefetchLines(SB), NOSPLIT, $0-16")
	p("\tMOVQ n+0(FP), CX")
	p("\tMOVQ p+8(FP), SI")
	p("\tTESTQ CX, CX")
	p("\tJZ pf_done")
	p("pf_loop:")
	p("\tPREFETCHT0 (SI)")
	p("\tADDQ $64, SI")
	p("\tDECQ CX")
	p("\tJNZ pf_loop")
	p("pf_done:")
	p("\tRET")
}
