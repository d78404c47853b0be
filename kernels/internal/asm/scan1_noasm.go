//go:build !amd64 || noasm

package asm

func recur8(h *[8]float32, da, w *[8][Recur8Block]float32, n int, rev bool) {
	Recur8Go(h, da, w, n, rev)
}

func oct1Prep(da, w, delta, u, b []float32, bias, a float32) {
	Oct1PrepGo(da, w, delta, u, b, bias, a)
}

func oct1Out(out, h, u, c, gate []float32, dSkip float32) { Oct1OutGo(out, h, u, c, gate, dSkip) }

func oct1OutAcc(out, h, u, c, gate []float32, dSkip float32) {
	Oct1OutAccGo(out, h, u, c, gate, dSkip)
}

func layerNorm2dPixels(dst, x, w, b []float32, c, stride, n int, eps float32) {
	LayerNorm2dPixelsGo(dst, x, w, b, c, stride, n, eps)
}

func transpose(dst, src []float32, h, w int) { TransposeGo(dst, src, h, w) }

func dw3Row(o, r0, r1, r2, w []float32, b float32) { DW3RowGo(o, r0, r1, r2, w, b) }

func addScalar(dst []float32, v float32) { AddScalarGo(dst, v) }

func gather2(dst, src []float32) { Gather2Go(dst, src) }

func deltaRow(dst, x []float32, stride int, w []float32) { DeltaRowGo(dst, x, stride, w) }

func prefetch(x []float32) {}
