package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/kernels"
	"github.com/google/go-cmp/cmp"
)

func bindFixture(t *testing.T) *File {
	t.Helper()
	p := writeTemp(t, "vim_t.safetensors", safetensorsFile(t,
		stTensor{"module.layers.0.mixer.A_log", "F32", []int{2, 2}, f32(1, 2, 3, 4)},
		stTensor{"module.layers.0.mixer.D", "F32", []int{2}, f32(5, 6)},
		stTensor{"module.head.weight", "F32", []int{1, 2}, f32(7, 8)},
		stTensor{"module.rope.freqs", "F32", []int{1}, f32(9)},
		stTensor{"module.layers.0.mixer.ids", "I64", []int{1}, make([]byte, 8)},
	))
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestBind(t *testing.T) {
	f := bindFixture(t)
	var a, d, head *kernels.Tensor
	opts := &BindOptions{
		Prefix: "module.",
		Rename: RenameMap(map[string]string{"head.weight": "classifier.weight"}),
		Ignore: []string{"rope.", "layers.*.mixer.ids"},
	}
	err := Bind(f, []Binding{
		{Name: "layers.0.mixer.A_log", Dst: &a, Shape: []int{2, -1}},
		{Name: "layers.0.mixer.D", Dst: &d, Shape: []int{2}},
		{Name: "classifier.weight", Dst: &head},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(a.Data, []float32{1, 2, 3, 4}) || !cmp.Equal(d.Data, []float32{5, 6}) || !cmp.Equal(head.Shape(), []int{1, 2}) {
		t.Errorf("bound %v %v %v", a.Data, d.Data, head)
	}
}

func TestBindErrors(t *testing.T) {
	f := bindFixture(t)
	var x, y, z *kernels.Tensor
	err := Bind(f, []Binding{
		{Name: "layers.0.mixer.A_log", Dst: &x, Shape: []int{2, 16}},
		{Name: "layers.0.mixer.D", Dst: &y, Shape: []int{2}},
		{Name: "layers.3.mixer.A_log", Dst: &z},
		{Name: "layers.3.mixer.D", Dst: &z},
	}, &BindOptions{Prefix: "module.", Ignore: []string{"layers.0.mixer.ids"}})
	var be *BindError
	if !errors.As(err, &be) {
		t.Fatalf("error %v is not a *BindError", err)
	}
	want := &BindError{
		Path:       f.Path(),
		Missing:    []string{"layers.3.mixer.A_log", "layers.3.mixer.D"},
		Unexpected: []string{"module.head.weight", "module.rope.freqs"},
		Mismatched: []ShapeMismatch{{Name: "layers.0.mixer.A_log", Want: []int{2, 16}, Have: []int{2, 2}}},
	}
	if diff := cmp.Diff(want, be); diff != "" {
		t.Errorf("BindError (-want +got):\n%s", diff)
	}
	const msg = "checkpoint: vim_t.safetensors: 2 missing (layers.3.mixer.A_log, layers.3.mixer.D), 2 unexpected (module.head.weight, module.rope.freqs), 1 shape mismatch (layers.0.mixer.A_log: want [2 16], have [2 2])"
	if err.Error() != msg {
		t.Errorf("message\n got %s\nwant %s", err, msg)
	}
	if x != nil || y != nil || z != nil {
		t.Error("a failed Bind assigned tensors")
	}

	// Rename collisions, nil Dst, repeated binding, long lists.
	err = Bind(f, []Binding{{Name: "x", Dst: &x}}, &BindOptions{Rename: func(string) string { return "x" }})
	if !errors.As(err, &be) || len(be.Duplicates) != 4 || !strings.Contains(err.Error(), "4 duplicate (x ← ") {
		t.Errorf("collisions: %v", err)
	}
	if err := Bind(f, []Binding{{Name: "x"}}, nil); err == nil || !strings.Contains(err.Error(), "nil Dst") {
		t.Errorf("nil Dst: %v", err)
	}
	if err := Bind(f, []Binding{{Name: "x", Dst: &x}, {Name: "x", Dst: &y}}, nil); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("repeated binding: %v", err)
	}
	err = Bind(f, nil, nil)
	if !strings.Contains(err.Error(), "5 unexpected (module.head.weight, module.layers.0.mixer.A_log, module.layers.0.mixer.D, module.layers.0.mixer.ids, ... 1 more)") {
		t.Errorf("long list: %v", err)
	}
	// A bound integer tensor fails the read, not silently.
	err = Bind(f, []Binding{{Name: "module.layers.0.mixer.ids", Dst: &x}}, &BindOptions{Ignore: []string{"*"}})
	if err == nil || !strings.Contains(err.Error(), "not a float type") || x != nil {
		t.Errorf("int binding: %v", err)
	}
}

func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("model-00001-of-00002.safetensors", safetensorsFile(t, stTensor{"a", "F32", []int{1}, f32(1)}))
	write("model-00002-of-00002.safetensors", safetensorsFile(t, stTensor{"b", "F32", []int{1}, f32(2)}))
	write("model.safetensors.index.json", []byte(`{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(s.Names(), []string{"a", "b"}) || len(s.Files()) != 2 || s.Format() != FormatSafetensors {
		t.Errorf("set %v", s.Names())
	}
	if b, err := s.Tensor("b"); err != nil || b.Data[0] != 2 {
		t.Errorf("b = %v, %v", b, err)
	}
	if _, ok := s.Info("a"); !ok {
		t.Error("Info(a) missing")
	}
	if _, err := s.Tensor("c"); err == nil {
		t.Error("Tensor(c) did not fail")
	}
	s.Close()

	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty", nil, "no model.safetensors"},
		{"two pth", map[string]string{"a.pth": "x", "b.pth": "y"}, "several candidate"},
		{"bad index", map[string]string{"model.safetensors.index.json": "{"}, "unexpected end of JSON"},
		{"escaping shard", map[string]string{"model.safetensors.index.json": `{"weight_map":{"a":"../x.safetensors"}}`}, "not a plain file name"},
		{"missing shard", map[string]string{"model.safetensors.index.json": `{"weight_map":{"a":"x.safetensors"}}`}, "no such file"},
		{"duplicate tensor", map[string]string{
			"model.safetensors.index.json": `{"weight_map":{"a":"x.safetensors","b":"y.safetensors"}}`,
			"x.safetensors":                string(safetensorsFile(t, stTensor{"a", "F32", []int{1}, f32(1)})),
			"y.safetensors":                string(safetensorsFile(t, stTensor{"a", "F32", []int{1}, f32(1)})),
		}, "tensor a is in both x.safetensors and y.safetensors"},
		{"single pth", map[string]string{"w.pth": "garbage!!"}, "w.pth: unknown format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			for n, b := range c.files {
				os.WriteFile(filepath.Join(d, n), []byte(b), 0o644)
			}
			_, err := OpenDir(d)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "checkpoint: open ") {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := OpenDir(filepath.Join(dir, "model.safetensors.index.json")); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("file as folder: %v", err)
	}
}
