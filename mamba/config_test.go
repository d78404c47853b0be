package mamba

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
)

// TestPresets checks the released shapes and parameter counts against the
// table in the spec (computed from the official checkpoints' shapes).
func TestPresets(t *testing.T) {
	cases := []struct {
		name                 string
		d, n, inner, rank, v int
		params               int64
	}{
		{"mamba-130m", 768, 24, 1536, 48, 50280, 129135360},
		{"mamba-370m", 1024, 48, 2048, 64, 50280, 371516416},
		{"mamba-790m", 1536, 48, 3072, 96, 50280, 793204224},
		{"mamba-1.4b", 2048, 48, 4096, 128, 50280, 1372178432},
		{"mamba-2.8b", 2560, 64, 5120, 160, 50280, 2768345600},
	}
	if got := len(PresetNames()); got != len(cases) {
		t.Errorf("%d presets, want %d", got, len(cases))
	}
	for _, tc := range cases {
		c, ok := Preset(tc.name)
		if !ok {
			t.Fatalf("preset %s missing", tc.name)
		}
		if err := c.Validate(); err != nil {
			t.Error(err)
		}
		if c.DModel != tc.d || c.NLayer != tc.n || c.Inner() != tc.inner || c.Rank() != tc.rank || c.PaddedVocab() != tc.v {
			t.Errorf("%s: d %d n %d inner %d rank %d vocab %d", tc.name, c.DModel, c.NLayer, c.Inner(), c.Rank(), c.PaddedVocab())
		}
		if p := c.Params(); p != tc.params {
			t.Errorf("%s: %d params, want %d", tc.name, p, tc.params)
		}
	}
	if _, ok := Preset("mamba-7b"); ok {
		t.Error("unknown preset found")
	}
}

// TestConfigLayouts reads both fixture configs and checks they describe the
// same model.
func TestConfigLayouts(t *testing.T) {
	for _, set := range lmFixtures(t) {
		hf, l1, err := LoadConfig(filepath.Join(set, "hf"))
		if err != nil {
			t.Fatal(err)
		}
		ssm, l2, err := LoadConfig(filepath.Join(set, "mamba_ssm"))
		if err != nil {
			t.Fatal(err)
		}
		if l1 != LayoutHF || l2 != LayoutMambaSSM {
			t.Errorf("%s: layouts %s, %s", set, l1, l2)
		}
		if hf.PaddedVocab() != ssm.PaddedVocab() || hf.DModel != ssm.DModel || hf.NLayer != ssm.NLayer ||
			hf.Inner() != ssm.Inner() || hf.Rank() != ssm.Rank() || hf.DState != ssm.DState || hf.DConv != ssm.DConv {
			t.Errorf("%s: configs differ:\n hf  %+v\n ssm %+v", set, hf, ssm)
		}
	}
}

// FuzzParseConfig feeds arbitrary JSON to the config parser: it must never
// panic, and an accepted config must validate.
func FuzzParseConfig(f *testing.F) {
	for _, sub := range []string{"mamba_lm", "mambabyte"} {
		for _, l := range []string{"hf", "mamba_ssm"} {
			if b, err := os.ReadFile(filepath.Join(golden.Root(), sub, l, "config.json")); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {"d_state": 8, "dt_rank": 12}}`))
	f.Add([]byte(`{"hidden_size": 64, "num_hidden_layers": 1, "vocab_size": 10, "time_step_rank": "auto", "eos_token_id": [0]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		_ = c.Params()
	})
}
