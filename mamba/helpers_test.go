package mamba

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// randomModel builds a model of the given shape with the official
// initialisation's distributions (uniform linear layers, A_log = log(1..N),
// D = 1, dt bias = softplus⁻¹ of a log-uniform dt in [1e-3, 0.1]) plus small
// noise on the norms, prepared on the CPU.
func randomModel(tb testing.TB, cfg Config, seed uint64) *Model {
	tb.Helper()
	return randomModelOn(tb, cfg, seed, kernels.CPU())
}

// randomModelOn is randomModel prepared on be.
func randomModelOn(tb testing.TB, cfg Config, seed uint64, be kernels.Backend) *Model {
	tb.Helper()
	m, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	uni := func(t *kernels.Tensor, a float64) {
		for i := range t.Data {
			t.Data[i] = float32((rng.Float64()*2 - 1) * a)
		}
	}
	for name, t := range m.HostTensors() {
		switch {
		case strings.HasSuffix(name, "A_log"):
			n := t.Dim(1)
			for i := range t.Data {
				t.Data[i] = float32(math.Log(float64(i%n + 1)))
			}
		case strings.HasSuffix(name, ".D"):
			for i := range t.Data {
				t.Data[i] = 1 + float32(rng.NormFloat64()*0.1)
			}
		case strings.HasSuffix(name, "dt_proj.bias"):
			for i := range t.Data {
				dt := math.Exp(rng.Float64()*(math.Log(0.1)-math.Log(1e-3)) + math.Log(1e-3))
				t.Data[i] = float32(dt + math.Log(-math.Expm1(-dt)))
			}
		case strings.HasSuffix(name, "norm.weight"), strings.HasSuffix(name, "norm_f.weight"):
			for i := range t.Data {
				t.Data[i] = 1 + float32(rng.NormFloat64()*0.1)
			}
		case strings.HasSuffix(name, "embeddings.weight"), name == "lm_head.weight":
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * 0.1)
			}
		case t.Rank() == 1:
			uni(t, 0.1)
		default:
			fanIn := t.Len() / t.Dim(0)
			uni(t, 1/math.Sqrt(float64(fanIn)))
		}
	}
	if err := m.Prepare(be); err != nil {
		tb.Fatal(err)
	}
	return m
}

func smallConfig() Config {
	return Config{DModel: 32, NLayer: 3, VocabSize: 61, PadVocabMultiple: 8, DState: 8, DConv: 4, Expand: 2,
		NormEps: 1e-5, ConvBias: true, TieEmbeddings: true, EOSTokenID: -1}
}

// maxDiff returns max |a-b| and fails on a shape mismatch.
func maxDiff(t *testing.T, what string, want, got *kernels.Tensor) float64 {
	t.Helper()
	if !kernels.EqualShape(want.Shape(), got.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	md := 0.0
	for i := range want.Data {
		d := math.Abs(float64(want.Data[i] - got.Data[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		md = max(md, d)
	}
	return md
}
