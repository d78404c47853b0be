package asm

import "fmt"

// Conv4 is Mamba's causal 4-tap depthwise conv row: o[t] = w[0]·x[t−3] +
// w[1]·x[t−2] + w[2]·x[t−1] + w[3]·x[t] + b for t < len(x), zeros before
// t = 0, summed left to right with each product and sum rounded (no fused
// multiply-add). Its twin Conv4Go is the definition; the SIMD version (AVX2,
// also on AVX-512 CPUs) computes eight outputs at a time in the same order,
// equal to it bit for bit. o must not overlap x.
func Conv4(o, x, w []float32, b float32) {
	conv4Check("Conv4", o, x, w)
	conv4Vec(o[:len(x)], x, (*[4]float32)(w), b, false)
}

// Conv4Rev is the anti-causal row: o[t] = w[0]·x[t+3] + w[1]·x[t+2] +
// w[2]·x[t+1] + w[3]·x[t] + b, zeros past the end, in that order. Its twin
// Conv4RevGo is the definition; the SIMD version equals it bit for bit.
// o must not overlap x.
func Conv4Rev(o, x, w []float32, b float32) {
	conv4Check("Conv4Rev", o, x, w)
	conv4Vec(o[:len(x)], x, (*[4]float32)(w), b, true)
}

func conv4Check(op string, o, x, w []float32) {
	if len(o) < len(x) || len(w) != 4 {
		panic(fmt.Sprintf("asm: %s: len(o) %d < len(x) %d or len(w) %d != 4", op, len(o), len(x), len(w)))
	}
}

// Conv4Go is the pure-Go twin of Conv4 and its definition.
func Conv4Go(o, x, w []float32, b float32) {
	for t := range x {
		o[t] = conv4At(x, (*[4]float32)(w), b, t)
	}
}

// Conv4RevGo is the pure-Go twin of Conv4Rev and its definition.
func Conv4RevGo(o, x, w []float32, b float32) {
	for t := range x {
		o[t] = conv4RevAt(x, (*[4]float32)(w), b, t)
	}
}

// conv4At is output t of Conv4.
func conv4At(x []float32, w *[4]float32, b float32, t int) float32 {
	var x0, x1, x2 float32 // x[t−3], x[t−2], x[t−1], zero before the start
	if t >= 3 {
		x0 = x[t-3]
	}
	if t >= 2 {
		x1 = x[t-2]
	}
	if t >= 1 {
		x2 = x[t-1]
	}
	return w[0]*x0 + w[1]*x1 + w[2]*x2 + w[3]*x[t] + b
}

// conv4RevAt is output t of Conv4Rev.
func conv4RevAt(x []float32, w *[4]float32, b float32, t int) float32 {
	var x3, x2, x1 float32 // x[t+3], x[t+2], x[t+1], zero past the end
	if t+3 < len(x) {
		x3 = x[t+3]
	}
	if t+2 < len(x) {
		x2 = x[t+2]
	}
	if t+1 < len(x) {
		x1 = x[t+1]
	}
	return w[0]*x3 + w[1]*x2 + w[2]*x1 + w[3]*x[t] + b
}
