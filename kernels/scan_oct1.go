package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

// The N = 1 scan (VMamba v2's d_state = 1) has a scalar state per channel,
// so there is no state vector to put in SIMD lanes. scanOct1 runs eight
// channels at once instead, in three passes over a block of steps:
//
//  1. per channel, vector code along time: Δ = softplus(delta + bias),
//     the decays exp(Δ·a), the inputs w = Δ·u·B and the gate silu(z);
//  2. the recurrence h = decay·h + w of the eight channels interleaved
//     (asm.Recur8: eight independent chains hide the latency of each step);
//  3. per channel, vector code along time: out = (h·C + dSkip·u)·gate.
//
// Per channel the arithmetic is scanChannel1Go's, operation for operation
// (w is (Δ·u)·B, then h·decay + w, then h·C + dSkip·u, then ·gate).

// useOct1 enables scanOct1 (tests and benchmarks switch it off to compare
// with the one-channel paths).
var useOct1 = true

// oct1Block is the number of steps one pass of scanOct1 stages.
const oct1Block = asm.Recur8Block

// onesBlock is a gate of ones, shared read-only by the scans and decode
// steps without z (scanOct1, stepRange16).
var onesBlock = func() (g [max(oct1Block, stepRowBlock)]float32) {
	for i := range g {
		g[i] = 1
	}
	return g
}()

// oct1Scratch is scanOct1's staging: Δ, decays, inputs (then states) and
// gates of eight channels for one block of steps (32 KiB, on the stack).
type oct1Scratch struct {
	dt, da, w, gate [8][oct1Block]float32
}

// scanOcts1 runs channels [ch, end) of the flattened (Bt, D) range eight at
// a time with scanOct1 and returns the first channel it left (the caller
// finishes the rest one by one). h holds the states of channels [ch, end).
// Without the SIMD kernels it leaves everything to the caller, whose
// per-channel path is the definition.
func scanOcts1(a *ScanArgs, lb, lc bcLayout, h []float32, d, l, ch, end int) int {
	if !useOct1 || !asm.Enabled() || end-ch < 8 {
		return ch
	}
	var sc oct1Scratch
	c := ch
	for ; c+8 <= end; c += 8 {
		scanOct1(&sc, a, lb, lc, (*[8]float32)(h[c-ch:c-ch+8]), d, l, c, nil)
	}
	return c
}

// scanOct1 runs the N = 1 scan of channels c … c+7 (flattened (Bt, D)
// indices), forward or (a.Reverse) backward in time, with states h. out
// may alias u or delta: every block of steps is read before it is written.
// With a.Accumulate, out += y (SelectiveScan's definition: y rounded,
// then one add: asm.Oct1OutAcc, or y into scratch then an add where C is
// strided), which only SelectiveScanDeltaProj passes here. With dp
// set, each channel's block of Δ is projected from dp's operands
// into scratch (asm.DeltaRow) instead of read from a.Delta, and the caller
// guarantees the fused Oct1Prep path (softplus, time-varying B).
func scanOct1(sc *oct1Scratch, a *ScanArgs, lb, lc bcLayout, h *[8]float32, d, l, c int, dp *deltaProj) {
	var ch [8]rows1
	for k := range 8 {
		ch[k] = channelRows1(a, lb, lc, d, l, c+k)
	}
	for s0 := 0; s0 < l; s0 += oct1Block {
		m := min(oct1Block, l-s0)
		lo, hi := s0, s0+m
		if a.Reverse {
			lo, hi = l-s0-m, l-s0
		}
		if a.Reverse && lo > 0 { // the next block down, see prefetchOct1
			prefetchOct1(&ch, dp, c, max(0, lo-oct1Block), lo)
		}
		for k := range 8 {
			if ch[k].z != nil {
				asm.Silu(sc.gate[k][:m], ch[k].z[lo:hi])
			}
			delta := ch[k].delta[lo:hi]
			if dp != nil {
				delta = sc.dt[k][:m]
				dp.block(delta, c+k, lo)
			}
			if a.DeltaSoftplus && ch[k].bStride == 1 { // one fused vector pass
				asm.Oct1Prep(sc.da[k][:m], sc.w[k][:m], delta, ch[k].u[lo:hi], ch[k].b[lo:hi], ch[k].dBias, ch[k].a)
				continue
			}
			decayBlock(sc.dt[k][:m], sc.da[k][:m], nil, ch[k].delta[lo:hi], nil, ch[k].a, ch[k].dBias, a.DeltaSoftplus)
			oct1Inputs(sc.w[k][:m], sc.dt[k][:m], ch[k].u[lo:hi], ch[k].b, lo, ch[k].bStride)
		}
		asm.Recur8(h, &sc.da, &sc.w, m, a.Reverse)
		for k := range 8 {
			gate := onesBlock[:m] // no z: a gate of ones, shared read-only
			if ch[k].z != nil {
				gate = sc.gate[k][:m]
			}
			out := ch[k].out[lo:hi]
			if a.Accumulate && ch[k].cStride == 1 { // out += y in one pass
				asm.Oct1OutAcc(out, sc.w[k][:m], ch[k].u[lo:hi], ch[k].c[lo:hi], gate, ch[k].dSkip)
				continue
			}
			if a.Accumulate { // y into the spent decays, then out += y
				out = sc.da[k][:m]
			}
			if ch[k].cStride == 1 {
				asm.Oct1Out(out, sc.w[k][:m], ch[k].u[lo:hi], ch[k].c[lo:hi], gate, ch[k].dSkip)
			} else {
				oct1Outputs(out, sc.w[k][:m], ch[k].u[lo:hi], ch[k].c, lo, ch[k].cStride, ch[k].dSkip, gate)
			}
			if a.Accumulate {
				addRow(ch[k].out[lo:hi], ch[k].out[lo:hi], out)
			}
		}
	}
}

