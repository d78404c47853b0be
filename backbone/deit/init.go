package deit

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomamba/gomamba/kernels"
)

// NewRandom builds a model of configuration cfg on be with weights drawn
// like timm's VisionTransformer init: truncated-normal(0.02) linears, head,
// position table and patch projection, cls token at std 1e-6, LayerNorm
// weights 1 and zero biases. It serves benchmarks and tests; the same seed
// gives the same weights.
func NewRandom(cfg Config, be kernels.Backend, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, params := skeleton(cfg)
	rng := rand.New(rand.NewPCG(seed, 0x5deadbeef))
	trunc := func(t *kernels.Tensor, std float64) {
		for i := range t.Data {
			v := rng.NormFloat64()
			for math.Abs(v) > 2 {
				v = rng.NormFloat64()
			}
			t.Data[i] = float32(v * std)
		}
	}
	for _, p := range params {
		t := kernels.New(p.shape...)
		switch {
		case p.name == "cls_token":
			trunc(t, 1e-6)
		case strings.HasSuffix(p.name, ".weight") && len(p.shape) == 1: // LayerNorm
			for i := range t.Data {
				t.Data[i] = 1
			}
		case len(p.shape) == 1: // biases
		default:
			trunc(t, 0.02)
		}
		*p.dst = t
	}
	m.finish(be)
	return m, nil
}
