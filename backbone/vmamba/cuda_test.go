package vmamba

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

// openCUDA returns the CUDA backend or skips when this machine has no GPU
// (a failure instead when GOMAMBA_REQUIRE_CUDA=1, as on the GPU runner).
func openCUDA(t testing.TB) kernels.Backend {
	t.Helper()
	be, err := cuda.Open()
	if err != nil {
		if errors.Is(err, cuda.ErrNoDevice) && os.Getenv("GOMAMBA_REQUIRE_CUDA") != "1" {
			t.Skipf("no CUDA GPU here, GPU test skipped: %v", err)
		}
		t.Fatalf("cuda.Open: %v", err)
	}
	return be
}

// TestCUDAGoldenParity runs the golden fixture on the CUDA backend (the
// same model code, scan2d through device layout ops).
func TestCUDAGoldenParity(t *testing.T) {
	dir := golden.Dir(t, "vmamba")
	be := openCUDA(t)
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	ref := map[string]*kernels.Tensor{}
	for _, n := range io.Names() {
		ref[n], err = io.Tensor(n)
		require.NoError(t, err)
	}
	for _, path := range modelFiles(t, dir) {
		m, err := Load(path, be, nil)
		require.NoError(t, err)
		out, err := m.Forward(context.Background(), ref["x"], &Options{Stages: []int{0, 1, 2, 3}})
		require.NoError(t, err)
		got := map[string]*kernels.Tensor{"logits": out.Logits, "pooled": out.Pooled}
		for i, s := range out.Stages {
			got[fmt.Sprint("stage", i)] = s
		}
		for name, g := range got {
			d := maxAbsDiff(t, name, ref[name], g)
			t.Logf("cuda %s %-7s max|Δ| = %.3g", filepath.Base(path), name, d)
			require.LessOrEqual(t, d, tol, name)
		}
	}
}

// BenchmarkVMambaTinyCUDA is BenchmarkVMambaTiny on the CUDA backend (host
// input and outputs, transfers included).
func BenchmarkVMambaTinyCUDA(b *testing.B) {
	be := openCUDA(b)
	cfg, _ := Preset("vmamba-tiny")
	m, err := New(cfg, be, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, side := range []int{224, 1024} {
		b.Run(fmt.Sprintf("%dx%d", side, side), func(b *testing.B) {
			x := randInput(side, 1, 3, side, side)
			opts := &Options{Stages: []int{0, 1, 2, 3}}
			for b.Loop() {
				if _, err := m.Forward(context.Background(), x, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
