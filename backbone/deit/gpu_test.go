package deit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

func openGPU(t testing.TB) kernels.Backend {
	t.Helper()
	be, err := cuda.Open()
	if err != nil {
		if errors.Is(err, cuda.ErrNoDevice) && os.Getenv("GOMAMBA_REQUIRE_CUDA") != "1" {
			t.Skipf("no CUDA GPU here: %v", err)
		}
		t.Fatalf("cuda.Open: %v", err)
	}
	return be
}

// TestGPUGolden runs the fixture on the CUDA backend: logits and pre_logits
// of every input (native and other size) against timm, and every stage
// against the CPU so a divergence names the stage.
func TestGPUGolden(t *testing.T) {
	gpu := openGPU(t)
	dir := golden.Dir(t, "deit")
	io := openF(t, filepath.Join(dir, "io.safetensors"))
	path := filepath.Join(dir, "model.safetensors")
	mg, err := Load(path, gpu)
	require.NoError(t, err)
	mc, err := Load(path, kernels.CPU())
	require.NoError(t, err)
	for _, n := range []string{"", "_alt"} {
		x := tensor(t, io, "x"+n)
		xd := gpu.FromHost(x)
		pre, logits, err := mg.Forward(context.Background(), xd)
		require.NoError(t, err)
		require.NoError(t, gpu.Sync())
		for _, c := range []struct {
			name string
			got  *kernels.Tensor
		}{{"logits" + n, logits}, {"pre_logits" + n, pre}} {
			d := maxAbsDiff(t, tensor(t, io, c.name), gpu.ToHost(c.got))
			t.Logf("cuda %s max abs diff %.3g", c.name, d)
			require.LessOrEqual(t, d, tol, c.name)
		}
		trace := func(m *Model, be kernels.Backend, xin *kernels.Tensor) map[string]*kernels.Tensor {
			st := map[string]*kernels.Tensor{}
			_, _, _, err := m.run(context.Background(), m.workspace(), xin, m.cfg.Depth, func(s stage, i int, t *kernels.Tensor) error {
				st[fmt.Sprintf("stage%d.%d", s, i)] = be.ToHost(t).Clone()
				return nil
			})
			require.NoError(t, err)
			return st
		}
		sc, sg := trace(mc, kernels.CPU(), x), trace(mg, gpu, xd)
		for k, v := range sc {
			t.Logf("x%s %s cpu vs cuda %.3g", n, k, maxAbsDiff(t, v, sg[k]))
		}
		maps, err := mg.Features(context.Background(), xd, []int{-1})
		require.NoError(t, err)
		mapsC, err := mc.Features(context.Background(), x, []int{-1})
		require.NoError(t, err)
		require.LessOrEqual(t, maxAbsDiff(t, mapsC[0], gpu.ToHost(maps[0])), tol)
	}
}

// BenchmarkDeiTTinyGPU is deit-tiny (random weights) on the CUDA backend at
// 224², including the upload of the batch and the download of the logits.
func BenchmarkDeiTTinyGPU(b *testing.B) {
	gpu := openGPU(b)
	cfg, _ := Preset("deit-tiny")
	m, err := NewRandom(cfg, gpu, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, bt := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("224/batch%d", bt), func(b *testing.B) {
			x := randInput(bt, 3, 224, 224, 0)
			ctx := context.Background()
			step := func() {
				xd := gpu.FromHost(x)
				pre, logits, err := m.Forward(ctx, xd)
				if err != nil {
					b.Fatal(err)
				}
				gpu.ToHost(logits)
				for _, t := range []*kernels.Tensor{xd, pre, logits} {
					gpu.Free(t)
				}
				if err := gpu.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			step()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(b.N*bt)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
