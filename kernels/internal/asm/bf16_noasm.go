//go:build !amd64 || noasm

package asm

func dotPanelBF16(kb int, x []float32, w []uint16, out *[4]float32) {
	DotPanelBF16Go(kb, x, w, out)
}

func widenPanelBF16(kb int, w []uint16, dst []float32, ld int) { WidenPanelBF16Go(kb, w, dst, ld) }
