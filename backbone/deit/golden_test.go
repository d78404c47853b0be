package deit

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

const tol = 1e-4

func maxAbsDiff(t *testing.T, want, got *kernels.Tensor) float64 {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape())
	var m float64
	for i := range want.Data {
		d := math.Abs(float64(want.Data[i] - got.Data[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// goldenCheckpoints lists the model files of the fixture folder (every .pth
// and .safetensors but the io and hidden-state tensors).
func goldenCheckpoints(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "io.") || strings.HasPrefix(n, "hidden_") || strings.HasPrefix(n, "debug_") {
			continue
		}
		if strings.HasSuffix(n, ".pth") || strings.HasSuffix(n, ".safetensors") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	require.NotEmpty(t, out, "no checkpoint in %s", dir)
	return out
}

func openF(t *testing.T, path string) *checkpoint.File {
	t.Helper()
	f, err := checkpoint.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func tensor(t *testing.T, f *checkpoint.File, name string) *kernels.Tensor {
	t.Helper()
	x, err := f.Tensor(name)
	require.NoError(t, err)
	return x
}

// TestGolden checks logits and pre_logits against timm for every checkpoint
// file and every input of io.safetensors ("x" → "logits"/"pre_logits",
// "x_<s>" → "logits_<s>"/"pre_logits_<s>", with "pos_embed_<s>" the table
// timm resampled for that size).
func TestGolden(t *testing.T) {
	dir := golden.Dir(t, "deit")
	io := openF(t, filepath.Join(dir, "io.safetensors"))
	var sufs []string
	for _, n := range io.Names() {
		if n == "x" {
			sufs = append(sufs, "")
		} else if s, ok := strings.CutPrefix(n, "x_"); ok {
			sufs = append(sufs, "_"+s)
		}
	}
	require.NotEmpty(t, sufs)
	for _, path := range goldenCheckpoints(t, dir) {
		m, err := Load(path, kernels.CPU())
		require.NoError(t, err)
		cfg := m.Config()
		t.Logf("%s: embed %d, depth %d, heads %d, mlp %d, img %d, classes %d", filepath.Base(path), cfg.EmbedDim, cfg.Depth, cfg.Heads, cfg.MLPHidden, cfg.ImgSize, cfg.NumClasses)
		for _, s := range sufs {
			t.Run(filepath.Base(path)+"/x"+s, func(t *testing.T) {
				x := tensor(t, io, "x"+s)
				pre, logits, err := m.Forward(context.Background(), x)
				require.NoError(t, err)
				for _, c := range []struct {
					name string
					got  *kernels.Tensor
				}{{"logits" + s, logits}, {"pre_logits" + s, pre}} {
					d := maxAbsDiff(t, tensor(t, io, c.name), c.got)
					t.Logf("%s max abs diff %.3g", c.name, d)
					require.LessOrEqual(t, d, tol, c.name)
				}
				if _, ok := io.Info("pos_embed" + s); ok {
					gh, gw, err := m.embed.Grid(x.Dim(2), x.Dim(3))
					require.NoError(t, err)
					pos, err := m.PosEmbed(gh, gw)
					require.NoError(t, err)
					want := tensor(t, io, "pos_embed"+s)
					d := maxAbsDiff(t, want.Reshape(want.Len()/cfg.EmbedDim, cfg.EmbedDim), pos)
					t.Logf("pos_embed%s (%dx%d grid) max abs diff %.3g", s, gh, gw, d)
					require.LessOrEqual(t, d, 1e-6)
				}
			})
		}
	}
}

// TestGoldenHiddenStates checks every intermediate of
// hidden_states.safetensors: patch_embed_out, tokens_in, blocks.<i>.out
// and norm_out.
func TestGoldenHiddenStates(t *testing.T) {
	dir := golden.Dir(t, "deit")
	io := openF(t, filepath.Join(dir, "io.safetensors"))
	hs := openF(t, filepath.Join(dir, "hidden_states.safetensors"))
	require.NotEmpty(t, hs.Names())
	for _, path := range goldenCheckpoints(t, dir) {
		m, err := Load(path, kernels.CPU())
		require.NoError(t, err)
		got := map[string]*kernels.Tensor{}
		ws := m.workspace()
		_, _, _, err = m.run(context.Background(), ws, tensor(t, io, "x"), m.cfg.Depth, func(s stage, i int, x *kernels.Tensor) error {
			name := map[stage]string{stagePatches: "patch_embed_out", stageTokens: "tokens_in", stageNorm: "norm_out"}[s]
			if s == stageBlock {
				name = fmt.Sprintf("blocks.%d.out", i)
			}
			got[name] = x.Clone()
			return nil
		})
		require.NoError(t, err)
		for _, name := range hs.Names() {
			g, ok := got[name]
			require.True(t, ok, "no intermediate for %s", name)
			d := maxAbsDiff(t, tensor(t, hs, name), g)
			t.Logf("%s %s max abs diff %.3g", filepath.Base(path), name, d)
			require.LessOrEqual(t, d, tol, name)
		}
	}
}

// TestGoldenFeatures: Features(-1) is the last block's output without the
// cls token, as a channel-first grid.
func TestGoldenFeatures(t *testing.T) {
	dir := golden.Dir(t, "deit")
	io := openF(t, filepath.Join(dir, "io.safetensors"))
	hs := openF(t, filepath.Join(dir, "hidden_states.safetensors"))
	m, err := Load(goldenCheckpoints(t, dir)[0], kernels.CPU())
	require.NoError(t, err)
	x := tensor(t, io, "x")
	maps, err := m.Features(context.Background(), x, []int{0, -1})
	require.NoError(t, err)
	gh, gw, _ := m.embed.Grid(x.Dim(2), x.Dim(3))
	for k, blk := range []int{0, m.cfg.Depth - 1} {
		want := tensor(t, hs, fmt.Sprintf("blocks.%d.out", blk)) // (Bt, L, C)
		bt, l, c := want.Dim(0), want.Dim(1), want.Dim(2)
		require.Equal(t, []int{bt, c, gh, gw}, maps[k].Shape())
		var d float64
		for b := range bt {
			for ch := range c {
				for p := range l - 1 {
					d = max(d, math.Abs(float64(want.Data[(b*l+1+p)*c+ch]-maps[k].Data[(b*c+ch)*(l-1)+p])))
				}
			}
		}
		t.Logf("features block %d max abs diff %.3g", blk, d)
		require.LessOrEqual(t, d, tol)
	}
}
