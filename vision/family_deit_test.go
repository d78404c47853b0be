package vision

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
)

// TestDeiTFamilyGolden loads the DeiT fixture through the public API
// (family sniffed from the tensors) and checks the logits of every input of
// io.safetensors, the 64² native and the 96² other size, and the feature
// maps' shapes.
func TestDeiTFamilyGolden(t *testing.T) {
	dir := golden.Dir(t, "deit")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var files []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "model.") {
			files = append(files, n)
		}
	}
	require.NotEmpty(t, files)
	for _, file := range files {
		m, err := Load(filepath.Join(dir, file))
		require.NoError(t, err, file)
		require.Equal(t, "deit", m.Family())
		require.NotNil(t, DeiT(m.Network()))
		for _, n := range io.Names() {
			suf, ok := strings.CutPrefix(n, "x")
			if !ok || (suf != "" && suf[0] != '_') {
				continue
			}
			x, err := io.Tensor(n)
			require.NoError(t, err)
			want, err := io.Tensor("logits" + suf)
			require.NoError(t, err)
			got, err := m.Logits(context.Background(), x)
			require.NoError(t, err)
			require.Equal(t, want.Shape(), got.Shape())
			var d float64
			for i := range want.Data {
				d = max(d, math.Abs(float64(want.Data[i]-got.Data[i])))
			}
			t.Logf("%s logits%s max abs diff %.3g", file, suf, d)
			require.LessOrEqual(t, d, 1e-4)
			maps, err := m.FeaturesBatch(context.Background(), x, []int{-1})
			require.NoError(t, err)
			require.Equal(t, []int{x.Dim(0), 64, x.Dim(2) / 16, x.Dim(3) / 16}, maps[0].Data.Shape())
			require.Equal(t, "blocks.1", maps[0].Name)
		}
	}
}

// TestDeiTFamilyWrongCheckpoint: forcing the deit family onto another
// family's checkpoint, or deit's onto vim, fails with an error naming the
// file.
func TestDeiTFamilyWrongCheckpoint(t *testing.T) {
	vimFile := filepath.Join(golden.Dir(t, "vim"), "vim_model.safetensors")
	_, err := Load(vimFile, WithFamily("deit"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "vim_model.safetensors")
	require.Contains(t, err.Error(), "not a deit checkpoint")

	deitFile := filepath.Join(golden.Dir(t, "deit"), "model.pth")
	_, err = Load(deitFile, WithFamily("vim"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "model.pth")
}

// TestDeiTPresetsRegistered: the three presets are known to Load.
func TestDeiTPresetsRegistered(t *testing.T) {
	for _, p := range []string{"deit-tiny", "deit-small", "deit-base"} {
		require.Contains(t, Presets(), p)
	}
	t.Setenv(ModelsDirEnv, t.TempDir())
	t.Setenv("HOME", t.TempDir())
	_, err := Load("deit-tiny")
	require.ErrorContains(t, err, "deit_tiny_patch16_224")

	// The fixture under a preset's name is checked strictly against the
	// preset: every wrongly shaped tensor is reported.
	models := t.TempDir()
	t.Setenv(ModelsDirEnv, models)
	require.NoError(t, os.Symlink(filepath.Join(golden.Dir(t, "deit"), "model.safetensors"), filepath.Join(models, "deit-tiny.safetensors")))
	_, err = Load("deit-tiny")
	var be *checkpoint.BindError
	require.ErrorAs(t, err, &be)
	require.NotEmpty(t, be.Mismatched)
	require.NotEmpty(t, be.Missing) // blocks 2..11
	t.Log(err)
}
