package npy

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{}, {3}, {2, 3}, {1, 4, 2, 3}, {0, 5}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i)*0.5 - 1
		}
		var b bytes.Buffer
		require.NoError(t, Write(&b, data, shape))
		require.Zero(t, (bytes.IndexByte(b.Bytes(), '\n')+1)%64, "header aligned to 64")
		got, gs, err := Read(&b)
		require.NoError(t, err)
		require.Equal(t, len(shape), len(gs))
		for i := range shape {
			require.Equal(t, shape[i], gs[i])
		}
		require.Equal(t, data, got)
	}
	require.Error(t, Write(&bytes.Buffer{}, []float32{1}, []int{2}))
}

func TestHeaderText(t *testing.T) {
	require.Contains(t, string(header([]int{7})), "'shape': (7,)")
	require.Contains(t, string(header([]int{2, 3})), "'shape': (2, 3)")
}

func TestNPZ(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.npz")
	require.NoError(t, WriteNPZ(path, []Array{{"x/stage0", []float32{1, 2}, []int{2}}, {"pooled", []float32{3}, []int{1, 1}}}))
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 2)
	require.Equal(t, "x/stage0.npy", zr.File[0].Name)
	f, err := zr.File[1].Open()
	require.NoError(t, err)
	data, shape, err := Read(f)
	require.NoError(t, err)
	require.Equal(t, []float32{3}, data)
	require.Equal(t, []int{1, 1}, shape)
	require.Error(t, WriteNPZ(path, []Array{{"a", nil, []int{0}}, {"a", nil, []int{0}}}))
}

func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	_ = Write(&b, []float32{1, 2, 3, 4}, []int{2, 2})
	f.Add(b.Bytes())
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		data, shape, err := Read(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n != len(data) {
			t.Fatalf("shape %v with %d values", shape, len(data))
		}
	})
}
