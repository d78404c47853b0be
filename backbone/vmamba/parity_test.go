package vmamba

import (
	"context"
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

// modelFiles lists the checkpoints of a fixture folder: every .pth and
// .safetensors except the io/debug tensors.
func modelFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if n == "io.safetensors" || strings.HasPrefix(n, "debug") {
			continue
		}
		if strings.HasSuffix(n, ".pth") || strings.HasSuffix(n, ".safetensors") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	require.NotEmpty(t, out, "no checkpoints in %s", dir)
	return out
}

func maxAbsDiff(t *testing.T, name string, want, got *kernels.Tensor) float64 {
	t.Helper()
	require.Equal(t, want.Shape(), got.Shape(), name)
	var m float64
	for i, w := range want.Data {
		d := math.Abs(float64(w) - float64(got.Data[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// TestGoldenParity runs the official fixture through every checkpoint file
// present and compares logits, pooled embedding and the four stage maps.
func TestGoldenParity(t *testing.T) {
	dir := golden.Dir(t, "vmamba")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	ref := map[string]*kernels.Tensor{}
	for _, n := range io.Names() {
		ref[n], err = io.Tensor(n)
		require.NoError(t, err)
	}
	x := ref["x"]
	require.NotNil(t, x, "io.safetensors has no x")
	var stages []int
	for i := 0; ; i++ {
		if _, ok := ref["stage"+string(rune('0'+i))]; !ok {
			break
		}
		stages = append(stages, i)
	}
	for _, path := range modelFiles(t, dir) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := Load(path, kernels.CPU(), nil)
			require.NoError(t, err)
			out, err := m.Forward(context.Background(), x, &Options{Stages: stages})
			require.NoError(t, err)
			check := func(name string, got *kernels.Tensor) {
				want, ok := ref[name]
				require.True(t, ok, "fixture has no %s", name)
				d := maxAbsDiff(t, name, want, got)
				t.Logf("%-8s %v max|Δ| = %.3g", name, got.Shape(), d)
				require.LessOrEqual(t, d, tol, name)
			}
			check("logits", out.Logits)
			check("pooled", out.Pooled)
			for i, s := range stages {
				check("stage"+string(rune('0'+s)), out.Stages[i])
			}
		})
	}
}
