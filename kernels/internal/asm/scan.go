package asm

import (
	"fmt"
	"math"
)

// ScanStates16 runs the selective-scan recurrence of one channel with
// N = 16 states over len(dt) steps, given the step sizes dt (already biased
// and passed through softplus) and the output gate. Its twin
// ScanStates16Go is the definition:
//
//	h_n    = exp(dt[t]·a_n)·h_n + dt[t]·u[t]·b[t·bStride+n]
//	out[t] = (Σ_n h_n·c[t·cStride+n] + dSkip·u[t])·gate[t]
//
// h (16) is updated in place; out may alias u. The SIMD version computes
// the decay as 2^(dt[t]·a2_n) with a2 = a·log2e rounded once per call and
// a degree-6 polynomial for 2^f on [−½, ½] (≤ 1.3 ulp): no Cody–Waite
// reduction. The argument y = dt·a2 then carries two roundings (≤ 1.2e−7
// relative) where fl(dt·a) has one: a relative change of Δ·A of the size
// of float32 rounding, which perturbs the states by ~1e−7 relative
// whatever the decay. The AVX2 version clamps y to [−124, 127.39]
// (exp(dt·a) below −86 gives 2^−124 ≈ 4.7e−38, as before); the AVX-512
// version scales with VSCALEFPS and needs no clamp. It sums over n in a
// different order.
func ScanStates16(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	if !scanStates16OK(h, a, dt, u, gate, out, b, c, bStride, cStride) {
		panic(fmt.Sprintf("asm: ScanStates16 bad operands: len(h)=%d len(a)=%d steps=%d len(u)=%d len(gate)=%d len(out)=%d len(b)=%d/%d len(c)=%d/%d",
			len(h), len(a), len(dt), len(u), len(gate), len(out), len(b), bStride, len(c), cStride))
	}
	if len(dt) == 0 {
		return
	}
	scanStates16(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip, false)
}

// ScanStates16Rev is ScanStates16 run backwards in time: the steps are
// taken from t = len(dt)−1 down to 0, and step s = len(dt)−1−t reads B and
// C at b[s·bStride] and c[s·cStride] (time-major in the order of the
// steps, as a reversed transposition writes them). Its twin
// ScanStates16RevGo is the definition. The SIMD versions walk dt, u, gate
// and out backwards in place (no reversed copies); out may alias u.
func ScanStates16Rev(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	if !scanStates16OK(h, a, dt, u, gate, out, b, c, bStride, cStride) {
		panic(fmt.Sprintf("asm: ScanStates16Rev bad operands: len(h)=%d len(a)=%d steps=%d len(u)=%d len(gate)=%d len(out)=%d len(b)=%d/%d len(c)=%d/%d",
			len(h), len(a), len(dt), len(u), len(gate), len(out), len(b), bStride, len(c), cStride))
	}
	if len(dt) == 0 {
		return
	}
	scanStates16(h, a, dt, u, gate, out, b, c, bStride, cStride, dSkip, true)
}

// scanStates16OK reports whether the operands of ScanStates16(Rev) have
// the lengths the kernels read and write.
func scanStates16OK(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int) bool {
	steps := len(dt)
	return len(h) == 16 && len(a) == 16 && len(u) >= steps && len(gate) >= steps && len(out) >= steps &&
		bStride >= 0 && cStride >= 0 && (steps == 0 || (len(b) >= (steps-1)*bStride+16 && len(c) >= (steps-1)*cStride+16))
}

// ScanStates16Go is the pure-Go twin of ScanStates16 and its definition.
func ScanStates16Go(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	for t, d := range dt {
		out[t] = scanStep16(h, a, d, u[t], gate[t], b[t*bStride:t*bStride+16], c[t*cStride:t*cStride+16], dSkip)
	}
}

// ScanStates16RevGo is the pure-Go twin of ScanStates16Rev and its
// definition.
func ScanStates16RevGo(h, a, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	for s := range dt {
		t := len(dt) - 1 - s
		out[t] = scanStep16(h, a, dt[t], u[t], gate[t], b[s*bStride:s*bStride+16], c[s*cStride:s*cStride+16], dSkip)
	}
}

// scanStep16 advances the 16 states h by one step (decay exp(d·a_n) in
// float64, rounded to float32) and returns the gated output.
func scanStep16(h, a []float32, d, uv, gate float32, br, cr []float32, dSkip float32) float32 {
	du := d * uv
	var y float32
	for n := range 16 {
		h[n] = float32(math.Exp(float64(d*a[n])))*h[n] + du*br[n]
		y += h[n] * cr[n]
	}
	return (y + dSkip*uv) * gate
}

// Softplus computes dst[i] = softplus(src[i] + bias), PyTorch's softplus
// (threshold 20: x above 20 stays x). Its twin SoftplusGo is the definition.
// The SIMD version evaluates max(x, 0) + log1p(exp(−|x|)) with log1p(t) =
// t·S(t), S a degree-9 polynomial on t ∈ (0, 1] (no logarithm, no
// division; above 20 the sum rounds to x), and agrees within 4 ulp (2e−7
// relative). dst may alias src.
func Softplus(dst, src []float32, bias float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("asm: Softplus dst too short: %d < %d", len(dst), len(src)))
	}
	softplusVec(dst[:len(src)], src, bias)
}

