package checkpoint

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomamba/gomamba/kernels"
	"github.com/google/go-cmp/cmp"
)

func TestSaveRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.safetensors")
	a := kernels.MustFromSlice([]float32{1, -2, 3.5, 4, 5, 6}, 2, 3)
	s := kernels.MustFromSlice([]float32{7}) // scalar
	e := kernels.New(0, 4)
	if err := SaveSafetensors(p, []Named{{"a", a}, {"s", s}, {"e", e}}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if diff := cmp.Diff(map[string]string{"format": "pt"}, f.Metadata()); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "e", "s"}, f.Names()); diff != "" {
		t.Fatalf("names (-want +got):\n%s", diff)
	}
	for _, n := range []Named{{"a", a}, {"s", s}, {"e", e}} {
		got, err := f.Tensor(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(got.Shape(), n.Tensor.Shape()) || !cmp.Equal(got.Data, n.Tensor.Data) {
			t.Errorf("%s: %v %v, want %v %v", n.Name, got.Shape(), got.Data, n.Tensor.Shape(), n.Tensor.Data)
		}
	}
	for _, bad := range [][]Named{{{"", a}}, {{"a", a}, {"a", a}}, {{"__metadata__", a}}, {{"x", nil}}} {
		if err := SaveSafetensors(p, bad, nil); err == nil || !strings.Contains(err.Error(), "checkpoint: save") {
			t.Errorf("SaveSafetensors(%v) = %v", bad, err)
		}
	}
}

// TestConcurrentReads reads every tensor of a fixture from several
// goroutines at once (run with -race).
func TestConcurrentReads(t *testing.T) {
	pkl := newPK().dict(
		tensorItem("w", "FloatStorage", "0", 6, 0, []int{2, 3}, []int{3, 1}),
		tensorItem("t", "FloatStorage", "0", 6, 0, []int{3, 2}, []int{1, 3}),
		tensorItem("z", "FloatStorage", "z", 3, 0, []int{3}, []int{1}),
	).stop()
	f, err := openBytes(t, torchZip(t, pkl, map[string][]byte{"0": f32(1, 2, 3, 4, 5, 6), "~z": f32(1, 2, 3)}, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				for _, n := range f.Names() {
					if _, err := f.Tensor(n); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
