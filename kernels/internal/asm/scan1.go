package asm

import (
	"fmt"
	"math"
)

// Recur8Block is the row length of Recur8's operands: eight rows of this many
// steps, one per channel.
const Recur8Block = 256

// Recur8 runs the linear recurrence of the N = 1 selective scan for eight
// independent channels k = 0 … 7 over n ≤ Recur8Block steps:
//
//	h[k] = da[k][t]·h[k] + w[k][t];  w[k][t] = h[k]
//
// for t = 0 … n−1, or for t = n−1 … 0 when rev is set. w is overwritten
// with the states; h holds the states before and after. Its twin Recur8Go
// is the definition; the SIMD version interleaves the eight chains (one
// multiply and one add per step, rounded separately as in the twin), so
// the results are identical.
func Recur8(h *[8]float32, da, w *[8][Recur8Block]float32, n int, rev bool) {
	if n < 0 || n > Recur8Block {
		panic(fmt.Sprintf("asm: Recur8 steps %d outside [0, %d]", n, Recur8Block))
	}
	if n == 0 {
		return
	}
	recur8(h, da, w, n, rev)
}

// Recur8Go is the pure-Go twin of Recur8 and its definition.
func Recur8Go(h *[8]float32, da, w *[8][Recur8Block]float32, n int, rev bool) {
	for k := range 8 {
		hv := h[k]
		d, x := da[k][:n], w[k][:n]
		if rev {
			for t := n - 1; t >= 0; t-- {
				hv = d[t]*hv + x[t]
				x[t] = hv
			}
		} else {
			for t := range x {
				hv = d[t]*hv + x[t]
				x[t] = hv
			}
		}
		h[k] = hv
	}
}

// Oct1Prep is the per-channel pass of the N = 1 scan before its recurrence:
// for every step i, with Δ = softplus(delta[i] + bias),
//
//	da[i] = exp(Δ·a);  w[i] = Δ·u[i]·b[i]
//
// Its twin Oct1PrepGo is the definition; the SIMD version evaluates
// Softplus and Exp's polynomials (the same instructions, so its da and w
// equal Exp and Softplus composed as above, bit for bit).
func Oct1Prep(da, w, delta, u, b []float32, bias, a float32) {
	n := len(delta)
	if len(da) < n || len(w) < n || len(u) < n || len(b) < n {
		panic(fmt.Sprintf("asm: Oct1Prep operands shorter than delta (%d): da %d, w %d, u %d, b %d", n, len(da), len(w), len(u), len(b)))
	}
	if n == 0 {
		return
	}
	oct1Prep(da[:n], w[:n], delta, u[:n], b[:n], bias, a)
}

// Oct1PrepGo is the pure-Go twin of Oct1Prep and its definition.
func Oct1PrepGo(da, w, delta, u, b []float32, bias, a float32) {
	for i, v := range delta {
		x := v + bias
		dt := x
		if x <= 20 {
			dt = float32(math.Log1p(math.Exp(float64(x))))
		}
		da[i] = float32(math.Exp(float64(dt * a)))
		w[i] = dt * u[i] * b[i]
	}
}

// Oct1Out is the per-channel pass of the N = 1 scan after its recurrence:
//
//	out[i] = (h[i]·c[i] + dSkip·u[i])·gate[i]
//
// each product and the sum rounded separately. Its twin Oct1OutGo is the
// definition. out may alias h or u.
func Oct1Out(out, h, u, c, gate []float32, dSkip float32) {
	n := len(out)
	if len(h) < n || len(u) < n || len(c) < n || len(gate) < n {
		panic(fmt.Sprintf("asm: Oct1Out operands shorter than out (%d): h %d, u %d, c %d, gate %d", n, len(h), len(u), len(c), len(gate)))
	}
	oct1Out(out, h[:n], u[:n], c[:n], gate[:n], dSkip)
}

// Oct1OutGo is the pure-Go twin of Oct1Out and its definition.
func Oct1OutGo(out, h, u, c, gate []float32, dSkip float32) {
	h, u, c, gate = h[:len(out)], u[:len(out)], c[:len(out)], gate[:len(out)]
	for i := range out {
		out[i] = (h[i]*c[i] + dSkip*u[i]) * gate[i]
	}
}
