package asm

import "fmt"

// Int8 weight panels use the bf16 panel layout (PanelBF16 rows, blocks of
// BlockBF16 columns, one 64-byte block of int8 weights per 16 columns)
// with fp32 scales stored apart: for each group of gb blocks (16·gb
// columns, the last group possibly shorter), four scales, one per row of
// the panel. Weight (r, 16b+i) of a panel is float32(w[64b+16r+i]) ·
// s[4·(b/gb)+r].

// int8Prefetch is how many bytes ahead of the weights being read the int8
// dot kernels prefetch (one 64-byte block per step); GOMAMBA_INT8_PREFETCH
// overrides it. mamba-130m int8 decode on the device machine's Xeon, 2
// threads, 16 KiB GEMV chunks, one run each: the step's GEMVs took 9.6 ms
// at 512 bytes, 9.5–10.0 at 1024, 7.5 at 2048, 8.5 at 4096.
var int8Prefetch = envInt("GOMAMBA_INT8_PREFETCH", 2048)

// DotPanelInt8 computes out[r] = Σ_g s[4g+r]·Σ_{b in group g} Σ_{i<16}
// x[16b+i]·w[64b+16r+i] for r < 4: the dot products of x (16·kb floats)
// with the four rows of an int8 weight panel w (64·kb values) whose groups
// of gb blocks have the scales s (4·⌈kb/gb⌉ floats), accumulated in fp32.
// Its twin DotPanelInt8Go is the definition; the SIMD versions sum in a
// different order.
func DotPanelInt8(kb, gb int, x []float32, w []int8, s []float32, out *[4]float32) {
	if kb < 0 || gb <= 0 || len(x) < BlockBF16*kb || len(w) < PanelBF16*BlockBF16*kb || len(s) < PanelBF16*((kb+gb-1)/gb) {
		panic(fmt.Sprintf("asm: DotPanelInt8 bad operands: kb=%d gb=%d len(x)=%d len(w)=%d len(s)=%d", kb, gb, len(x), len(w), len(s)))
	}
	dotPanelInt8(kb, gb, x, w, s, out)
}

// DotPanelInt8Go is the pure-Go twin of DotPanelInt8.
func DotPanelInt8Go(kb, gb int, x []float32, w []int8, s []float32, out *[4]float32) {
	*out = [4]float32{}
	for g, b0 := 0, 0; b0 < kb; g, b0 = g+1, b0+gb {
		var part [4]float32
		for b := b0; b < min(b0+gb, kb); b++ {
			xb := x[BlockBF16*b : BlockBF16*(b+1)]
			for r := range part {
				wr := w[(PanelBF16*b+r)*BlockBF16:][:BlockBF16]
				for i, v := range xb {
					part[r] += v * float32(wr[i])
				}
			}
		}
		for r := range out {
			out[r] += part[r] * s[PanelBF16*g+r]
		}
	}
}

// WidenPanelInt8 dequantises an int8 weight panel w (64·kb values, groups
// of gb blocks with the scales s) into four fp32 rows:
// dst[r·ld+16b+i] = float32(w[64b+16r+i])·s[4·(b/gb)+r] for r < 4, b < kb,
// i < 16 (one fp32 product, the same in every version); WidenPanelInt8Go
// is the twin.
func WidenPanelInt8(kb, gb int, w []int8, s []float32, dst []float32, ld int) {
	if kb < 0 || gb <= 0 || len(w) < PanelBF16*BlockBF16*kb || len(s) < PanelBF16*((kb+gb-1)/gb) ||
		(kb > 0 && (ld < BlockBF16*kb || len(dst) < 3*ld+BlockBF16*kb)) {
		panic(fmt.Sprintf("asm: WidenPanelInt8 bad operands: kb=%d gb=%d len(w)=%d len(s)=%d len(dst)=%d ld=%d", kb, gb, len(w), len(s), len(dst), ld))
	}
	widenPanelInt8(kb, gb, w, s, dst, ld)
}

// WidenPanelInt8Go is the pure-Go twin of WidenPanelInt8.
func WidenPanelInt8Go(kb, gb int, w []int8, s []float32, dst []float32, ld int) {
	for b := 0; b < kb; b++ {
		for r := 0; r < PanelBF16; r++ {
			scale := s[PanelBF16*(b/gb)+r]
			src := w[(PanelBF16*b+r)*BlockBF16:][:BlockBF16]
			d := dst[r*ld+BlockBF16*b:][:BlockBF16]
			for i, q := range src {
				d[i] = float32(q) * scale
			}
		}
	}
}
