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

// Oct1OutAcc is Oct1Out adding into out instead of overwriting it:
//
//	out[i] += (h[i]·c[i] + dSkip·u[i])·gate[i]
//
// with Oct1Out's roundings and then one rounded add, so it equals Oct1Out
// into a scratch row followed by out += row (the N = 1 scan's
// ScanArgs.Accumulate without the scratch pass). Its twin Oct1OutAccGo is
// the definition. out may alias u (each element is read before it is
// written).
func Oct1OutAcc(out, h, u, c, gate []float32, dSkip float32) {
	n := len(out)
	if len(h) < n || len(u) < n || len(c) < n || len(gate) < n {
		panic(fmt.Sprintf("asm: Oct1OutAcc operands shorter than out (%d): h %d, u %d, c %d, gate %d", n, len(h), len(u), len(c), len(gate)))
	}
	oct1OutAcc(out, h[:n], u[:n], c[:n], gate[:n], dSkip)
}

// Oct1OutAccGo is the pure-Go twin of Oct1OutAcc and its definition.
func Oct1OutAccGo(out, h, u, c, gate []float32, dSkip float32) {
	h, u, c, gate = h[:len(out)], u[:len(out)], c[:len(out)], gate[:len(out)]
	for i := range out {
		y := float32((h[i]*c[i] + dSkip*u[i]) * gate[i]) // rounded: no fused add below
		out[i] += y
	}
}

// Prefetch asks the CPU to bring the cache lines of x into cache
// (PREFETCHT0 on each line, with the SIMD kernels on amd64), for a reader
// about to walk x in an order the hardware prefetchers do not follow (the
// N = 1 scan's reverse blocks). It has no effect on any value; without
// the SIMD kernels it does nothing.
func Prefetch(x []float32) {
	if len(x) == 0 {
		return
	}
	prefetch(x)
}

// LayerNorm2dPixels is VMamba's channel-first LayerNorm2d of n neighbouring
// pixels: with x[ch·stride + i] the value of channel ch < c at pixel i < n,
// for every pixel i, on values shifted by its first channel k = x[i] (so
// that a large common offset does not cancel in float32),
//
//	m = Σ_ch (x − k) / c;  var = Σ_ch (x − k − m)² / c
//	dst[ch·stride + i] = (x − k − m)·(1/sqrt(var + eps))·w[ch] + b[ch]
//
// Its twin LayerNorm2dPixelsGo is the definition; the SIMD version takes
// 16, then 8 pixels at a time, the last few with masked loads and stores,
// and sums the squares with fused multiply-adds. dst may alias x.
func LayerNorm2dPixels(dst, x, w, b []float32, c, stride, n int, eps float32) {
	if c <= 0 || n <= 0 {
		return
	}
	if n > stride || len(x) < (c-1)*stride+n || len(dst) < (c-1)*stride+n || len(w) < c || len(b) < c {
		panic(fmt.Sprintf("asm: LayerNorm2dPixels c %d, stride %d, n %d: len(x) %d, len(dst) %d, len(w) %d, len(b) %d",
			c, stride, n, len(x), len(dst), len(w), len(b)))
	}
	layerNorm2dPixels(dst, x, w, b, c, stride, n, eps)
}

// LayerNorm2dPixelsGo is the pure-Go twin of LayerNorm2dPixels and its
// definition. Pixels go 64 at a time with channels outer, so that rows are
// read in order; per pixel the arithmetic is the formula's, channel by
// channel.
func LayerNorm2dPixelsGo(dst, x, w, b []float32, c, stride, n int, eps float32) {
	invC := 1 / float32(c)
	var k, m, q [64]float32
	for p0 := 0; p0 < n; p0 += 64 {
		np := min(64, n-p0)
		kk, mm, qq := k[:np], m[:np], q[:np]
		copy(kk, x[p0:p0+np])
		clear(mm)
		clear(qq)
		for ch := range c {
			row := x[ch*stride+p0 : ch*stride+p0+np]
			for i, v := range row {
				mm[i] += v - kk[i]
			}
		}
		for i := range mm {
			mm[i] *= invC
		}
		for ch := range c {
			row := x[ch*stride+p0 : ch*stride+p0+np]
			for i, v := range row {
				d := v - kk[i] - mm[i]
				qq[i] += d * d
			}
		}
		for i := range qq {
			qq[i] = 1 / float32(math.Sqrt(float64(qq[i]*invC+eps)))
		}
		for ch := range c {
			row := x[ch*stride+p0 : ch*stride+p0+np]
			out := dst[ch*stride+p0 : ch*stride+p0+np]
			for i, v := range row {
				out[i] = (v-kk[i]-mm[i])*qq[i]*w[ch] + b[ch]
			}
		}
	}
}

// Transpose writes the h×w row-major matrix src transposed into dst (w×h):
// dst[j·h + i] = src[i·w + j]. Its twin TransposeGo is the definition; the
// SIMD version moves 8×8 tiles through registers (the edge tiles with
// masked loads and stores). dst must not alias src.
func Transpose(dst, src []float32, h, w int) {
	if h < 0 || w < 0 || len(src) < h*w || len(dst) < h*w {
		panic(fmt.Sprintf("asm: Transpose %d×%d: len(src) %d, len(dst) %d", h, w, len(src), len(dst)))
	}
	if h == 0 || w == 0 {
		return
	}
	transpose(dst[:h*w], src[:h*w], h, w)
}

// TransposeGo is the pure-Go twin of Transpose and its definition.
func TransposeGo(dst, src []float32, h, w int) {
	for i := range h {
		for j, v := range src[i*w : i*w+w] {
			dst[j*h+i] = v
		}
	}
}