// SoftplusGo is the pure-Go twin of Softplus and its definition.
func SoftplusGo(dst, src []float32, bias float32) {
	for i, v := range src {
		x := v + bias
		if x > 20 {
			dst[i] = x
		} else {
			dst[i] = float32(math.Log1p(math.Exp(float64(x))))
		}
	}
}

// Silu computes dst[i] = src[i]/(1 + exp(−src[i])). Its twin SiluGo is the
// definition; the SIMD version agrees to a few ulp. dst may alias src.
func Silu(dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("asm: Silu dst too short: %d < %d", len(dst), len(src)))
	}
	siluVec(dst[:len(src)], src)
}

// SiluGo is the pure-Go twin of Silu and its definition.
func SiluGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = v / (1 + float32(math.Exp(float64(-v))))
	}
}

// Exp computes dst[i] = exp(src[i]). Its twin ExpGo is the definition; the
// SIMD version is fastExpf's polynomial (within 2 ulp on [−86, 88.3];
// arguments below −86 give exp(−86) ≈ 4e−38, above 88.3 give exp(88.3)).
// dst may alias src.
func Exp(dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("asm: Exp dst too short: %d < %d", len(dst), len(src)))
	}
	expVec(dst[:len(src)], src)
}

// ExpGo is the pure-Go twin of Exp.
func ExpGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// ScanState1 runs the selective-scan recurrence of one channel with a single
// state (N = 1, VMamba v2) over len(da) steps, given the decays
// da[t] = exp(Δ[t]·a), the step sizes dt and the output gate. Its twin
// ScanState1Go is the definition:
//
//	h      = da[t]·h + dt[t]·u[t]·b[t·bStride]
//	out[t] = (h·c[t·cStride] + dSkip·u[t])·gate[t]
//
// h (1) is updated in place; out may alias u. The SIMD version fuses the
// state update into one multiply-add.
func ScanState1(h, da, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	steps := len(da)
	if len(h) != 1 || len(dt) < steps || len(u) < steps || len(gate) < steps || len(out) < steps ||
		bStride < 0 || cStride < 0 || (steps > 0 && (len(b) < (steps-1)*bStride+1 || len(c) < (steps-1)*cStride+1)) {
		panic(fmt.Sprintf("asm: ScanState1 bad operands: len(h)=%d steps=%d len(dt)=%d len(u)=%d len(gate)=%d len(out)=%d len(b)=%d/%d len(c)=%d/%d",
			len(h), steps, len(dt), len(u), len(gate), len(out), len(b), bStride, len(c), cStride))
	}
	if steps == 0 {
		return
	}
	scanState1(h, da, dt, u, gate, out, b, c, bStride, cStride, dSkip)
}

// ScanState1Go is the pure-Go twin of ScanState1 and its definition.
func ScanState1Go(h, da, dt, u, gate, out, b, c []float32, bStride, cStride int, dSkip float32) {
	hv := h[0]
	for t, d := range da {
		uv := u[t]
		hv = d*hv + dt[t]*uv*b[t*bStride]
		out[t] = (hv*c[t*cStride] + dSkip*uv) * gate[t]
	}
	h[0] = hv
}

// Gelu computes the exact GELU dst[i] = 0.5·x·(1 + erf(x/√2)) of x = src[i]
// in float32 arithmetic. Its twin GeluGo is the definition: erf(z) is
// z·P(z²) (a degree-6 Chebyshev fit of erf(z)/z) for |z| < 1 and
// Abramowitz–Stegun 7.1.26, 1 − t·Q(t)·exp(−z²) with t = 1/(1 + 0.3275911|z|)
// (absolute error below 1.5e−7), above; exp's argument is clamped to −81
// (erf(9) is 1 in float32). The SIMD version evaluates the same formulas 8
// lanes at a time with FMAs and fastExpf's polynomial for exp, agreeing with
// GeluGo to a few ulp of erf. dst may alias src.
func Gelu(dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("asm: Gelu dst too short: %d < %d", len(dst), len(src)))
	}
	geluVec(dst[:len(src)], src)
}

// GeluGo is the pure-Go twin of Gelu and its definition.
func GeluGo(dst, src []float32) {
	for i, x := range src {
		z := x * 0.70710678118654752
		az := z
		if az < 0 {
			az = -az
		}
		var r float32
		if az < 1 {
			w := z * z
			p := float32(7.882497022819735e-05)
			p = p*w - 0.0008018854965791889
			p = p*w + 0.0051893119395134595
			p = p*w - 0.0268543287943077
			p = p*w + 0.11283597463441998
			p = p*w - 0.37612626903575536
			p = p*w + 1.1283791658815012
			r = z * p
		} else {
			e := min(az, 9)
			ex := float32(math.Exp(float64(-(e * e))))
			t := 1 / (1 + 0.3275911*az)
			q := float32(1.061405429)
			q = q*t - 1.453152027
			q = q*t + 1.421413741
			q = q*t - 0.284496736
			q = q*t + 0.254829592
			r = 1 - q*t*ex
			if z < 0 {
				r = -r
			}
		}
		dst[i] = 0.5 * x * (1 + r)
	}
}
