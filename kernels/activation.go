package kernels

import (
	"math"
	"strconv"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// expf is exp in float32 semantics (the float64 result rounded once), as
// PyTorch's float32 exp.
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// softplusf is PyTorch's softplus (beta 1, threshold 20): x above 20, else
// log1p(exp(x)).
func softplusf(x float32) float32 {
	if x > 20 {
		return x
	}
	return float32(math.Log1p(math.Exp(float64(x))))
}

// siluf is x·sigmoid(x) computed as x/(1+exp(−x)).
func siluf(x float32) float32 { return x / (1 + expf(-x)) }

// geluf is the exact GELU 0.5·x·(1+erf(x/√2)) with erff.
func geluf(x float32) float32 { return 0.5 * x * (1 + erff(x*0.70710678118654752)) }

// erff is erf in float32 arithmetic: a polynomial fit (erfSmall) for
// |z| < 1 and Abramowitz–Stegun 7.1.26 with
// fastExpf above (absolute error below 1.5e−7, the formula PyTorch's
// vectorised CPU erf uses, where erf ≥ 0.84). Relative error stays below
// about 3e−7 (TestErff).
func erff(z float32) float32 {
	az := z
	if az < 0 {
		az = -az
	}
	if az < 1 {
		return erfSmall(z)
	}
	if az > 9 {
		az = 9 // erf is 1 in float32 well before this; keeps exp finite
	}
	t := 1 / (1 + 0.3275911*az)
	q := float32(1.061405429)
	q = q*t - 1.453152027
	q = q*t + 1.421413741
	q = q*t - 0.284496736
	q = q*t + 0.254829592
	r := 1 - q*t*fastExpf(-az*az)
	if z < 0 {
		return -r
	}
	return r
}

// erfSmall is erff's branch for |z| < 1: z·P(z²) with P the degree-6
// Chebyshev fit of erf(z)/z on [0, 1] (relative error 1.4e−9 before float32
// rounding).
func erfSmall(z float32) float32 {
	w := z * z
	p := float32(7.882497022819735e-05)
	p = p*w - 0.0008018854965791889
	p = p*w + 0.0051893119395134595
	p = p*w - 0.0268543287943077
	p = p*w + 0.11283597463441998
	p = p*w - 0.37612626903575536
	p = p*w + 1.1283791658815012
	return z * p
}

// geluSlice writes the exact GELU of src[i] to dst[i] (dst may alias src)
// with asm.Gelu: erff's formulas (erfSmall below |z| = 1, A–S 7.1.26 above)
// evaluated 8 lanes at a time with AVX2+FMA, or its pure-Go twin asm.GeluGo
// without SIMD (-tags noasm, GOMAMBA_NOASM=1). Within 2e−7 relative of
// the float64 definition for x ≥ 0 and 1.5e−7·|x|/2 absolute below
// (TestGeluSliceAccuracy).
func geluSlice(dst, src []float32) { asm.Gelu(dst, src) }

// geluTanhf is the tanh approximation of GELU (PyTorch approximate="tanh").
func geluTanhf(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))))
}

// actf applies one activation to a scalar. Exponentials use the float32
// fastExpf family (≤ 2 ulp, the accuracy class of PyTorch's vectorised
// float32 math); GELU uses float64 erf/tanh rounded once.
func actf(act Activation, x float32) float32 {
	switch act {
	case ActNone:
		return x
	case ActSiLU:
		return fastSiluf(x)
	case ActGELU:
		return geluf(x)
	case ActGELUTanh:
		return geluTanhf(x)
	case ActSoftplus:
		return fastSoftplusf(x)
	case ActExp:
		return fastExpf(x)
	case ActSigmoid:
		return 1 / (1 + fastExpf(-x))
	case ActReLU:
		if x > 0 {
			return x
		}
		return 0
	case ActNegExp:
		return -fastExpf(x)
	}
	panic("kernels: unknown Activation " + act.String())
}

// applyAct writes act(src[i]) to dst[i]; dst may alias src. SiLU and
// Softplus use the vector kernels of kernels/internal/asm (a few ulp from
// the float64 definition; their Go twins elsewhere).
func applyAct(dst, src []float32, act Activation) {
	src = src[:len(dst)]
	switch act {
	case ActNone:
		copy(dst, src)
	case ActSiLU:
		asm.Silu(dst, src)
	case ActSoftplus:
		asm.Softplus(dst, src, 0)
	case ActGELU:
		geluSlice(dst, src)
	case ActExp:
		for i, v := range src {
			dst[i] = fastExpf(v)
		}
	case ActReLU:
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	default:
		for i, v := range src {
			dst[i] = actf(act, v)
		}
	}
}

// String names the activation as in PyTorch ("silu", "gelu", ...).
func (a Activation) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActSiLU:
		return "silu"
	case ActGELU:
		return "gelu"
	case ActGELUTanh:
		return "gelu_tanh"
	case ActSoftplus:
		return "softplus"
	case ActExp:
		return "exp"
	case ActSigmoid:
		return "sigmoid"
	case ActReLU:
		return "relu"
	case ActNegExp:
		return "neg_exp"
	}
	return "Activation(" + strconv.Itoa(int(a)) + ")"
}
