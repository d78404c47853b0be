package train

import (
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/vision"
	"github.com/gomamba/gomamba/vision/builtin"
)

// TestBuiltinInferenceMatchesTraining checks that the embedded default model
// gives the same logits through the inference path (vision, Backend ops)
// as through the training forward that produced it, on real test images.
func TestBuiltinInferenceMatchesTraining(t *testing.T) {
	m, err := vision.Default()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(builtin.Files(), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	var mc ModelConfigFile
	if err := json.Unmarshal(raw, &mc); err != nil {
		t.Fatal(err)
	}
	c := Config{Name: mc.Name, InChans: mc.Channels, ImgSize: mc.ImgSize, Patch: mc.PatchSize, Stride: mc.Stride, Dim: mc.EmbedDim,
		Depth: mc.Depth, DState: mc.DState, Classes: mc.NumClasses, DConv: 4, Expand: 2, NormEps: mc.NormEpsilon}
	p := NewParams[float32](c.Specs())
	dir := t.TempDir()
	b, _ := fs.ReadFile(builtin.Files(), "model.safetensors")
	path := dir + "/m.safetensors"
	if err := writeFile(path, b); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range p.Specs {
		v, err := f.Tensor(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		copy(p.Get(s.Name), v.Data)
	}
	set := fashionSubset(t, "test", 128)
	n := 28 * 28
	x := kernels.New(set.Len(), 1, 28, 28)
	for i := 0; i < set.Len(); i++ {
		normalize(x.Data[i*n:(i+1)*n], set.image(i), 1, 28, mc.Mean, mc.Std)
	}
	got, err := m.Logits(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	s := newSample[float32](c)
	worst := 0.0
	for i := 0; i < set.Len(); i++ {
		want := s.forward(p, x.Data[i*n:(i+1)*n])
		for k := range want {
			worst = math.Max(worst, math.Abs(float64(want[k]-got.Data[i*10+k])))
		}
	}
	t.Logf("inference vs training forward on %d test images: max abs logit diff %.3g", set.Len(), worst)
	if worst > 1e-4 {
		t.Fatalf("max abs diff %.3g > 1e-4", worst)
	}
}
