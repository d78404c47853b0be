package builtin_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/vision"
	"github.com/gomamba/gomamba/vision/builtin"
)

func repoRoot() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..")
}

// TestDefaultClassifiesTestdata loads the embedded model through
// vision.Default and classifies the real Fashion-MNIST test images shipped in
// testdata/fashion-mnist (named <index>_<class>.png).
func TestDefaultClassifiesTestdata(t *testing.T) {
	if vision.DefaultName() != builtin.Name {
		t.Fatalf("default model %q, want %q", vision.DefaultName(), builtin.Name)
	}
	m, err := vision.Default()
	if err != nil {
		t.Fatal(err)
	}
	if m.NumClasses() != 10 || len(m.Labels()) != 10 || !m.EvalTransform().Grayscale {
		t.Fatalf("classes %d, labels %v, transform %+v", m.NumClasses(), m.Labels(), m.EvalTransform())
	}
	paths, err := filepath.Glob(filepath.Join(repoRoot(), "testdata", "fashion-mnist", "*.png"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("testdata images: %v %v", paths, err)
	}
	right := 0
	for _, p := range paths {
		img, err := datasets.DecodeFile(p)
		if err != nil {
			t.Fatal(err)
		}
		top, err := m.Classify(context.Background(), img, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(filepath.Base(p)[5:], ".png")
		got := strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(top[0].Label))
		if got == want {
			right++
		}
		t.Logf("%-22s → %s (%.3f)", filepath.Base(p), top[0].Label, top[0].Prob)
	}
	if right < 7 {
		t.Fatalf("only %d of %d test images right", right, len(paths))
	}
}

func TestConfigRecordsAccuracy(t *testing.T) {
	b, err := fs.ReadFile(builtin.Files(), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Acc    float64  `json:"test_accuracy"`
		Labels []string `json:"labels"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Acc <= 0 || len(c.Labels) != 10 {
		t.Fatalf("config.json: %+v", c)
	}
}
