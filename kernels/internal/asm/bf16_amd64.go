//go:build amd64 && !noasm

package asm

//go:noescape
func dotPanelBF16AVX2(kb int, x *float32, w *uint16, pf int, out *float32)

//go:noescape
func dotPanelBF16AVX512(kb int, x *float32, w *uint16, pf int, out *float32)

//go:noescape
func widenPanelBF16AVX2(kb int, w *uint16, dst *float32, ld int)

func dotPanelBF16(kb int, x []float32, w []uint16, out *[4]float32) {
	switch {
	case !useSIMD || kb == 0:
		DotPanelBF16Go(kb, x, w, out)
	case useAVX512:
		dotPanelBF16AVX512(kb, &x[0], &w[0], bf16Prefetch, &out[0])
	default:
		dotPanelBF16AVX2(kb, &x[0], &w[0], bf16Prefetch, &out[0])
	}
}

func widenPanelBF16(kb int, w []uint16, dst []float32, ld int) {
	if !useSIMD || kb == 0 {
		WidenPanelBF16Go(kb, w, dst, ld)
		return
	}
	widenPanelBF16AVX2(kb, &w[0], &dst[0], ld)
}
