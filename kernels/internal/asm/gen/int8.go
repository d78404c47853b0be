package main

// int8.go emits int8_amd64.s: the int8-weight kernels of CPU inference
// with int8 storage (weights quantised to int8 at load with one fp32 scale
// per row and group of columns, dequantised in registers, fp32
// accumulation). The weights use the bf16 panel layout (bf16.go) with one
// byte per weight: for each block of 16 columns, 16 weights of row 0, then
// of rows 1, 2 and 3 — one 64-byte cache line per block. The scales of a
// panel are stored apart, four per group (rows 0–3), groups in column
// order.
//
// Widening is a sign extension to 32 bits and a conversion (VPMOVSXBD +
// VCVTDQ2PS), exact; a dot product accumulates Σ x·q of a group in fp32
// and adds it times the group's scale to the row's total.

// int8Step emits, for each of the 16/lanes vectors of one 16-column block
// (x at off(SI) and the four row slices of the block at DI), the
// conversion of each row's int8 weights into reg(10+r) and then body(r, h)
// (h: the vector's index in the block).
func int8Step(reg string, lanes int, body func(r, h int)) {
	for h := 0; h < 16/lanes; h++ {
		for r := 0; r < 4; r++ {
			t := 10 + r
			p("\tVPMOVSXBD %d(DI), %s%d", 16*r+lanes*h, reg, t)
			p("\tVCVTDQ2PS %s%d, %s%d", reg, t, reg, t)
			body(r, h)
		}
	}
}

// groupCount emits AX = min(BX, CX), CX -= AX: the blocks of the next
// scale group (BX blocks per group, CX blocks left).
func groupCount() {
	p("\tMOVQ BX, AX")
	p("\tCMPQ CX, AX")
	p("\tCMOVQLT CX, AX")
	p("\tSUBQ AX, CX")
}

// dotPanelInt8 emits a dot kernel over one int8 panel for AVX2 (reg "Y",
// two 8-lane vectors per block) or AVX-512 (reg "Z", one 16-lane vector
// per block): out[r] = Σ_g s[4g+r]·Σ_{b in group g} Σ_{i<16}
// x[16b+i]·panel[64b+16r+i], groups of gb blocks. Row r accumulates the
// current group in reg(4+r), folded into reg(r) with the group's scale; the
// 64 bytes of each block are prefetched pf bytes ahead.
func dotPanelInt8(name, reg string) {
	lanes, zero := 8, "VXORPS"
	if reg == "Z" {
		lanes, zero = 16, "VPXORD"
	}
	lbl := map[string]string{"Y": "diy", "Z": "diz"}[reg]
	zeroRegs := func(from int) {
		for r := from; r < from+4; r++ {
			p("\t%s %s%d, %s%d, %s%d", zero, reg, r, reg, r, reg, r)
		}
	}
	p("")
	p("// func %s(kb, gb int, x *float32, w *int8, s *float32, pf int, out *float32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-56", name)
	p("\tMOVQ kb+0(FP), CX")
	p("\tMOVQ gb+8(FP), BX")
	p("\tMOVQ x+16(FP), SI")
	p("\tMOVQ w+24(FP), DI")
	p("\tMOVQ s+32(FP), R9")
	p("\tMOVQ pf+40(FP), R8")
	p("\tMOVQ out+48(FP), DX")
	zeroRegs(0)
	p("%s_group:", lbl)
	zeroRegs(4)
	groupCount()
	p("%s_block:", lbl)
	p("\tPREFETCHT0 (DI)(R8*1)")
	for h := 0; h < 16/lanes; h++ {
		p("\tVMOVUPS %d(SI), %s%d", 4*lanes*h, reg, 8+h)
	}
	int8Step(reg, lanes, func(r, h int) {
		p("\tVFMADD231PS %s%d, %s%d, %s%d", reg, 10+r, reg, 8+h, reg, 4+r)
	})
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ AX")
	p("\tJNZ %s_block", lbl)
	for r := 0; r < 4; r++ {
		p("\tVBROADCASTSS %d(R9), %s%d", 4*r, reg, 10+r)
		p("\tVFMADD231PS %s%d, %s%d, %s%d", reg, 10+r, reg, 4+r, reg, r)
	}
	p("\tADDQ $16, R9")
	p("\tTESTQ CX, CX")
	p("\tJNZ %s_group", lbl)
	zeroRegs(4)
	sum4Store(reg == "Z")
}

// widenPanelInt8 emits the AVX2 dequantisation of one int8 panel into four
// fp32 rows: dst[r·ld+16b+i] = float32(panel[64b+16r+i])·s[4g+r] for
// r < 4, b < kb in group g = b/gb, i < 16.
func widenPanelInt8() {
	p("")
	p("// func widenPanelInt8AVX2(kb, gb int, w *int8, s *float32, dst *float32, ld int)")
	p("TEXT ·widenPanelInt8AVX2(SB), NOSPLIT, $0-48")
	p("\tMOVQ kb+0(FP), CX")
	p("\tMOVQ gb+8(FP), BX")
	p("\tMOVQ w+16(FP), DI")
	p("\tMOVQ s+24(FP), R9")
	p("\tMOVQ dst+32(FP), SI")
	p("\tMOVQ ld+40(FP), R8")
	p("\tSHLQ $2, R8")
	p("\tLEAQ (R8)(R8*2), R10")
	p("wi_group:")
	for r := 0; r < 4; r++ {
		p("\tVBROADCASTSS %d(R9), Y%d", 4*r, 4+r)
	}
	groupCount()
	p("wi_block:")
	rows := []string{"(SI)", "(SI)(R8*1)", "(SI)(R8*2)", "(SI)(R10*1)"}
	int8Step("Y", 8, func(r, h int) {
		p("\tVMULPS Y%d, Y%d, Y%d", 4+r, 10+r, 10+r)
		off := ""
		if h == 1 {
			off = "32"
		}
		p("\tVMOVUPS Y%d, %s%s", 10+r, off, rows[r])
	})
	p("\tADDQ $64, DI")
	p("\tADDQ $64, SI")
	p("\tDECQ AX")
	p("\tJNZ wi_block")
	p("\tADDQ $16, R9")
	p("\tTESTQ CX, CX")
	p("\tJNZ wi_group")
	p("\tVZEROUPPER")
	p("\tRET")
}
