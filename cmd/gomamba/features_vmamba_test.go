package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/internal/npy"
	"github.com/gomamba/gomamba/vision"
)

// TestFeaturesVMambaSingleFile extracts the four stages and the pooled
// embedding of a real photo into one .safetensors file and reads it back:
// entries "<file>/stageN" and "<file>/pooled" equal the library's output.
func TestFeaturesVMambaSingleFile(t *testing.T) {
	photo := filepath.Join(golden.Dir(t, "preprocess"), "ladybird_500x312.png")
	model := filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.pth")
	out := filepath.Join(t.TempDir(), "f.safetensors")
	var so, se bytes.Buffer
	fl := featuresFlags{model: model, device: "cpu", out: out, stages: "1,2,3,4", pooled: true, native: true, quiet: true, maxMemGiB: 16}
	require.NoError(t, runFeatures(context.Background(), fl, []string{photo}, &so, &se))
	require.Contains(t, so.String(), "stage3 [256 ")

	// The reference: the same preprocessing and model through the library.
	m, err := vision.Load(model)
	require.NoError(t, err)
	img, err := datasets.DecodeFile(photo)
	require.NoError(t, err)
	ev := m.EvalTransform()
	x, err := datasets.NativeTransform{Multiple: 1, Mean: ev.Mean, Std: ev.Std, Interpolation: ev.Interpolation}.Apply(img)
	require.NoError(t, err)
	require.Equal(t, []int{3, 312, 500}, x.Shape())
	x = x.Reshape(1, 3, 312, 500)
	ms, pooled, err := m.Network().(vision.PooledFeaturer).FeaturesPooled(context.Background(), x, []int{0, 1, 2, 3})
	require.NoError(t, err)

	f, err := checkpoint.Open(out)
	require.NoError(t, err)
	defer f.Close()
	require.Len(t, f.Names(), 5)
	for i, want := range ms {
		name := photo + "/stage" + string(rune('0'+i))
		got, err := f.Tensor(name)
		require.NoError(t, err, name)
		st := 4 << i
		require.Equal(t, []int{want.Dim(1), (312 + st - 1) / st, (500 + st - 1) / st}, got.Shape(), name)
		require.Equal(t, want.Data, got.Data, name)
	}
	got, err := f.Tensor(photo + "/pooled")
	require.NoError(t, err)
	require.Equal(t, []int{256}, got.Shape())
	require.Equal(t, pooled.Data, got.Data)
}

// TestFeaturesVMambaFormats covers .npz, a folder of .npy files, a single
// .npy, --pad 32 cropping and the --max-mem guard.
func TestFeaturesVMambaFormats(t *testing.T) {
	pre := golden.Dir(t, "preprocess")
	photos := []string{filepath.Join(pre, "ladybird_500x312.png"), filepath.Join(pre, "twowings_333x517.png")}
	model := filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.safetensors")
	dir := t.TempDir()
	var so, se bytes.Buffer
	ctx := context.Background()

	npz := filepath.Join(dir, "f.npz")
	require.NoError(t, runFeatures(ctx, featuresFlags{model: model, out: npz, stages: "2", pooled: true, quiet: true}, photos, &so, &se))
	zr, err := zip.OpenReader(npz)
	require.NoError(t, err)
	require.Len(t, zr.File, 4)
	require.Equal(t, photos[0]+"/stage1.npy", zr.File[0].Name)
	r, err := zr.File[0].Open()
	require.NoError(t, err)
	_, shape, err := npy.Read(r)
	require.NoError(t, err)
	require.Equal(t, []int{64, 28, 28}, shape) // 224 crop, stride 8
	zr.Close()

	npyDir := filepath.Join(dir, "maps")
	require.NoError(t, runFeatures(ctx, featuresFlags{model: model, out: npyDir, npy: true, native: true, pad: 32, stages: "1,4", quiet: true, maxMemGiB: 16}, photos[:1], &so, &se))
	data, shape, err := readNPY(t, filepath.Join(npyDir, "ladybird_500x312", "stage3.npy"))
	require.NoError(t, err)
	require.Equal(t, []int{256, 10, 16}, shape) // ceil(312/32), ceil(500/32)
	require.Len(t, data, 256*10*16)

	one := filepath.Join(dir, "one.npy")
	require.NoError(t, runFeatures(ctx, featuresFlags{model: model, out: one, stages: "4", quiet: true}, photos[:1], &so, &se))
	_, shape, err = readNPY(t, one)
	require.NoError(t, err)
	require.Equal(t, []int{256, 7, 7}, shape)
	require.ErrorContains(t, runFeatures(ctx, featuresFlags{model: model, out: one, stages: "4", quiet: true}, photos, &so, &se), "1 of 2 files failed")

	tiled := filepath.Join(dir, "tiled.safetensors")
	require.NoError(t, runFeatures(ctx, featuresFlags{model: model, out: tiled, native: true, tile: 128, pooled: true, quiet: true, maxMemGiB: 16}, photos[:1], &so, &se))
	tf, err := checkpoint.Open(tiled)
	require.NoError(t, err)
	info, ok := tf.Info(photos[0] + "/stage0")
	require.True(t, ok)
	require.Equal(t, []int{32, 78, 125}, info.Shape) // ceil(312/4), ceil(500/4): stitched from 128² tiles
	tf.Close()

	se.Reset()
	err = runFeatures(ctx, featuresFlags{model: model, out: filepath.Join(dir, "big.safetensors"), native: true, quiet: true, maxMemGiB: 0.0001}, photos[:1], &so, &se)
	require.Error(t, err)
	require.Contains(t, se.String(), "--max-mem")
	require.ErrorContains(t, runFeatures(ctx, featuresFlags{model: model, out: dir, stages: "5"}, photos, &so, &se), "not a stage in 1..4")
}

func readNPY(t *testing.T, path string) ([]float32, []int, error) {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return npy.Read(bytes.NewReader(f))
}
