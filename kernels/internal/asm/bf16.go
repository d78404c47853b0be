package asm

import (
	"fmt"
	"math"
	"os"
	"strconv"
)

// BF16ToFloat32 widens a bfloat16 (the top 16 bits of a float32) to
// float32; the conversion is exact.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 rounds f to the nearest bfloat16, ties to even (as
// PyTorch's x.to(torch.bfloat16)); NaNs stay NaN (quiet) and infinities
// stay infinite.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep the sign, force a quiet payload
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// PanelBF16 is the number of rows of a bfloat16 weight panel, and
// BlockBF16 the number of columns of one block: a panel stores, for each
// block of BlockBF16 columns, BlockBF16 weights of each of its PanelBF16
// rows in turn (PanelBF16·BlockBF16 values per block), so that a
// matrix-vector product reads the matrix as one sequential stream.
const (
	PanelBF16 = 4
	BlockBF16 = 16
)

// bf16Prefetch is how many bytes ahead of the weights being read the dot
// kernels prefetch; GOMAMBA_BF16_PREFETCH overrides it (a tuning knob for
// other CPUs: 0 still prefetches the current lines only). mamba-130m bf16
// decode on the device machine's Xeon, 2 threads, one run: 256 bytes 25.0
// ms per token, 1024 22.8, 4096 22.8.
var bf16Prefetch = envInt("GOMAMBA_BF16_PREFETCH", 1024)

// envInt reads a non-negative integer from the environment, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// DotPanelBF16 computes out[r] = Σ_{b<kb} Σ_{i<16} x[16b+i]·w[64b+16r+i]
// for r < 4: the dot products of x (16·kb floats) with the four rows of a
// bfloat16 weight panel w (64·kb values, see PanelBF16), widened to fp32
// and accumulated in fp32. Its twin DotPanelBF16Go is the definition; the
// SIMD versions sum in a different order.
func DotPanelBF16(kb int, x []float32, w []uint16, out *[4]float32) {
	if kb < 0 || len(x) < BlockBF16*kb || len(w) < PanelBF16*BlockBF16*kb {
		panic(fmt.Sprintf("asm: DotPanelBF16 bad operands: kb=%d len(x)=%d len(w)=%d", kb, len(x), len(w)))
	}
	dotPanelBF16(kb, x, w, out)
}

// DotPanelBF16Go is the pure-Go twin of DotPanelBF16.
func DotPanelBF16Go(kb int, x []float32, w []uint16, out *[4]float32) {
	*out = [4]float32{}
	for b := 0; b < kb; b++ {
		xb := x[BlockBF16*b : BlockBF16*(b+1)]
		for r := range out {
			wr := w[(PanelBF16*b+r)*BlockBF16:][:BlockBF16]
			s := out[r]
			for i, v := range xb {
				s += v * BF16ToFloat32(wr[i])
			}
			out[r] = s
		}
	}
}

// WidenPanelBF16 unpacks a weight panel w (64·kb values) into four fp32
// rows: dst[r·ld+16b+i] = w[64b+16r+i] for r < 4, b < kb, i < 16. The
// conversion is exact; WidenPanelBF16Go is the twin.
func WidenPanelBF16(kb int, w []uint16, dst []float32, ld int) {
	if kb < 0 || len(w) < PanelBF16*BlockBF16*kb || (kb > 0 && (ld < BlockBF16*kb || len(dst) < 3*ld+BlockBF16*kb)) {
		panic(fmt.Sprintf("asm: WidenPanelBF16 bad operands: kb=%d len(w)=%d len(dst)=%d ld=%d", kb, len(w), len(dst), ld))
	}
	widenPanelBF16(kb, w, dst, ld)
}

// WidenPanelBF16Go is the pure-Go twin of WidenPanelBF16.
func WidenPanelBF16Go(kb int, w []uint16, dst []float32, ld int) {
	for b := 0; b < kb; b++ {
		for r := 0; r < PanelBF16; r++ {
			src := w[(PanelBF16*b+r)*BlockBF16:][:BlockBF16]
			d := dst[r*ld+BlockBF16*b:][:BlockBF16]
			for i, h := range src {
				d[i] = BF16ToFloat32(h)
			}
		}
	}
}
