package mamba

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// rawTensor is a tensor written byte for byte by writeSafetensors.
type rawTensor struct {
	name, dtype string
	shape       []int
	data        []byte
}

func f32Raw(name string, t *kernels.Tensor) rawTensor {
	b := make([]byte, 4*len(t.Data))
	for i, v := range t.Data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return rawTensor{name, "F32", append([]int(nil), t.Shape()...), b}
}

// writeSafetensors writes a safetensors file with arbitrary dtypes.
func writeSafetensors(t *testing.T, path string, ts []rawTensor) {
	t.Helper()
	header := map[string]any{}
	var data []byte
	for _, x := range ts {
		header[x.name] = map[string]any{"dtype": x.dtype, "shape": x.shape, "data_offsets": []int{len(data), len(data) + len(x.data)}}
		data = append(data, x.data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureTensors reads every tensor of the mamba_lm hf checkpoint.
func fixtureTensors(t *testing.T) (config []byte, ts []rawTensor) {
	t.Helper()
	dir := filepath.Join(golden.Dir(t, "mamba_lm"), "hf")
	config, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, n := range f.Names() {
		x, err := f.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, f32Raw(n, x))
	}
	return config, ts
}

// modelDir writes a checkpoint folder from a config and tensors.
func modelDir(t *testing.T, config []byte, ts []rawTensor) string {
	t.Helper()
	dir := t.TempDir()
	if config != nil {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ts != nil {
		writeSafetensors(t, filepath.Join(dir, "model.safetensors"), ts)
	}
	return dir
}

// editConfig returns config with keys set (nil deletes).
func editConfig(t *testing.T, config []byte, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(config, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func TestLoadErrors(t *testing.T) {
	cfg, ts := fixtureTensors(t)
	without := func(name string) []rawTensor {
		var out []rawTensor
		for _, x := range ts {
			if x.name != name {
				out = append(out, x)
			}
		}
		return out
	}
	replace := func(name string, r rawTensor) []rawTensor {
		out := without(name)
		return append(out, r)
	}
	emb := ts[0]
	if emb.name != "backbone.embeddings.weight" {
		t.Fatalf("first fixture tensor is %s", emb.name)
	}
	cases := []struct {
		name   string
		config []byte
		ts     []rawTensor
		want   []string // substrings of the error
		bind   func(t *testing.T, be *checkpoint.BindError)
	}{
		{"no config", nil, ts, []string{"config.json", "no such file"}, nil},
		{"invalid json", []byte(`{"hidden_size": 64,`), ts, []string{"config.json"}, nil},
		{"not a config", []byte(`{"foo": 1}`), ts, []string{"neither"}, nil},
		{"zero d_model", editConfig(t, cfg, map[string]any{"hidden_size": 0}), ts, []string{"d_model = 0"}, nil},
		{"no layers key", editConfig(t, cfg, map[string]any{"num_hidden_layers": nil}), ts, []string{"num_hidden_layers"}, nil},
		{"mamba2", editConfig(t, cfg, map[string]any{"model_type": "mamba2"}), ts, []string{"mamba2", "not supported"}, nil},
		{"gelu", editConfig(t, cfg, map[string]any{"hidden_act": "gelu"}), ts, []string{"hidden_act"}, nil},
		{"unknown config dtype", editConfig(t, cfg, map[string]any{"dtype": "int4"}), ts, []string{"unknown dtype", "int4"}, nil},
		{"bad rank", editConfig(t, cfg, map[string]any{"time_step_rank": "big"}), ts, []string{"time_step_rank"}, nil},
		{"ssm: no d_model", []byte(`{"n_layer": 2, "vocab_size": 300, "d_model": null}`), ts, []string{"d_model, n_layer and vocab_size are required"}, nil},
		{"ssm: Mamba2", []byte(`{"d_model": 64, "n_layer": 2, "vocab_size": 300, "ssm_cfg": {"layer": "Mamba2"}}`), ts, []string{"Mamba2", "not supported"}, nil},
		{"ssm: MLP", []byte(`{"d_model": 64, "n_layer": 2, "vocab_size": 300, "d_intermediate": 256}`), ts, []string{"d_intermediate"}, nil},
		{"ssm: bad d_state", []byte(`{"d_model": 64, "n_layer": 2, "vocab_size": 300, "ssm_cfg": {"d_state": 1.5}}`), ts, []string{"ssm_cfg.d_state"}, nil},
		{"ssm: layout keys in hf file", []byte(`{"d_model": 64, "n_layer": 2, "vocab_size": 300}`), ts, []string{"missing", "backbone.embedding.weight", "unexpected", "backbone.embeddings.weight"}, nil},
		{"no weights", cfg, nil, []string{"no model.safetensors"}, nil},
		{"missing key", cfg, without("backbone.layers.1.mixer.D"), []string{"missing", "backbone.layers.1.mixer.D"},
			func(t *testing.T, be *checkpoint.BindError) {
				if len(be.Missing) != 1 || be.Missing[0] != "backbone.layers.1.mixer.D" {
					t.Errorf("Missing = %v", be.Missing)
				}
			}},
		{"unexpected key", cfg, append(append([]rawTensor(nil), ts...), f32Raw("backbone.layers.0.mixer.extra", kernels.New(3))), []string{"unexpected", "extra"}, nil},
		{"shape mismatch (config)", editConfig(t, cfg, map[string]any{"state_size": 8}), ts, []string{"shape mismatch", "A_log"},
			func(t *testing.T, be *checkpoint.BindError) {
				// A_log and x_proj of both layers are wrong; all reported at once.
				if len(be.Mismatched) != 4 {
					t.Errorf("Mismatched = %v, want 4 entries", be.Mismatched)
				}
			}},
		{"shape mismatch (tensor)", cfg, replace("backbone.norm_f.weight", f32Raw("backbone.norm_f.weight", kernels.New(63))), []string{"norm_f", "[64]", "63"}, nil},
		{"int dtype", cfg, replace("backbone.layers.0.mixer.D", rawTensor{"backbone.layers.0.mixer.D", "I64", []int{128}, make([]byte, 8*128)}), []string{"I64"}, nil},
		{"unknown dtype", cfg, replace("backbone.layers.0.mixer.D", rawTensor{"backbone.layers.0.mixer.D", "Q4K", []int{128}, make([]byte, 64)}), []string{"Q4K"}, nil},
		{"tied head alias differs", cfg, append(append([]rawTensor(nil), ts...), rawTensor{"lm_head.weight", "F32", emb.shape, make([]byte, len(emb.data))}), []string{"lm_head.weight differs"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := modelDir(t, tc.config, tc.ts)
			m, err := Load(dir, nil)
			if err == nil {
				t.Fatalf("Load succeeded (%v), want an error", m.Config)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if !strings.Contains(msg, "mamba") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			var be *checkpoint.BindError
			if tc.bind != nil {
				if !errors.As(err, &be) {
					t.Fatalf("error %q is not a *checkpoint.BindError", msg)
				}
				tc.bind(t, be)
			}
			t.Log(msg)
		})
	}
}

// TestLoadSharded splits the fixture into two shards with an index and
// checks that the logits are unchanged; a tied lm_head alias is accepted.
func TestLoadSharded(t *testing.T) {
	cfg, ts := fixtureTensors(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
	half := len(ts) / 2
	alias := ts[0]
	alias.name = "lm_head.weight"
	shards := map[string][]rawTensor{"model-00001-of-00002.safetensors": ts[:half], "model-00002-of-00002.safetensors": append(append([]rawTensor(nil), ts[half:]...), alias)}
	wm := map[string]string{}
	for file, part := range shards {
		writeSafetensors(t, filepath.Join(dir, file), part)
		for _, x := range part {
			wm[x.name] = file
		}
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": wm})
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644)
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := golden.Dir(t, "mamba_lm")
	io := openFixture(t, filepath.Join(set, "io.safetensors"))
	logits, err := m.Forward(context.Background(), io.ids(t, "input_ids"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(t, "logits", io.tensor(t, "logits"), logits); d > tol {
		t.Errorf("sharded: logits max |diff| %.3g", d)
	}
}
