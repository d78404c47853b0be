package asm

import (
	"fmt"
	"math"
)

// StepStates16 advances len(dt) channels of N = 16 states by one token,
// the decode step of the selective scan (selective_state_update) with B
// and C shared by the channels. Its twin StepStates16Go is the definition:
// for channel i, with h_i = h[16i:16i+16] and a_i = a[16i:16i+16],
//
//	h_i[n] = exp(dt[i]·a_i[n])·h_i[n] + (dt[i]·x[i])·b[n]
//	p[k]   = h_i[k]·c[k] + h_i[k+8]·c[k+8]          (k < 8)
//	y      = ((p0+p2)+(p1+p3)) + ((p4+p6)+(p5+p7))
//	out[i] = (y + x[i]·dSkip[i])·gate[i]
//
// dt is already biased and passed through softplus. The SIMD version
// (AVX2+FMA, also used where AVX-512 is available) computes the decay as
// the full scan does, 2^(a·(dt·log2e)) with ScanStates16's degree-6
// polynomial and clamp, and fuses the multiply-adds; a channel's results
// do not depend on how many channels a call takes. out must not alias
// the inputs.
func StepStates16(h, a, dt, x, dSkip, gate, out, b, c []float32) {
	n := len(dt)
	if len(h) < 16*n || len(a) < 16*n || len(x) < n || len(dSkip) < n || len(gate) < n || len(out) < n || len(b) < 16 || len(c) < 16 {
		panic(fmt.Sprintf("asm: StepStates16 bad operands: %d channels, len(h)=%d len(a)=%d len(x)=%d len(dSkip)=%d len(gate)=%d len(out)=%d len(b)=%d len(c)=%d",
			n, len(h), len(a), len(x), len(dSkip), len(gate), len(out), len(b), len(c)))
	}
	if n == 0 {
		return
	}
	stepStates16(h[:16*n], a[:16*n], dt, x[:n], dSkip[:n], gate[:n], out[:n], b[:16], c[:16])
}

// StepStates16Go is the pure-Go twin of StepStates16 and its definition
// (the decay in float64, rounded to float32).
func StepStates16Go(h, a, dt, x, dSkip, gate, out, b, c []float32) {
	b, c = b[:16], c[:16]
	for i, d := range dt {
		hi, ai := h[16*i:16*i+16], a[16*i:16*i+16]
		dx := d * x[i]
		for n := range hi {
			hi[n] = float32(math.Exp(float64(d)*float64(ai[n])))*hi[n] + dx*b[n]
		}
		var p [8]float32
		for k := range p {
			p[k] = hi[k]*c[k] + hi[k+8]*c[k+8]
		}
		y := ((p[0] + p[2]) + (p[1] + p[3])) + ((p[4] + p[6]) + (p[5] + p[7]))
		out[i] = (y + x[i]*dSkip[i]) * gate[i]
	}
}

// Conv4Step advances len(x) channels of a depthwise causal conv with K = 4
// taps by one token, the conv part of a decode step (Conv1dStep before its
// activation). Its twin Conv4StepGo is the definition: for channel i, with
// s = state[4i:4i+4] and w_i = w[4i:4i+4],
//
//	dst[i] = w_i[0]·s[1] + w_i[1]·s[2] + w_i[2]·s[3] + w_i[3]·x[i] + bias[i]
//	s      = (s[1], s[2], s[3], x[i])
//
// summed left to right with separate multiplies and adds (the full causal
// conv's order, so a step equals its column bit for bit); a nil bias adds
// zeros. The SIMD version (AVX2) runs eight channels at a time with the
// same operations and the tail in Go: both give the same bits. dst must
// not alias the inputs.
func Conv4Step(dst, state, x, w, bias []float32) {
	n := len(x)
	if len(dst) < n || len(state) < 4*n || len(w) < 4*n || (bias != nil && len(bias) < n) {
		panic(fmt.Sprintf("asm: Conv4Step bad operands: %d channels, len(dst)=%d len(state)=%d len(w)=%d len(bias)=%d",
			n, len(dst), len(state), len(w), len(bias)))
	}
	if bias != nil {
		bias = bias[:n]
	}
	conv4Step(dst[:n], state[:4*n], x, w[:4*n], bias)
}

// Conv4StepGo is the pure-Go twin of Conv4Step and its definition.
func Conv4StepGo(dst, state, x, w, bias []float32) {
	for i, xv := range x {
		var b float32
		if bias != nil {
			b = bias[i]
		}
		s := state[4*i : 4*i+4 : 4*i+4]
		wi := w[4*i : 4*i+4 : 4*i+4]
		s0, s1, s2 := s[1], s[2], s[3]
		s[0], s[1], s[2], s[3] = s0, s1, s2, xv
		dst[i] = wi[0]*s0 + wi[1]*s1 + wi[2]*s2 + wi[3]*xv + b
	}
}