// oct1Inputs writes w[i] = dt[i]·u[i]·b[(t0+i)·stride].
func oct1Inputs(w, dt, u, b []float32, t0, stride int) {
	dt, u = dt[:len(w)], u[:len(w)]
	if stride == 0 {
		bv := b[0]
		for i := range w {
			w[i] = dt[i] * u[i] * bv
		}
		return
	}
	b = b[t0 : t0+len(w)]
	for i := range w {
		w[i] = dt[i] * u[i] * b[i]
	}
}

// oct1Outputs writes out[i] = (h[i]·c[(t0+i)·stride] + dSkip·u[i])·gate[i].
// out may alias u.
func oct1Outputs(out, h, u, c []float32, t0, stride int, dSkip float32, gate []float32) {
	h, u, gate = h[:len(out)], u[:len(out)], gate[:len(out)]
	if stride == 0 {
		cv := c[0]
		for i := range out {
			out[i] = (h[i]*cv + dSkip*u[i]) * gate[i]
		}
		return
	}
	c = c[t0 : t0+len(out)]
	for i := range out {
		out[i] = (h[i]*c[i] + dSkip*u[i]) * gate[i]
	}
}

// prefetchOct1 prefetches steps [lo, hi) of the rows scanOct1 reads for
// channels c … c+7 (asm.Prefetch), so that a reverse scan finds its next
// block (the one below) in cache: the kernels walk each block upwards,
// which the hardware prefetchers follow within a block but not from one
// block down to the next. A reverse scan of vmamba-tiny's stage-1 shape
// (3136 steps) took 1.35-1.4× the forward one on the Zen 3 here, its
// oct1Prep and oct1Out waiting on memory.
func prefetchOct1(ch *[8]rows1, dp *deltaProj, c, lo, hi int) {
	for k := range ch {
		asm.Prefetch(ch[k].u[lo:hi])
		asm.Prefetch(ch[k].out[lo:hi])
		if ch[k].z != nil {
			asm.Prefetch(ch[k].z[lo:hi])
		}
		if dp == nil {
			asm.Prefetch(ch[k].delta[lo:hi])
		}
		// B and C rows of time-varying groups, once per group.
		if ch[k].bStride == 1 && (k == 0 || &ch[k].b[0] != &ch[k-1].b[0]) {
			asm.Prefetch(ch[k].b[lo:hi])
		}
		if ch[k].cStride == 1 && (k == 0 || &ch[k].c[0] != &ch[k-1].c[0]) {
			asm.Prefetch(ch[k].c[lo:hi])
		}
	}
	if dp != nil { // the rows of low of the octet's first and last group
		for _, g := range [2]int{c, c + 7} {
			b, dc := g/dp.d, g%dp.d
			base := (b*dp.g + dc/dp.per) * dp.r * dp.l
			for r := range dp.r {
				asm.Prefetch(dp.low[base+r*dp.l+lo : base+r*dp.l+hi])
			}
		}
	}
}
