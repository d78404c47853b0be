package vision

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/backbone/vim"
	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// vimFixtures returns the model files of the Vim fixture folder.
func vimFixtures(t *testing.T) []string {
	dir := golden.Dir(t, "vim")
	var out []string
	for _, pat := range []string{"*.pth", "*.safetensors"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range m {
			b := filepath.Base(p)
			if !strings.HasPrefix(b, "io.") && !strings.HasPrefix(b, "debug_") {
				out = append(out, p)
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestLoadGoldenLogits goes through the public API: Load (format sniffed),
// Logits on the fixture inputs of every size present.
func TestLoadGoldenLogits(t *testing.T) {
	dir := golden.Dir(t, "vim")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	for _, path := range vimFixtures(t) {
		m, err := Load(path)
		require.NoError(t, err)
		require.Equal(t, "vim", m.Family())
		for _, name := range io.Names() {
			suf, ok := strings.CutPrefix(name, "x")
			if !ok || (suf != "" && suf[0] != '_') {
				continue
			}
			x, err := io.Tensor(name)
			require.NoError(t, err)
			want, err := io.Tensor("logits" + suf)
			require.NoError(t, err)
			got, err := m.Logits(context.Background(), x)
			require.NoError(t, err)
			d := maxAbsDiff(got.Data, want.Data)
			t.Logf("%s %s: logits max abs diff %.3g", filepath.Base(path), name, d)
			require.LessOrEqual(t, d, 1e-4)
		}
	}
}

func photo(t testing.TB) image.Image {
	dir := golden.Dir(t, "preprocess")
	m, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	require.NotEmpty(t, m)
	img, err := datasets.DecodeFile(m[0])
	require.NoError(t, err)
	return img
}

func TestClassifyAndFeatures(t *testing.T) {
	m, err := Load(vimFixtures(t)[0])
	require.NoError(t, err)
	img := photo(t)
	top, err := m.Classify(context.Background(), img, 3)
	require.NoError(t, err)
	require.Len(t, top, 3)
	require.GreaterOrEqual(t, top[0].Prob, top[1].Prob)
	// Batch of two identical images = the single result.
	both, err := m.ClassifyBatch(context.Background(), []image.Image{img, img}, 3)
	require.NoError(t, err)
	require.InDelta(t, top[0].Prob, both[1][0].Prob, 1e-6)
	require.Equal(t, top[0].Index, both[0][0].Index)

	info := m.FeatureInfo()
	require.Len(t, info, 4) // fixture depth
	maps, err := m.Features(context.Background(), img, nil)
	require.NoError(t, err)
	require.Len(t, maps, 4)
	s := m.EvalTransform().Size
	for _, fm := range maps {
		require.Equal(t, []int{fm.Channels, s / fm.Stride, s / fm.Stride}, fm.Data.Shape())
	}
	native, err := m.Features(context.Background(), img, &FeatureOptions{Indices: []int{-1}, Native: true, MaxSide: 128})
	require.NoError(t, err)
	require.Len(t, native, 1)
	require.Equal(t, "layers.3", native[0].Name)
	b := img.Bounds()
	h := 128 * min(b.Dx(), b.Dy()) / max(b.Dx(), b.Dy())
	sh := native[0].Data.Shape()
	require.Equal(t, []int{64, (min(h, 128)-16)/16 + 1}, []int{sh[0], min(sh[1], sh[2])})
	_, err = m.Features(context.Background(), img, &FeatureOptions{Indices: []int{9}})
	require.ErrorContains(t, err, "out of range")
}

// TestWithSize: any resolution through the API (pos-embed interpolated).
func TestWithSize(t *testing.T) {
	m, err := Load(vimFixtures(t)[0], WithSize(96))
	require.NoError(t, err)
	require.Equal(t, 96, m.EvalTransform().Size)
	x, err := m.Preprocess(photo(t))
	require.NoError(t, err)
	require.Equal(t, []int{1, 3, 96, 96}, x.Shape())
	_, err = m.Classify(context.Background(), photo(t), 1)
	require.NoError(t, err)
}

func TestConcurrentClassify(t *testing.T) {
	m, err := Load(vimFixtures(t)[0])
	require.NoError(t, err)
	img := photo(t)
	want, err := m.Classify(context.Background(), img, 2)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Classify(context.Background(), img, 2)
			if err == nil && (got[0] != want[0] || got[1] != want[1]) {
				err = fmt.Errorf("concurrent result %v, want %v", got, want)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestLoadErrors(t *testing.T) {
	// Another family's checkpoint forced into Vim.
	vm, _ := filepath.Glob(filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.*"))
	require.NotEmpty(t, vm)
	for _, p := range vm {
		_, err := Load(p, WithFamily("vim"))
		require.ErrorContains(t, err, "not a vim checkpoint")
		require.ErrorContains(t, err, filepath.Base(p))
	}
	// A checkpoint no family knows (the Mamba LM's).
	lm, _ := filepath.Glob(filepath.Join(golden.Dir(t, "mamba_lm"), "hf", "model.safetensors"))
	require.NotEmpty(t, lm)
	_, err := Load(lm[0])
	require.ErrorContains(t, err, "not a checkpoint of any known family")
	// Not a checkpoint at all.
	junk := filepath.Join(t.TempDir(), "junk.pth")
	require.NoError(t, os.WriteFile(junk, []byte("hello, not weights"), 0o644))
	_, err = Load(junk)
	require.ErrorContains(t, err, "junk.pth")
	// Neither a file nor a preset.
	_, err = Load("no-such-model")
	require.ErrorContains(t, err, "not a preset name")
	_, err = Load(vimFixtures(t)[0], WithFamily("nope"))
	require.ErrorContains(t, err, "unknown family")
}

// TestPresetLookup: presets find weights in $GOMAMBA_MODELS, load strictly
// against the preset's shapes, and say where to get them when absent.
func TestPresetLookup(t *testing.T) {
	home := t.TempDir()
	models := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(ModelsDirEnv, models)
	_, err := Load("vim-tiny")
	require.ErrorContains(t, err, "no weights found")
	require.ErrorContains(t, err, "hustvl/Vim-tiny-midclstok")

	cfg, _ := vim.Preset("vim-tiny")
	vm, err := vim.NewRandom(cfg, kernels.CPU(), 3)
	require.NoError(t, err)
	require.NoError(t, checkpoint.SaveSafetensors(filepath.Join(models, "vim-tiny.safetensors"), vm.StateDict(), nil))
	m, err := Load("vim-tiny")
	require.NoError(t, err)
	require.Equal(t, "vim-tiny", m.Name())
	require.Len(t, m.Labels(), 1000) // ImageNet names for 1000 classes
	top, err := m.Classify(context.Background(), photo(t), 1)
	require.NoError(t, err)
	require.NotEmpty(t, top[0].Label)

	// The fixture (a different shape) saved under a preset name is refused.
	b, err := os.ReadFile(vimFixtures(t)[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(models, "vim-small.pth"), b, 0o644))
	_, err = Load("vim-small")
	require.ErrorContains(t, err, "shape mismatch")
}

func TestDefault(t *testing.T) {
	_, err := Default()
	if DefaultName() == "" {
		require.ErrorIs(t, err, ErrNoDefault)
	}
	path := vimFixtures(t)[0]
	prevName := DefaultName()
	defaultMu.RLock()
	prev := defaultLoad
	defaultMu.RUnlock()
	t.Cleanup(func() { RegisterDefault(prevName, prev) })
	RegisterDefault("fixture", func(opts ...Option) (*Model, error) { return Load(path, opts...) })
	m, err := Default(WithSize(80))
	require.NoError(t, err)
	require.Equal(t, 80, m.EvalTransform().Size)
	require.Equal(t, "fixture", DefaultName())
}

// TestLoadFolder loads a folder as the trainer writes it: model.safetensors
// plus config.json with the official argument names, eval preprocessing and
// class names.
func TestLoadFolder(t *testing.T) {
	cfg := vim.Config{Name: "micro", ImgSize: 28, Patch: 4, Stride: 4, Channels: 1, EmbedDim: 16, Depth: 2,
		DState: 4, DConv: 4, Expand: 2, NumClasses: 3, NormEps: 1e-5, Cls: vim.ClsMiddle, FinalPool: "mean", DivideOut: true, Eval: vim.ImageNetEval}
	vm, err := vim.NewRandom(cfg, kernels.CPU(), 5)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, checkpoint.SaveSafetensors(filepath.Join(dir, "model.safetensors"), vm.StateDict(), nil))
	side := `{"family": "vim", "img_size": 28, "patch_size": 4, "stride": 4, "channels": 1, "use_middle_cls_token": true,
		"input_size": 28, "crop_pct": 1.0, "interpolation": "bilinear", "mean": [0.286], "std": [0.353], "labels": ["a", "b", "c"]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(side), 0o644))
	m, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, m.Labels())
	e := m.EvalTransform()
	require.Equal(t, 28, e.Size)
	require.Equal(t, 1.0, e.CropPct)
	require.True(t, e.Grayscale)
	require.InDelta(t, 0.353, e.Std[2], 1e-6)
	top, err := m.Classify(context.Background(), photo(t), 3)
	require.NoError(t, err)
	require.Len(t, top, 3)
	require.NotEmpty(t, top[0].Label)
}
