package vim

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

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// goldenCheckpoints lists the model files of a Vim fixture folder (every
// .pth and .safetensors except the io/debug tensors).
func goldenCheckpoints(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "io.") || strings.HasPrefix(n, "debug_") || strings.HasPrefix(n, "hidden_") {
			continue
		}
		if strings.HasSuffix(n, ".pth") || strings.HasSuffix(n, ".safetensors") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	require.NotEmpty(t, out, "no checkpoint in %s", dir)
	return out
}

// ioCases discovers the (input, logits, features) triples of io.safetensors:
// "x" → "logits"/"features", "x_<suf>" → "logits_<suf>"/"features_<suf>".
func ioCases(t *testing.T, io *checkpoint.File) []string {
	var sufs []string
	for _, n := range io.Names() {
		if n == "x" {
			sufs = append(sufs, "")
		} else if s, ok := strings.CutPrefix(n, "x_"); ok {
			sufs = append(sufs, "_"+s)
		}
	}
	require.NotEmpty(t, sufs)
	return sufs
}

func TestGoldenParity(t *testing.T) {
	dir := golden.Dir(t, "vim")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	be := kernels.CPU()
	for _, path := range goldenCheckpoints(t, dir) {
		m, err := Load(path, be)
		require.NoError(t, err, path)
		for _, suf := range ioCases(t, io) {
			t.Run(fmt.Sprintf("%s/x%s", filepath.Base(path), suf), func(t *testing.T) {
				x, err := io.Tensor("x" + suf)
				require.NoError(t, err)
				feat, logits, err := m.Forward(context.Background(), x)
				require.NoError(t, err)
				for name, got := range map[string]*kernels.Tensor{"features": feat, "logits": logits} {
					want, err := io.Tensor(name + suf)
					require.NoError(t, err)
					require.Equal(t, want.Shape(), got.Shape(), name)
					d := maxAbsDiff(got.Data, want.Data)
					t.Logf("%s%s: max abs diff %.3g", name, suf, d)
					require.LessOrEqual(t, d, tol, name+suf)
				}
				// The position table used for a non-native grid must be the
				// official interpolation when the fixture records it.
				if _, ok := io.Info("pos_embed" + suf); ok && suf != "" {
					want, err := io.Tensor("pos_embed" + suf)
					require.NoError(t, err)
					gh, gw, err := m.embed.Grid(x.Dim(2), x.Dim(3))
					require.NoError(t, err)
					got, err := m.posFor(gh, gw)
					require.NoError(t, err)
					d := maxAbsDiff(got.Data, want.Data)
					t.Logf("pos_embed%s: max abs diff %.3g", suf, d)
					require.LessOrEqual(t, d, tol)
				}
			})
		}
	}
}
