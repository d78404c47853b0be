package deit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// mapSource is an in-memory checkpoint.Source for corrupting state dicts.
type mapSource struct {
	path string
	ts   map[string]*kernels.Tensor
}

func (s *mapSource) Path() string { return s.path }
func (s *mapSource) Names() []string {
	var n []string
	for k := range s.ts {
		n = append(n, k)
	}
	return n
}
func (s *mapSource) Info(name string) (checkpoint.TensorInfo, bool) {
	t, ok := s.ts[name]
	if !ok {
		return checkpoint.TensorInfo{}, false
	}
	return checkpoint.TensorInfo{Shape: t.Shape(), DType: "F32"}, true
}
func (s *mapSource) Tensor(name string) (*kernels.Tensor, error) {
	t, ok := s.ts[name]
	if !ok {
		return nil, errors.New("no tensor " + name)
	}
	return t.Clone(), nil
}

func fixtureSource(t *testing.T) *mapSource {
	t.Helper()
	f := openF(t, filepath.Join(golden.Dir(t, "deit"), "model.safetensors"))
	s := &mapSource{path: "fixture.safetensors", ts: map[string]*kernels.Tensor{}}
	for _, n := range f.Names() {
		s.ts[n] = tensor(t, f, n)
	}
	return s
}

func randInput(bt, c, h, w int, seed float32) *kernels.Tensor {
	x := kernels.New(bt, c, h, w)
	for i := range x.Data {
		x.Data[i] = float32((i*7919)%251)/125 - 1 + seed
	}
	return x
}

// TestWrongFamily: other families' checkpoints are refused with ErrNotDeiT
// and the file's name.
func TestWrongFamily(t *testing.T) {
	for _, c := range []struct{ sub, file string }{
		{"vim", "vim_model.pth"}, {"vim", "vim_model.safetensors"}, {"vmamba", "vmamba_model.safetensors"}, {"s4d", "model.safetensors"},
	} {
		path := filepath.Join(golden.Dir(t, c.sub), c.file)
		_, err := Load(path, kernels.CPU())
		require.Error(t, err, path)
		require.ErrorIs(t, err, ErrNotDeiT)
		require.Contains(t, err.Error(), c.file)
		t.Logf("%s: %v", c.file, err)
	}
}

// TestStrictLoading: missing, unexpected and wrongly shaped tensors are all
// reported together; unsupported ViT variants are named.
func TestStrictLoading(t *testing.T) {
	cfg, err := InferConfig(fixtureSource(t), &Sidecar{Args: Args{NumHeads: ptr(2)}})
	require.NoError(t, err)

	s := fixtureSource(t)
	delete(s.ts, "blocks.1.mlp.fc2.bias")
	s.ts["blocks.0.attn.extra"] = kernels.New(3)
	s.ts["norm.weight"] = kernels.New(65)
	_, err = FromCheckpoint(s, cfg, kernels.CPU())
	var be *checkpoint.BindError
	require.ErrorAs(t, err, &be)
	require.Equal(t, []string{"blocks.1.mlp.fc2.bias"}, be.Missing)
	require.Equal(t, []string{"blocks.0.attn.extra"}, be.Unexpected)
	require.Len(t, be.Mismatched, 1)
	require.Contains(t, err.Error(), "fixture.safetensors")
	t.Log(err)

	for _, c := range []struct {
		name  string
		edit  func(s *mapSource)
		sc    *Sidecar
		wants string
	}{
		{"distilled", func(s *mapSource) { s.ts["dist_token"] = kernels.New(1, 1, 64) }, nil, "distillation"},
		{"layer scale", func(s *mapSource) { s.ts["blocks.0.ls1.gamma"] = kernels.New(64) }, nil, "layer scale"},
		{"fc_norm", func(s *mapSource) { s.ts["fc_norm.weight"] = kernels.New(64) }, nil, "fc_norm"},
		{"no cls row", func(s *mapSource) { s.ts["pos_embed"] = kernels.New(1, 16, 64) }, nil, "square grid"},
		{"qkv shape", func(s *mapSource) { s.ts["blocks.0.attn.qkv.weight"] = kernels.New(190, 64) }, nil, "qkv.weight"},
		{"heads unknown", func(s *mapSource) {}, &Sidecar{}, "num_heads"},
		{"heads do not divide", func(s *mapSource) {}, &Sidecar{Args: Args{NumHeads: ptr(3)}}, "do not divide"},
		{"class_token false", func(s *mapSource) {}, &Sidecar{TimmKwargs: &Args{ClassToken: ptrB(false), NumHeads: ptr(2)}}, "class_token=False"},
		{"avg pool", func(s *mapSource) {}, &Sidecar{ModelArgs: &Args{GlobalPool: ptrS("avg"), NumHeads: ptr(2)}}, "global_pool"},
		{"img_size grid", func(s *mapSource) {}, &Sidecar{Args: Args{NumHeads: ptr(2), ImgSize: []byte("96")}}, "grid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fixtureSource(t)
			c.edit(s)
			_, err := InferConfig(s, c.sc)
			require.ErrorContains(t, err, c.wants)
		})
	}
}

func ptr(i int) *int        { return &i }
func ptrB(b bool) *bool     { return &b }
func ptrS(s string) *string { return &s }

