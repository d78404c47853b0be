package main

// bf16.go emits bf16_amd64.s: the bfloat16-weight kernels of CPU inference
// with bf16 storage (weights rounded to bfloat16 at load, widened to fp32
// in registers, fp32 accumulation). A bfloat16 is the top 16 bits of a
// float32, so widening is a zero extension to 32 bits and a shift left by
// 16 (VPMOVZXWD + VPSLLD), exact.
//
// The weights are stored in panels of four rows (asm.PanelBF16): for each
// block of 16 columns, 16 weights of row 0, then of rows 1, 2 and 3, 128
// bytes. A matrix-vector product then reads one sequential stream, which
// the hardware prefetchers follow; four separate row streams of 1.5 KiB
// (a 768-wide bf16 row) are too short for them (measured on Zen 3: 5.5
// GB/s on rows, 9.7 GB/s on panels, fp32 rows 10 GB/s).

// dotPanelBF16 emits dot kernels over one panel, out[r] = Σ_{b<kb}
// Σ_{i<16} x[16b+i]·panel[64b+16r+i] for r < 4, for AVX2 (reg "Y", two
// 8-lane halves per block) or AVX-512 (reg "Z", one 16-lane vector per
// block). Each iteration handles two blocks (256 bytes of weights) with two
// accumulators per row, after prefetching those bytes pf bytes ahead (the
// pf argument); an odd last block follows without prefetch. The lane sums
// are folded to 8 lanes and reduced horizontally.
func dotPanelBF16(name, reg string) {
	lanes, zero := 8, "VXORPS"
	if reg == "Z" {
		lanes, zero = 16, "VPXORD"
	}
	lbl := map[string]string{"Y": "dpy", "Z": "dpz"}[reg]
	p("")
	p("// func %s(kb int, x *float32, w *uint16, pf int, out *float32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-40", name)
	p("\tMOVQ kb+0(FP), CX")
	p("\tMOVQ x+8(FP), SI")
	p("\tMOVQ w+16(FP), DI")
	p("\tMOVQ pf+24(FP), R8")
	p("\tMOVQ out+32(FP), DX")
	for r := 0; r < 8; r++ {
		p("\t%s %s%d, %s%d, %s%d", zero, reg, r, reg, r, reg, r)
	}
	p("\tMOVQ CX, BX")
	p("\tSHRQ $1, CX")
	p("\tJZ %s_odd", lbl)
	p("%s_loop:", lbl)
	for off := 0; off < 256; off += 64 {
		p("\tPREFETCHT0 %d(DI)(R8*1)", off)
	}
	block := func(b, acc int) { // block b of this step into accumulator set acc
		for h := 0; h < 16/lanes; h++ {
			p("\tVMOVUPS %d(SI), %s8", 64*b+4*lanes*h, reg)
			for r := 0; r < 4; r++ {
				t := 10 + r
				p("\tVPMOVZXWD %d(DI), %s%d", 128*b+32*r+2*lanes*h, reg, t)
				p("\tVPSLLD $16, %s%d, %s%d", reg, t, reg, t)
				a := r + 4*acc
				if lanes == 8 {
					a = r + 4*h
				}
				p("\tVFMADD231PS %s%d, %s8, %s%d", reg, t, reg, reg, a)
			}
		}
	}
	block(0, 0)
	block(1, 1)
	p("\tADDQ $128, SI")
	p("\tADDQ $256, DI")
	p("\tDECQ CX")
	p("\tJNZ %s_loop", lbl)
	p("%s_odd:", lbl)
	p("\tTESTQ $1, BX")
	p("\tJZ %s_sum", lbl)
	block(0, 0)
	p("%s_sum:", lbl)
	sum4Store(reg == "Z")
}

// widenPanelBF16 emits the AVX2 unpacking of one panel into four fp32
// rows: dst[r·ld+16b+i] = panel[64b+16r+i] for r < 4, b < kb, i < 16.
func widenPanelBF16() {
	p("")
	p("// func widenPanelBF16AVX2(kb int, w *uint16, dst *float32, ld int)")
	p("TEXT ·widenPanelBF16AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ kb+0(FP), CX")
	p("\tMOVQ w+8(FP), SI")
	p("\tMOVQ dst+16(FP), DI")
	p("\tMOVQ ld+24(FP), R8")
	p("\tSHLQ $2, R8")
	p("\tLEAQ (R8)(R8*2), R9")
	p("\tTESTQ CX, CX")
	p("\tJZ wp_done")
	p("wp_loop:")
	for v := 0; v < 8; v++ {
		p("\tVPMOVZXWD %d(SI), Y%d", 16*v, v)
	}
	for v := 0; v < 8; v++ {
		p("\tVPSLLD $16, Y%d, Y%d", v, v)
	}
	rows := []string{"(DI)", "(DI)(R8*1)", "(DI)(R8*2)", "(DI)(R9*1)"}
	for v := 0; v < 8; v++ {
		off := ""
		if v%2 == 1 {
			off = "32"
		}
		p("\tVMOVUPS Y%d, %s%s", v, off, rows[v/2])
	}
	p("\tADDQ $128, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ wp_loop")
	p("wp_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}
