package asm

import (
	"fmt"
	"math"
)

// GateSum computes dst[i] = (a[i] + b[i])·silu(z[i]) for i < len(z): the
// two directions of a bidirectional Mamba mixer summed and gated once,
// where each direction gated alone would take two SiLU passes and an add
// pass. Its twin GateSumGo is the definition; the SIMD version (AVX2, also
// on AVX-512 CPUs) computes the gate with Silu's AVX2 instructions and
// agrees with the twin to a few ulp. dst may alias a or b.
func GateSum(dst, a, b, z []float32) {
	n := len(z)
	if len(dst) < n || len(a) < n || len(b) < n {
		panic(fmt.Sprintf("asm: GateSum operands too short: len(dst)=%d len(a)=%d len(b)=%d, len(z)=%d", len(dst), len(a), len(b), n))
	}
	gateSumVec(dst[:n], a[:n], b[:n], z)
}

// GateSumGo is the pure-Go twin of GateSum and its definition.
func GateSumGo(dst, a, b, z []float32) {
	for i, v := range z {
		dst[i] = (a[i] + b[i]) * (v / (1 + float32(math.Exp(float64(-v)))))
	}
}
