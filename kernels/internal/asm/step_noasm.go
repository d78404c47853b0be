//go:build !amd64 || noasm

package asm

func stepStates16(h, a, dt, x, dSkip, gate, out, b, c []float32) {
	StepStates16Go(h, a, dt, x, dSkip, gate, out, b, c)
}

func conv4Step(dst, state, x, w, bias []float32) { Conv4StepGo(dst, state, x, w, bias) }
