//go:build !amd64 || noasm

package asm

func dotPanelInt8(kb, gb int, x []float32, w []int8, s []float32, out *[4]float32) {
	DotPanelInt8Go(kb, gb, x, w, s, out)
}

func widenPanelInt8(kb, gb int, w []int8, s []float32, dst []float32, ld int) {
	WidenPanelInt8Go(kb, gb, w, s, dst, ld)
}
