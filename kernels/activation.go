package kernels

import (
	"math"
	"strconv"
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

// geluf is the exact GELU 0.5·x·(1+erf(x/√2)).
func geluf(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
}

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

// applyAct writes act(src[i]) to dst[i]; dst may alias src.
func applyAct(dst, src []float32, act Activation) {
	src = src[:len(dst)]
	switch act {
	case ActNone:
		copy(dst, src)
	case ActSiLU:
		for i, v := range src {
			dst[i] = fastSiluf(v)
		}
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