// TestCorruptFiles: truncated checkpoints and bad config.json beside a good
// one fail with errors naming the file.
func TestCorruptFiles(t *testing.T) {
	src := golden.Dir(t, "deit")
	for _, name := range []string{"model.pth", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		for _, n := range []int{0, 10, len(b) / 2, len(b) - 7} {
			dir := t.TempDir()
			p := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(p, b[:n], 0o644))
			_, err := Load(p, kernels.CPU())
			require.Error(t, err, "%s truncated to %d", name, n)
			require.Contains(t, err.Error(), name)
		}
	}
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(src, "model.safetensors"))
	require.NoError(t, err)
	p := filepath.Join(dir, "model.safetensors")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"num_heads": `), 0o644))
	_, err = Load(p, kernels.CPU())
	require.ErrorContains(t, err, "config.json")
	// A timm hub config.json: heads and preprocessing come from it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architecture": "vit_custom",
		"model_args": {"num_heads": 2}, "pretrained_cfg": {"input_size": [3, 64, 64], "crop_pct": 0.875, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}`), 0o644))
	m, err := Load(p, kernels.CPU())
	require.NoError(t, err)
	require.Equal(t, 2, m.Config().Heads)
	require.Equal(t, EvalConfig{InputSize: 64, CropPct: 0.875, Interpolation: "bicubic", Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}, m.Config().Eval)
}

// TestBadInput: wrong ranks, channels and images smaller than one patch are
// errors, not panics.
func TestBadInput(t *testing.T) {
	cfg, _ := Preset("deit-tiny")
	cfg.Depth = 1
	m, err := NewRandom(cfg, kernels.CPU(), 1)
	require.NoError(t, err)
	ctx := context.Background()
	for _, x := range []*kernels.Tensor{kernels.New(3, 32, 32), kernels.New(1, 1, 32, 32), kernels.New(1, 3, 8, 64), kernels.New(0, 3, 32, 32)} {
		_, _, err := m.Forward(ctx, x)
		require.Error(t, err, "%v", x.Shape())
		_, err = m.Features(ctx, x, []int{0})
		require.Error(t, err, "%v", x.Shape())
	}
	_, err = m.Features(ctx, kernels.New(1, 3, 32, 32), []int{5})
	require.ErrorContains(t, err, "out of range")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = m.Forward(cctx, kernels.New(1, 3, 32, 32))
	require.ErrorIs(t, err, context.Canceled)
}

// TestChunkedAttention: attention in query-row chunks (used when the score
// matrix would pass maxScoreElems) equals the one-shot path.
func TestChunkedAttention(t *testing.T) {
	m, err := Load(filepath.Join(golden.Dir(t, "deit"), "model.safetensors"), kernels.CPU())
	require.NoError(t, err)
	x := randInput(2, 3, 112, 96, 0) // 7×6 grid, 43 tokens
	_, want, err := m.Forward(context.Background(), x)
	require.NoError(t, err)
	old := maxScoreElems
	t.Cleanup(func() { maxScoreElems = old })
	maxScoreElems = 2 * 2 * 43 * 10 // chunks of 10 query rows (last one 3)
	_, got, err := m.Forward(context.Background(), x)
	require.NoError(t, err)
	require.LessOrEqual(t, maxAbsDiff(t, want, got), 1e-6)
}

// TestAnySize: odd, non-square and non-multiple sizes run, the position
// table cache holds one entry per grid, and the native size uses the stored
// table.
func TestAnySize(t *testing.T) {
	m, err := Load(filepath.Join(golden.Dir(t, "deit"), "model.pth"), kernels.CPU())
	require.NoError(t, err)
	for _, s := range [][2]int{{16, 16}, {64, 64}, {50, 130}, {240, 33}} {
		x := randInput(1, 3, s[0], s[1], 0)
		pre, logits, err := m.Forward(context.Background(), x)
		require.NoError(t, err)
		require.Equal(t, []int{1, 64}, pre.Shape())
		require.Equal(t, []int{1, 10}, logits.Shape())
		maps, err := m.Features(context.Background(), x, []int{-1})
		require.NoError(t, err)
		require.Equal(t, []int{1, 64, s[0] / 16, s[1] / 16}, maps[0].Shape())
	}
	pos, err := m.PosEmbed(4, 4)
	require.NoError(t, err)
	require.Same(t, m.pos, pos)
	require.Equal(t, 3, m.posCache.Len())
}

// TestBatchIndependence: each image of a batch gets the same result as
// alone, and concurrent Forward calls agree (run with -race).
func TestBatchIndependence(t *testing.T) {
	m, err := Load(filepath.Join(golden.Dir(t, "deit"), "model.safetensors"), kernels.CPU())
	require.NoError(t, err)
	x := randInput(3, 3, 80, 64, 0)
	_, all, err := m.Forward(context.Background(), x)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for b := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			one := kernels.MustFromSlice(x.Data[b*3*80*64:(b+1)*3*80*64], 1, 3, 80, 64)
			_, got, err := m.Forward(context.Background(), one)
			require.NoError(t, err)
			require.LessOrEqual(t, maxAbsDiff(t, kernels.MustFromSlice(all.Data[b*10:(b+1)*10], 1, 10), got), 1e-5)
		}()
	}
	wg.Wait()
}

// TestPresets: presets validate and match timm's parameter counts
// (deit_tiny 5,717,416; deit_small 22,050,664; deit_base 86,567,656).
func TestPresets(t *testing.T) {
	want := map[string]int{"deit-tiny": 5717416, "deit-small": 22050664, "deit-base": 86567656}
	require.Len(t, Presets(), len(want))
	for _, name := range Presets() {
		cfg, ok := Preset(name)
		require.True(t, ok)
		require.NoError(t, cfg.Validate())
		require.Equal(t, 64, cfg.HeadDim())
		_, ps := skeleton(cfg)
		n := 0
		for _, p := range ps {
			k := 1
			for _, d := range p.shape {
				k *= d
			}
			n += k
		}
		require.Equal(t, want[name], n, name)
	}
	_, ok := Preset("deit-huge")
	require.False(t, ok)
}
