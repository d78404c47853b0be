package checkpoint

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/google/go-cmp/cmp"
)

// TestGoldenPairs opens each fixture checkpoint in both formats and checks
// that every tensor has the same name, shape, dtype and bits.
func TestGoldenPairs(t *testing.T) {
	cases := []struct{ dir, pth, st string }{
		{"vim", "vim_model.pth", "vim_model.safetensors"},
		{"vmamba", "vmamba_model.pth", "vmamba_model.safetensors"},
		{"deit", "model.pth", "model.safetensors"},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			d := golden.Dir(t, c.dir)
			a := mustOpen(t, filepath.Join(d, c.pth))
			b := mustOpen(t, filepath.Join(d, c.st))
			if a.Format() != FormatPyTorch || b.Format() != FormatSafetensors {
				t.Fatalf("formats %s, %s", a.Format(), b.Format())
			}
			if diff := cmp.Diff(b.Names(), a.Names()); diff != "" {
				t.Fatalf("names (-safetensors +pth):\n%s", diff)
			}
			for _, n := range a.Names() {
				compareTensor(t, a, b, n, n)
			}
		})
	}
}

func mustOpen(t *testing.T, p string) *File {
	t.Helper()
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func compareTensor(t *testing.T, a, b Source, na, nb string) {
	t.Helper()
	ia, _ := a.Info(na)
	ib, _ := b.Info(nb)
	if diff := cmp.Diff(ib, ia); diff != "" {
		t.Errorf("%s info (-want +got):\n%s", na, diff)
		return
	}
	ta, err := a.Tensor(na)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Tensor(nb)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tb.Shape(), ta.Shape()); diff != "" {
		t.Errorf("%s shape (-want +got):\n%s", na, diff)
	}
	for i := range ta.Data {
		if ta.Data[i] != tb.Data[i] {
			t.Errorf("%s[%d] = %v, want %v", na, i, ta.Data[i], tb.Data[i])
			return
		}
	}
}

// TestGoldenMambaLM checks the bare mamba_ssm state dict (23 keys, lm_head
// sharing the embedding's storage) against the Hugging Face safetensors
// layout of the same weights.
func TestGoldenMambaLM(t *testing.T) {
	d := golden.Dir(t, "mamba_lm")
	bin := mustOpen(t, filepath.Join(d, "mamba_ssm", "pytorch_model.bin"))
	if n := len(bin.Names()); n != 23 {
		t.Errorf("pytorch_model.bin has %d tensors, want 23", n)
	}
	if bin.entries["lm_head.weight"].raw == nil || &bin.entries["lm_head.weight"].raw[0] != &bin.entries["backbone.embedding.weight"].raw[0] {
		t.Error("lm_head.weight does not share the embedding's storage")
	}
	compareTensor(t, bin, bin, "lm_head.weight", "backbone.embedding.weight")

	set, err := OpenDir(filepath.Join(d, "hf"))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if set.Format() != FormatSafetensors {
		t.Errorf("hf format %s", set.Format())
	}
	for _, n := range set.Names() {
		m := strings.Replace(n, "backbone.embeddings.", "backbone.embedding.", 1)
		compareTensor(t, bin, set, m, n)
	}
	if len(set.Names()) != 22 { // tied lm_head is not stored
		t.Errorf("hf has %d tensors, want 22", len(set.Names()))
	}

	binSet, err := OpenDir(filepath.Join(d, "mamba_ssm"))
	if err != nil {
		t.Fatal(err)
	}
	defer binSet.Close()
	if binSet.Format() != FormatPyTorch || len(binSet.Names()) != 23 {
		t.Errorf("mamba_ssm dir: %s with %d tensors", binSet.Format(), len(binSet.Names()))
	}
}

// TestGoldenInt64 reads the token ids of the LM fixture.
func TestGoldenInt64(t *testing.T) {
	f := mustOpen(t, filepath.Join(golden.Dir(t, "mamba_lm"), "io.safetensors"))
	found := 0
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		if info.DType != "I64" {
			continue
		}
		found++
		ids, shape, err := f.Int64(n)
		if err != nil {
			t.Fatal(err)
		}
		numel := 1
		for _, s := range shape {
			numel *= s
		}
		if len(ids) != numel || !cmp.Equal(shape, info.Shape) {
			t.Errorf("%s: %d ids for shape %v (info %v)", n, len(ids), shape, info.Shape)
		}
		for _, id := range ids {
			if id < 0 || id >= 304 {
				t.Errorf("%s: id %d out of the vocabulary", n, id)
				break
			}
		}
		if _, err := f.Tensor(n); err == nil {
			t.Errorf("%s: Tensor on an I64 tensor did not fail", n)
		}
	}
	if found == 0 {
		t.Fatal("no I64 tensor in mamba_lm/io.safetensors")
	}
}
