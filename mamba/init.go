package mamba

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomamba/gomamba/kernels"
)

// InitRandom fills the weights of an unprepared model (from New) with the
// official initialisation of state-spaces/mamba (Mamba.__init__ and
// MixerModel._init_weights): linear layers and the conv uniform in
// ±1/√fan_in (PyTorch's default), dt_proj.weight uniform in ±dt_rank^-½,
// dt_proj.bias = softplus⁻¹(dt) with dt log-uniform in [1e-3, 0.1] (floor
// 1e-4), A_log = log(1..N), D = 1, norms = 1, embedding N(0, 0.02²) and
// out_proj.weight divided by √n_layer (rescale_prenorm_residual). It is
// deterministic for a seed: use it for training from scratch or for
// benchmarks with the released shapes, not for meaningful text.
func (m *Model) InitRandom(seed uint64) error {
	if m.prepared {
		return fmt.Errorf("mamba: InitRandom on a prepared model")
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d616d6261))
	uni := func(t *kernels.Tensor, bound float64) {
		for i := range t.Data {
			t.Data[i] = float32((rng.Float64()*2 - 1) * bound)
		}
	}
	for _, s := range m.slots() { // fixed order: deterministic
		t := *s.dst
		if t == nil || t.Data == nil {
			return fmt.Errorf("mamba: InitRandom: weight %s is not allocated (use New)", s.name)
		}
		fanIn := 1
		if t.Rank() > 1 {
			fanIn = t.Len() / t.Dim(0)
		}
		switch name := s.name; {
		case strings.HasSuffix(name, "A_log"):
			n := t.Dim(1)
			for i := range t.Data {
				t.Data[i] = float32(math.Log(float64(i%n + 1)))
			}
		case strings.HasSuffix(name, ".D"), strings.HasSuffix(name, "norm.weight"), strings.HasSuffix(name, "norm_f.weight"):
			for i := range t.Data {
				t.Data[i] = 1
			}
		case strings.HasSuffix(name, "dt_proj.weight"):
			uni(t, 1/math.Sqrt(float64(m.Config.Rank())))
		case strings.HasSuffix(name, "dt_proj.bias"):
			lo, hi := math.Log(1e-3), math.Log(0.1)
			for i := range t.Data {
				dt := math.Max(math.Exp(rng.Float64()*(hi-lo)+lo), 1e-4)
				t.Data[i] = float32(dt + math.Log(-math.Expm1(-dt)))
			}
		case strings.HasSuffix(name, "embeddings.weight"), name == "lm_head.weight":
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * 0.02)
			}
		case strings.HasSuffix(name, "conv1d.weight"), strings.HasSuffix(name, "conv1d.bias"):
			uni(t, 1/math.Sqrt(float64(m.Config.DConv)))
		case strings.HasSuffix(name, "in_proj.bias"), strings.HasSuffix(name, "out_proj.bias"):
			clear(t.Data)
		case strings.HasSuffix(name, "out_proj.weight"):
			uni(t, 1/math.Sqrt(float64(fanIn))/math.Sqrt(float64(m.Config.NLayer)))
		default:
			uni(t, 1/math.Sqrt(float64(fanIn)))
		}
	}
	return nil
}
