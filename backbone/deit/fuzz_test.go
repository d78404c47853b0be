package deit

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
)

// fakeHeader serves tensor shapes without data.
type fakeHeader map[string][]int

func (h fakeHeader) Names() []string {
	var n []string
	for k := range h {
		n = append(n, k)
	}
	return n
}

func (h fakeHeader) Info(name string) (checkpoint.TensorInfo, bool) {
	s, ok := h[name]
	return checkpoint.TensorInfo{Shape: s, DType: "F32"}, ok
}

// FuzzInferConfig feeds arbitrary tensor shapes and config.json bytes to the
// sidecar parser and the config inference: they must never panic, and an
// accepted config must validate and agree with the shapes it came from.
func FuzzInferConfig(f *testing.F) {
	dir := golden.Dir(f, "deit")
	ck, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	m := map[string][]int{}
	for _, n := range ck.Names() {
		ti, _ := ck.Info(n)
		m[n] = ti.Shape
	}
	ck.Close()
	shapes, _ := json.Marshal(m)
	f.Add(shapes, []byte(`{"timm_kwargs": {"num_heads": 2}}`))
	f.Add(shapes, []byte(`{"num_heads": 0, "img_size": [64, 64]}`))
	f.Add(shapes, []byte(`{"model_args": {"num_heads": 2, "img_size": [64, 32]}, "pretrained_cfg": {"input_size": [3, -1, 5], "std": [0]}}`))
	f.Add(shapes, []byte(`{"architecture": "deit_tiny_patch16_224", "pretrained_cfg": {"crop_pct": 2}}`))
	f.Add([]byte(`{"patch_embed.proj.weight": [0, 3, 16, 16], "cls_token": [1], "pos_embed": [1, 1, 0], "blocks.0.attn.qkv.weight": [0, 0], "blocks.0.mlp.fc1.weight": [1]}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, shapeJSON, sidecar []byte) {
		var h fakeHeader
		if json.Unmarshal(shapeJSON, &h) != nil {
			return
		}
		sc, err := ParseSidecar(sidecar, "config.json")
		if err != nil {
			return
		}
		cfg, err := InferConfig(h, sc)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		if pe := h["pos_embed"]; pe[1] != cfg.PosRows() {
			t.Fatalf("pos_embed %v but config needs %d rows", pe, cfg.PosRows())
		}
	})
}
