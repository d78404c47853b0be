//go:build amd64 && !noasm

package asm

//go:noescape
func dotPanelInt8AVX2(kb, gb int, x *float32, w *int8, s *float32, pf int, out *float32)

//go:noescape
func dotPanelInt8AVX512(kb, gb int, x *float32, w *int8, s *float32, pf int, out *float32)

//go:noescape
func widenPanelInt8AVX2(kb, gb int, w *int8, s *float32, dst *float32, ld int)

func dotPanelInt8(kb, gb int, x []float32, w []int8, s []float32, out *[4]float32) {
	switch {
	case !useSIMD || kb == 0:
		DotPanelInt8Go(kb, gb, x, w, s, out)
	case useAVX512:
		dotPanelInt8AVX512(kb, gb, &x[0], &w[0], &s[0], int8Prefetch, &out[0])
	default:
		dotPanelInt8AVX2(kb, gb, &x[0], &w[0], &s[0], int8Prefetch, &out[0])
	}
}

func widenPanelInt8(kb, gb int, w []int8, s []float32, dst []float32, ld int) {
	if !useSIMD || kb == 0 {
		WidenPanelInt8Go(kb, gb, w, s, dst, ld)
		return
	}
	widenPanelInt8AVX2(kb, gb, &w[0], &s[0], &dst[0], ld)
}
