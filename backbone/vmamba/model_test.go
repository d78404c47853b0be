package vmamba

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// small returns a reduced random configuration of a preset.
func small(t testing.TB, preset string) Config {
	cfg, ok := Preset(preset)
	require.True(t, ok, preset)
	cfg.Dims = []int{16, 32, 64, 128}
	cfg.Depths = []int{1, 1, 2, 1}
	cfg.NumClasses = 7
	return cfg
}

func randInput(seed int, shape ...int) *kernels.Tensor {
	x := kernels.New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i*7+seed) * 0.37))
	}
	return x
}

func allFinite(t *testing.T, name string, x *kernels.Tensor) {
	t.Helper()
	for i, v := range x.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s[%d] = %v", name, i, v)
		}
	}
}

func goldenTensors(t *testing.T) (map[string]*kernels.Tensor, []string) {
	t.Helper()
	dir := golden.Dir(t, "vmamba")
	f, err := checkpoint.Open(filepath.Join(dir, "vmamba_model.safetensors"))
	require.NoError(t, err)
	defer f.Close()
	out := map[string]*kernels.Tensor{}
	for _, n := range f.Names() {
		out[n], err = f.Tensor(n)
		require.NoError(t, err)
	}
	return out, f.Names()
}

func save(t *testing.T, ts map[string]*kernels.Tensor, order []string, rename func(string) string) string {
	t.Helper()
	var named []checkpoint.Named
	for _, n := range order {
		if k := rename(n); k != "" {
			named = append(named, checkpoint.Named{Name: k, Tensor: ts[n]})
		}
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	require.NoError(t, checkpoint.SaveSafetensors(path, named, nil))
	return path
}

func TestPresetsValid(t *testing.T) {
	want := map[string]int64{ // parameter counts of vmamba.md §1
		"vmamba-tiny": 30249064, "vmamba-small": 50147752, "vmamba-base": 88557800,
		"vmamba-tiny-s2l5": 30705832, "vmamba-small-s1l20": 49012840, "vmamba-base-s1l20": 86614504,
		"vmamba-v0-tiny": 22893448, "vmamba-v0-small": 44417416, "vmamba-v0-base": 76254056,
	}
	require.Len(t, Presets(), len(want))
	for _, name := range Presets() {
		cfg, ok := Preset(name)
		require.True(t, ok)
		require.NoError(t, cfg.Validate(), name)
		var w weights
		var n int64
		for _, p := range w.params(&cfg, layout{classifier: true}) {
			c := int64(1)
			for _, d := range p.shape {
				c *= int64(d)
			}
			n += c
		}
		require.Equal(t, want[name], n, name)
	}
}

func TestInferConfigGolden(t *testing.T) {
	f, err := checkpoint.Open(filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.pth"))
	require.NoError(t, err)
	defer f.Close()
	cfg, err := InferConfig(f)
	require.NoError(t, err)
	require.Equal(t, []int{32, 64, 128, 256}, cfg.Dims)
	require.Equal(t, []int{1, 1, 2, 1}, cfg.Depths)
	require.Equal(t, 1, cfg.DState)
	require.Equal(t, 2.0, cfg.SSMRatio)
	require.Equal(t, 0, cfg.DTRank) // auto
	require.False(t, cfg.Gated)
	require.False(t, cfg.ConvBias)
	require.Equal(t, 4.0, cfg.MLPRatio)
	require.Equal(t, 2, cfg.PatchEmbed)
	require.Equal(t, 3, cfg.Downsample)
	require.Equal(t, 10, cfg.NumClasses)
}

// TestBatchMatchesSingles checks that a batch of two equals two runs of one
// (the grouped projections tile their weights per image).
func TestBatchMatchesSingles(t *testing.T) {
	for _, preset := range []string{"vmamba-tiny", "vmamba-v0-tiny"} {
		t.Run(preset, func(t *testing.T) {
			m, err := New(small(t, preset), kernels.CPU(), 3)
			require.NoError(t, err)
			x := randInput(1, 2, 3, 40, 56)
			opts := &Options{Stages: []int{0, 1, 2, 3}}
			both, err := m.Forward(context.Background(), x, opts)
			require.NoError(t, err)
			for b := range 2 {
				one, err := m.Forward(context.Background(), x.Narrow0(b, 1).Clone(), opts)
				require.NoError(t, err)
				for i, s := range one.Stages {
					require.InDeltaSlice(t, both.Stages[i].Narrow0(b, 1).Data, s.Data, 1e-5, "stage %d", i)
				}
				require.InDeltaSlice(t, both.Logits.Narrow0(b, 1).Data, one.Logits.Data, 1e-5)
			}
		})
	}
}

// TestAnySize runs odd, non-square and tiny inputs at their own size and with
// padding to the total stride; maps have ceil(size/stride) sides.
func TestAnySize(t *testing.T) {
	m, err := New(small(t, "vmamba-tiny"), kernels.CPU(), 4)
	require.NoError(t, err)
	for _, hw := range [][2]int{{37, 53}, {1, 1}, {64, 64}, {33, 7}} {
		for _, pad := range []int{0, 32} {
			x := randInput(hw[0], 1, 3, hw[0], hw[1])
			out, err := m.Forward(context.Background(), x, &Options{Stages: []int{0, 1, 2, 3}, PadMultiple: pad})
			require.NoError(t, err, "%v pad %d", hw, pad)
			for i, s := range out.Stages {
				st := 4 << i
				require.Equal(t, []int{1, m.cfg.Dims[i], (hw[0] + st - 1) / st, (hw[1] + st - 1) / st}, s.Shape(), "%v pad %d stage %d", hw, pad, i)
				allFinite(t, "stage", s)
			}
			allFinite(t, "logits", out.Logits)
		}
	}
	// Padding a multiple of 32 changes nothing.
	x := randInput(9, 1, 3, 64, 96)
	a, err := m.Forward(context.Background(), x, &Options{Stages: []int{1}})
	require.NoError(t, err)
	b, err := m.Forward(context.Background(), x, &Options{Stages: []int{1}, PadMultiple: 32})
	require.NoError(t, err)
	require.Equal(t, a.Stages[0].Data, b.Stages[0].Data)
}

func TestForwardErrors(t *testing.T) {
	m, err := New(small(t, "vmamba-tiny"), kernels.CPU(), 5)
	require.NoError(t, err)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		x    *kernels.Tensor
		opts *Options
		msg  string
	}{
		"rank":     {kernels.New(3, 8, 8), nil, "want (batch, 3, H, W)"},
		"channels": {kernels.New(1, 1, 8, 8), nil, "want (batch, 3, H, W)"},
		"stage":    {kernels.New(1, 3, 8, 8), &Options{Stages: []int{4}}, "stage 4 out of range"},
		"pad":      {kernels.New(1, 3, 8, 8), &Options{PadMultiple: -1}, "pad multiple"},
	} {
		_, err := m.Forward(ctx, tc.x, tc.opts)
		require.ErrorContains(t, err, tc.msg, name)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Forward(cctx, kernels.New(1, 3, 8, 8), nil)
	require.ErrorIs(t, err, context.Canceled)
}

// TestStrictLoad: missing, unexpected and wrongly shaped tensors are all
// reported in one error.
func TestStrictLoad(t *testing.T) {
	ts, order := goldenTensors(t)
	ts["extra.weight"] = kernels.New(3)
	order = append(order, "extra.weight")
	ts["layers.0.blocks.0.op.Ds"] = kernels.New(7)
	path := save(t, ts, order, func(n string) string {
		if n == "layers.1.blocks.0.mlp.fc1.bias" {
			return ""
		}
		return n
	})
	cfg, _ := InferConfigFile(t, filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.pth"))
	_, err := Load(path, kernels.CPU(), &LoadOptions{Config: &cfg})
	var be *checkpoint.BindError
	require.True(t, errors.As(err, &be), "%v", err)
	msg := err.Error()
	for _, s := range []string{"extra.weight", "layers.1.blocks.0.mlp.fc1.bias", "layers.0.blocks.0.op.Ds", "ckpt.safetensors"} {
		require.Contains(t, msg, s)
	}
	// Without an explicit config the bad shape is refused too.
	_, err = Load(path, kernels.CPU(), nil)
	require.Error(t, err)
	// Not a checkpoint at all.
	_, err = Load(filepath.Join(golden.Dir(t, "vmamba"), "case.json"), kernels.CPU(), nil)
	require.ErrorContains(t, err, "case.json")
	// The golden .pth has no EMA weights: a clear error.
	_, err = Load(filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.pth"), kernels.CPU(), &LoadOptions{EMA: true})
	require.ErrorContains(t, err, "model_ema")
}

// InferConfigFile is InferConfig on a path (test helper).
func InferConfigFile(t *testing.T, path string) (Config, error) {
	f, err := checkpoint.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return InferConfig(f)
}

// TestLegacyAndBackboneKeys loads the golden weights under legacy names and
// as an mmdet backbone with out-norms; outputs must match the original.
func TestLegacyAndBackboneKeys(t *testing.T) {
	ts, order := goldenTensors(t)
	dir := golden.Dir(t, "vmamba")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	x, err := io.Tensor("x")
	require.NoError(t, err)
	ref, err := Load(filepath.Join(dir, "vmamba_model.safetensors"), kernels.CPU(), nil)
	require.NoError(t, err)
	opts := &Options{Stages: []int{0, 1, 2, 3}}
	want, err := ref.Forward(context.Background(), x, opts)
	require.NoError(t, err)

	legacy := save(t, ts, order, func(n string) string {
		n = strings.Replace(n, ".blocks.0.norm.", ".blocks.0.ln_1.", 1)
		n = strings.Replace(n, ".blocks.0.op.", ".blocks.0.self_attention.", 1)
		n = strings.Replace(n, "classifier.", "", 1)
		return n
	})
	m, err := Load(legacy, kernels.CPU(), nil)
	require.NoError(t, err)
	got, err := m.Forward(context.Background(), x, opts)
	require.NoError(t, err)
	require.Equal(t, want.Logits.Data, got.Logits.Data)

	// A detection checkpoint: backbone.* with outnorm{i}, no classifier, plus neck tensors.
	det := map[string]*kernels.Tensor{}
	var detOrder []string
	for _, n := range order {
		if !strings.HasPrefix(n, "classifier.") {
			det["backbone."+n] = ts[n]
			detOrder = append(detOrder, "backbone."+n)
		}
	}
	for i, c := range []int{32, 64, 128, 256} {
		w, b := randInput(i, c), randInput(i+10, c)
		for _, nb := range []struct {
			k string
			t *kernels.Tensor
		}{{"weight", w}, {"bias", b}} {
			k := "backbone.outnorm" + string(rune('0'+i)) + "." + nb.k
			det[k] = nb.t
			detOrder = append(detOrder, k)
		}
	}
	det["neck.lateral_convs.0.conv.weight"] = kernels.New(4, 32, 1, 1)
	detOrder = append(detOrder, "neck.lateral_convs.0.conv.weight")
	m, err = Load(save(t, det, detOrder, func(n string) string { return n }), kernels.CPU(), nil)
	require.NoError(t, err)
	require.False(t, m.HasClassifier())
	require.True(t, m.HasOutNorms())
	got, err = m.Forward(context.Background(), x, opts)
	require.NoError(t, err)
	require.Nil(t, got.Logits)
	for i, s := range want.Stages {
		normed := kernels.New(s.Shape()...)
		kernels.CPU().LayerNorm2d(normed, s, det["backbone.outnorm"+string(rune('0'+i))+".weight"], det["backbone.outnorm"+string(rune('0'+i))+".bias"], 1e-5)
		require.InDeltaSlice(t, normed.Data, got.Stages[i].Data, 1e-6, "stage %d", i)
	}
}

// TestConcurrentForward backs the Model's concurrency claim (run with -race).
func TestConcurrentForward(t *testing.T) {
	m, err := New(small(t, "vmamba-tiny"), kernels.CPU(), 6)
	require.NoError(t, err)
	x := randInput(2, 1, 3, 24, 40)
	want, err := m.Forward(context.Background(), x, nil)
	require.NoError(t, err)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := m.Forward(context.Background(), x, &Options{Stages: []int{1}})
			if err == nil && !slicesEqual(got.Logits.Data, want.Logits.Data) {
				err = errors.New("concurrent logits differ")
			}
			errs <- err
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSpaceToDepthOrder checks PatchMerging2D's channel order against the
// official slices x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2],
// x3 = x[1::2, 1::2] (index [row, col]), concatenated on channels.
func TestSpaceToDepthOrder(t *testing.T) {
	bt, c, h, w := 2, 3, 4, 6
	x := randInput(1, bt, c, h, w)
	got := kernels.New(bt, 4*c, h/2, w/2)
	spaceToDepth(kernels.CPU(), got, x)
	offs := [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}}
	for b := range bt {
		for k, o := range offs {
			for ch := range c {
				for i := range h / 2 {
					for j := range w / 2 {
						want := x.Data[((b*c+ch)*h+2*i+o[0])*w+2*j+o[1]]
						require.Equal(t, want, got.Data[((b*4*c+k*c+ch)*(h/2)+i)*(w/2)+j], "b%d k%d c%d (%d,%d)", b, k, ch, i, j)
					}
				}
			}
		}
	}
}

// TestTiled: a tile covering the image is the plain forward; with smaller
// tiles the maps have the whole-image shapes and each tile's region equals a
// forward of that crop alone (exact stitching).
func TestTiled(t *testing.T) {
	m, err := New(small(t, "vmamba-tiny"), kernels.CPU(), 8)
	require.NoError(t, err)
	ctx := context.Background()
	x := randInput(4, 1, 3, 70, 100)
	opts := &Options{Stages: []int{0, 1, 2, 3}}
	whole, err := m.Forward(ctx, x, opts)
	require.NoError(t, err)
	same, err := m.Forward(ctx, x, &Options{Stages: opts.Stages, Tile: 128})
	require.NoError(t, err)
	require.Equal(t, whole.Logits.Data, same.Logits.Data)

	tiled, err := m.Forward(ctx, x, &Options{Stages: opts.Stages, Tile: 32})
	require.NoError(t, err)
	crop := kernels.New(1, 3, 32, 32)
	kernels.CPU().CopyBox(crop, []int{0, 0, 0, 0}, x, []int{0, 0, 32, 64}, crop.Shape())
	piece, err := m.Forward(ctx, crop, opts)
	require.NoError(t, err)
	for i, s := range tiled.Stages {
		require.Equal(t, whole.Stages[i].Shape(), s.Shape())
		allFinite(t, "tiled", s)
		st := 4 << i
		p := piece.Stages[i]
		for c := range p.Dim(1) {
			for y := range p.Dim(2) {
				for xx := range p.Dim(3) {
					got := s.Data[(c*s.Dim(2)+32/st+y)*s.Dim(3)+64/st+xx]
					require.Equal(t, p.Data[(c*p.Dim(2)+y)*p.Dim(3)+xx], got, "stage %d", i)
				}
			}
		}
	}
	_, err = m.Forward(ctx, x, &Options{Tile: 48})
	require.ErrorContains(t, err, "multiple of the total stride")
	_, err = m.Forward(ctx, x, &Options{Stages: []int{1, 1}})
	require.ErrorContains(t, err, "requested twice")
}
