package vim

import (
	"encoding/json"
	"os"
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

// FuzzInferConfig feeds arbitrary shapes and config.json bytes to the config
// inference: it must never panic, and an accepted config must validate.
func FuzzInferConfig(f *testing.F) {
	seedShapes := func(path string) []byte {
		ck, err := checkpoint.Open(path)
		if err != nil {
			return nil
		}
		defer ck.Close()
		m := map[string][]int{}
		for _, n := range ck.Names() {
			ti, _ := ck.Info(n)
			m[n] = ti.Shape
		}
		b, _ := json.Marshal(m)
		return b
	}
	dir := golden.Dir(f, "vim")
	shapes := seedShapes(filepath.Join(dir, "vim_model.safetensors"))
	f.Add(shapes, []byte(`{"stride": 16}`))
	f.Add(shapes, []byte(`{"model_kwargs": {"img_size": 0, "stride": 0}}`))
	f.Add(shapes, []byte(`{"stride": -3, "img_size": 7}`))
	f.Add([]byte(`{"patch_embed.proj.weight":[0,3,16,16],"layers.0.mixer.in_proj.weight":[0,0],"layers.0.mixer.A_b_log":[1,1],"pos_embed":[1,1,0]}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, shapeJSON, side []byte) {
		var m map[string][]int
		if json.Unmarshal(shapeJSON, &m) != nil {
			return
		}
		var sc SidecarConfig
		if json.Unmarshal(side, &sc) != nil {
			return
		}
		cfg, err := InferConfig(fakeHeader(m), &sc)
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Fatalf("accepted an invalid config: %v", err)
			}
		}
	})
}

func TestReadSidecarErrors(t *testing.T) {
	dir := t.TempDir()
	sc, err := ReadSidecar(dir)
	if err != nil || sc != nil {
		t.Fatalf("missing config.json: %v %v", sc, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSidecar(dir); err == nil {
		t.Fatal("bad JSON accepted")
	}
}
