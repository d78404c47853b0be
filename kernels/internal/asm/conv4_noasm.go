//go:build !amd64 || noasm

package asm

func conv4Vec(o, x []float32, w *[4]float32, b float32, rev bool) {
	if rev {
		Conv4RevGo(o, x, w[:], b)
		return
	}
	Conv4Go(o, x, w[:], b)
}
