package vmamba

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/kernels"
)

// fakeSource is a checkpoint.Source of shapes only.
type fakeSource struct {
	names  []string
	shapes map[string][]int
}

func (f *fakeSource) Path() string    { return "fuzz.safetensors" }
func (f *fakeSource) Names() []string { return f.names }
func (f *fakeSource) Info(n string) (checkpoint.TensorInfo, bool) {
	s, ok := f.shapes[n]
	return checkpoint.TensorInfo{Shape: s, DType: "F32"}, ok
}
func (f *fakeSource) Tensor(n string) (*kernels.Tensor, error) {
	return nil, fmt.Errorf("no data for %s", n)
}

// FuzzInferConfig feeds hostile name/shape lists ("name:d0,d1;...") to
// InferConfig and Sniff: they must return a valid config or an error, never
// panic.
func FuzzInferConfig(f *testing.F) {
	cfg, _ := Preset("vmamba-tiny")
	cfg.Depths = []int{1, 1, 1, 1}
	var w weights
	var seed []string
	for _, p := range w.params(&cfg, layout{classifier: true}) {
		dims := make([]string, len(p.shape))
		for i, d := range p.shape {
			dims[i] = fmt.Sprint(d)
		}
		seed = append(seed, p.name+":"+strings.Join(dims, ","))
	}
	f.Add(strings.Join(seed, ";"))
	f.Add("patch_embed.0.weight:0,3,3,3;layers.0.blocks.0.norm.weight:0")
	f.Add("backbone.patch_embed.proj.weight:96,3,4,4;backbone.layers.0.blocks.0.ln_1.weight:96")
	f.Fuzz(func(t *testing.T, spec string) {
		src := &fakeSource{shapes: map[string][]int{}}
		for _, item := range strings.Split(spec, ";") {
			name, dims, _ := strings.Cut(item, ":")
			var shape []int
			for _, d := range strings.Split(dims, ",") {
				var v int
				if _, err := fmt.Sscan(d, &v); err == nil && v >= 0 && v < 1<<20 {
					shape = append(shape, v)
				}
			}
			if _, dup := src.shapes[name]; !dup {
				src.names = append(src.names, name)
			}
			src.shapes[name] = shape
		}
		Sniff(src)
		c, err := InferConfig(src)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("InferConfig returned an invalid config: %v", verr)
			}
		}
	})
}
