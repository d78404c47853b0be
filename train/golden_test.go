package train

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
)

// TestForwardMatchesOfficialVim runs the training forward on the official Vim
// parity fixture: the model we train must be the model the official code
// (and our inference path) runs.
func TestForwardMatchesOfficialVim(t *testing.T) {
	dir := golden.Dir(t, "vim")
	w, err := checkpoint.Open(filepath.Join(dir, "vim_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	x, err := io.Tensor("x")
	if err != nil {
		t.Fatal(err)
	}
	want, err := io.Tensor("logits")
	if err != nil {
		t.Fatal(err)
	}
	pe, _ := w.Info("patch_embed.proj.weight")
	pos, _ := w.Info("pos_embed")
	head, _ := w.Info("head.weight")
	alog, _ := w.Info("layers.0.mixer.A_log")
	depth := 0
	for {
		if _, ok := w.Info("layers." + strconv.Itoa(depth) + ".norm.weight"); !ok {
			break
		}
		depth++
	}
	img := x.Dim(2)
	c := Config{Name: "golden", InChans: pe.Shape[1], ImgSize: img, Patch: pe.Shape[2], Stride: pe.Shape[2], Dim: pe.Shape[0],
		Depth: depth, DState: alog.Shape[1], Classes: head.Shape[0], DConv: 4, Expand: 2, NormEps: 1e-5}
	if c.tokens() != pos.Shape[1] {
		t.Fatalf("fixture pos_embed %v does not fit %d tokens", pos.Shape, c.tokens())
	}
	p := NewParams[float32](c.Specs())
	for _, s := range p.Specs {
		v, err := w.Tensor(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if v.Len() != len(p.Get(s.Name)) {
			t.Fatalf("%s: fixture has %v, spec %v", s.Name, v.Shape(), s.Shape)
		}
		copy(p.Get(s.Name), v.Data)
	}
	s := newSample[float32](c)
	per := c.InChans * img * img
	worst := 0.0
	for b := 0; b < x.Dim(0); b++ {
		logits := s.forward(p, x.Data[b*per:(b+1)*per])
		for k, v := range logits {
			worst = math.Max(worst, math.Abs(float64(v-want.Data[b*c.Classes+k])))
		}
	}
	t.Logf("training forward vs official logits: max abs diff %.3g", worst)
	if worst > 1e-4 {
		t.Fatalf("max abs diff %.3g > 1e-4", worst)
	}
}