// DW3Row computes one output row of a 3×3, stride-1, pad-1 depthwise conv
// from the input rows above (r0), at (r1) and below (r2) it, all len(o)
// long: o[x] = b + Σ_i Σ_j w[3i+j]·r_i[x+j−1], summed in that order (bias,
// then the taps row by row, each product rounded), with zeros outside the
// row. Its twin DW3RowGo is the definition; the SIMD version computes
// eight interior outputs per step with the same operations (a multiply
// and an add per tap, no fused multiply-add).
func DW3Row(o, r0, r1, r2, w []float32, b float32) {
	n := len(o)
	if len(r0) < n || len(r1) < n || len(r2) < n || len(w) < 9 {
		panic(fmt.Sprintf("asm: DW3Row rows shorter than the output (%d): %d, %d, %d; %d weights", n, len(r0), len(r1), len(r2), len(w)))
	}
	if n == 0 {
		return
	}
	dw3Row(o, r0[:n], r1[:n], r2[:n], w[:9], b)
}

// DW3RowGo is the pure-Go twin of DW3Row and its definition (n ≥ 2: the
// first and last outputs skip the taps outside the row, which would add
// exact zeros).
func DW3RowGo(o, r0, r1, r2, w []float32, b float32) {
	n := len(o)
	if n == 1 { // only the middle column of taps lands inside
		o[0] = b + w[1]*r0[0] + w[4]*r1[0] + w[7]*r2[0]
		return
	}
	r0, r1, r2 = r0[:n], r1[:n], r2[:n]
	w = w[:9]
	w00, w01, w02, w10, w11, w12, w20, w21, w22 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	dw3First(o, r0, r1, r2, w, b)
	for x := 1; x+1 < n; x++ {
		a, c, e := r0[x-1:x+2:x+2], r1[x-1:x+2:x+2], r2[x-1:x+2:x+2]
		s := b
		s += w00 * a[0]
		s += w01 * a[1]
		s += w02 * a[2]
		s += w10 * c[0]
		s += w11 * c[1]
		s += w12 * c[2]
		s += w20 * e[0]
		s += w21 * e[1]
		s += w22 * e[2]
		o[x] = s
	}
	dw3Last(o, r0, r1, r2, w, b)
}

// dw3First is DW3RowGo's output x = 0 (the j = 0 taps fall outside).
func dw3First(o, r0, r1, r2, w []float32, b float32) {
	s := b
	s += w[1] * r0[0]
	s += w[2] * r0[1]
	s += w[4] * r1[0]
	s += w[5] * r1[1]
	s += w[7] * r2[0]
	s += w[8] * r2[1]
	o[0] = s
}

// dw3Last is DW3RowGo's output x = n−1 (the j = 2 taps fall outside).
func dw3Last(o, r0, r1, r2, w []float32, b float32) {
	n := len(o)
	s := b
	s += w[0] * r0[n-2]
	s += w[1] * r0[n-1]
	s += w[3] * r1[n-2]
	s += w[4] * r1[n-1]
	s += w[6] * r2[n-2]
	s += w[7] * r2[n-1]
	o[n-1] = s
}

// AddScalar adds v to every element of dst (a conv's bias). Its twin
// AddScalarGo is the definition.
func AddScalar(dst []float32, v float32) { addScalar(dst, v) }

// AddScalarGo is the pure-Go twin of AddScalar and its definition.
func AddScalarGo(dst []float32, v float32) {
	for i := range dst {
		dst[i] += v
	}
}

// Gather2 writes every second element of src into dst: dst[k] = src[2k]
// for k < len(dst) (the rows of a stride-2 im2col); src needs
// 2·len(dst) − 1 elements. Its twin Gather2Go is the definition.
func Gather2(dst, src []float32) {
	if n := len(dst); n > 0 && len(src) < 2*n-1 {
		panic(fmt.Sprintf("asm: Gather2 src has %d elements, %d outputs need %d", len(src), n, 2*n-1))
	}
	gather2(dst, src)
}

// Gather2Go is the pure-Go twin of Gather2 and its definition.
func Gather2Go(dst, src []float32) {
	for k := range dst {
		dst[k] = src[2*k]
	}
}

// DeltaRow writes dst[t] = Σ_r w[r]·x[r·stride + t] for t < len(dst): the
// Δ projection (dt_proj) of one channel, a row of w times len(w) rows of x,
// summed in r order with one fused multiply-add per term starting from 0,
// which is the GEMM micro-kernel's order for one depth block (so the SIMD
// version equals MatMul's element bit for bit). x needs
// (len(w)−1)·stride + len(dst) elements. Its twin DeltaRowGo is the
// definition.
func DeltaRow(dst, x []float32, stride int, w []float32) {
	n, r := len(dst), len(w)
	if n == 0 {
		return
	}
	if r == 0 {
		clear(dst)
		return
	}
	if stride < n || len(x) < (r-1)*stride+n {
		panic(fmt.Sprintf("asm: DeltaRow %d steps of %d rows: stride %d, len(x) %d", n, r, stride, len(x)))
	}
	deltaRow(dst, x, stride, w)
}

// DeltaRowGo is the pure-Go twin of DeltaRow and its definition (each term
// through math.FMA: the product is exact in float64, the sum rounded to
// float64 then to float32).
func DeltaRowGo(dst, x []float32, stride int, w []float32) {
	for t := range dst {
		var acc float32
		for r, wv := range w {
			acc = float32(math.FMA(float64(x[r*stride+t]), float64(wv), float64(acc)))
		}
		dst[t] = acc
	}
}
