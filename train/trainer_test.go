package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
)

// fashionSubset loads the first n images of a Fashion-MNIST split from the
// real subset in testdata (1024 training and 300 test images; see
// testdata/gen_subset.go).
func fashionSubset(t *testing.T, split string, n int) *ImageSet {
	t.Helper()
	s, err := datasets.LoadFashionMNIST(filepath.Join("testdata", "fashion-mnist-subset"), split)
	if err != nil {
		t.Fatal(err)
	}
	if n > s.Len() {
		t.Fatalf("subset has %d %s images, test wants %d", s.Len(), split, n)
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = int(s.Labels[i])
	}
	return &ImageSet{Pixels: s.Pix[:n*28*28], Labels: labels, Channels: 1, Size: 28, Classes: s.Classes}
}

func tinyOptions(out string) Options {
	return Options{
		Config: Config{Name: "tiny", InChans: 1, ImgSize: 28, Patch: 7, Stride: 7, Dim: 16, Depth: 1, DState: 4, Classes: 10, DConv: 4, Expand: 2, NormEps: 1e-5},
		Epochs: 2, BatchSize: 32, LR: 6e-3, MinLR: 1e-5, WarmupEpochs: 0.5, WeightDecay: 0.05, ClipNorm: 1,
		Seed: 7, Augment: true, Pad: 2, Mean: []float64{0.286}, Std: []float64{0.353}, OutDir: out, Workers: 2,
	}
}

// TestTrainLearnsAndResumes trains a tiny Vim on real Fashion-MNIST images:
// the loss must fall, the saved checkpoint must hold the official key names,
// and stopping after epoch 1 then resuming must give bit-identical weights.
func TestTrainLearnsAndResumes(t *testing.T) {
	tr, te := fashionSubset(t, "train", 1024), fashionSubset(t, "test", 300)
	full := t.TempDir()
	res, err := Train(context.Background(), tinyOptions(full), tr, te)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 2 || res.History[1].Loss >= res.History[0].Loss || res.History[1].TestLoss >= 2.2 {
		t.Fatalf("loss did not fall: %+v", res.History)
	}
	if res.TestAcc < 0.3 { // chance is 0.1
		t.Fatalf("test accuracy %.3f after 2 epochs on 1024 images", res.TestAcc)
	}
	t.Logf("epochs: %+v", res.History)

	split := t.TempDir()
	o := tinyOptions(split)
	ctx, cancel := context.WithCancel(context.Background())
	o.Progress = func(p Progress) {
		if p.Eval && p.Epoch == 1 {
			cancel() // interrupt after the first epoch's checkpoint
		}
	}
	if _, err := Train(ctx, o, tr, te); err != context.Canceled {
		t.Fatalf("interrupted run: %v", err)
	}
	o.Progress, o.Resume = nil, true
	res2, err := Train(context.Background(), o, tr, te)
	if err != nil {
		t.Fatal(err)
	}
	if res2.TestAcc != res.TestAcc || len(res2.History) != 2 {
		t.Fatalf("resumed run differs: %+v vs %+v", res2.History, res.History)
	}
	a, b := readAll(t, filepath.Join(full, "model.safetensors")), readAll(t, filepath.Join(split, "model.safetensors"))
	if string(a) != string(b) {
		t.Fatal("resumed weights differ from an uninterrupted run")
	}
	f, err := checkpoint.Open(filepath.Join(full, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, k := range []string{"patch_embed.proj.weight", "layers.0.mixer.A_b_log", "layers.0.mixer.x_proj_b.weight", "norm_f.weight", "head.bias"} {
		if _, ok := f.Info(k); !ok {
			t.Errorf("checkpoint lacks %s", k)
		}
	}
	if _, err := os.Stat(filepath.Join(full, "config.json")); err != nil {
		t.Fatal(err)
	}
}

func TestTrainRejectsBadOptions(t *testing.T) {
	tr := &ImageSet{Pixels: make([]uint8, 2*28*28), Labels: []int{0, 1}, Channels: 1, Size: 28}
	for name, mut := range map[string]func(*Options){
		"zero batch":    func(o *Options) { o.BatchSize = 0 },
		"no mean":       func(o *Options) { o.Mean = nil },
		"bad config":    func(o *Options) { o.Config.Dim = 0 },
		"wrong size":    func(o *Options) { o.Config.ImgSize = 32 },
		"zero epochs":   func(o *Options) { o.Epochs = 0 },
		"patch too big": func(o *Options) { o.Config.Patch = 40 },
	} {
		o := tinyOptions("")
		mut(&o)
		if _, err := Train(context.Background(), o, tr, tr); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func readAll(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
