package mamba

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// randomModel builds a model with the official initialisation
// (InitRandom) plus noise on the norms, D and the embedding scale so that no
// parameter is trivially 1 and a small model does not just repeat its
// input, prepared on the CPU.
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
	if err := m.InitRandom(seed); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, s := range m.slots() {
		t := *s.dst
		switch name := s.name; {
		case strings.HasSuffix(name, ".D"), strings.HasSuffix(name, "norm.weight"), strings.HasSuffix(name, "norm_f.weight"):
			for i := range t.Data {
				t.Data[i] += float32(rng.NormFloat64() * 0.1)
			}
		case strings.HasSuffix(name, "embeddings.weight"), name == "lm_head.weight":
			for i := range t.Data {
				t.Data[i] *= 5 // std 0.1
			}
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
