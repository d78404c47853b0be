package vision

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/backbone/vim"
	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

// requireCUDAEnv, set to 1, turns "no GPU" into a failure (GPU machines).
const requireCUDAEnv = "GOMAMBA_REQUIRE_CUDA"

// openGPU returns the CUDA backend or skips when the machine has none (the
// only reason this test skips).
func openGPU(t testing.TB) kernels.Backend {
	t.Helper()
	be, err := cuda.Open()
	if err != nil {
		if errors.Is(err, cuda.ErrNoDevice) && os.Getenv(requireCUDAEnv) != "1" {
			t.Skipf("no CUDA GPU here: %v", err)
		}
		t.Fatalf("cuda.Open: %v", err)
	}
	return be
}

// TestGPUParity runs the Vim fixtures through the public API on the CUDA
// backend: logits and dense features against the golden and the CPU.
func TestGPUParity(t *testing.T) {
	be := openGPU(t)
	dir := golden.Dir(t, "vim")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	for _, path := range vimFixtures(t) {
		gm, err := Load(path, WithBackend(be))
		require.NoError(t, err)
		cm, err := Load(path)
		require.NoError(t, err)
		for _, name := range io.Names() {
			suf, ok := strings.CutPrefix(name, "x")
			if !ok || (suf != "" && suf[0] != '_') {
				continue
			}
			x, err := io.Tensor(name)
			require.NoError(t, err)
			want, err := io.Tensor("logits" + suf)
			require.NoError(t, err)
			got, err := gm.Logits(context.Background(), x)
			require.NoError(t, err)
			d := maxAbsDiff(got.Data, want.Data)
			t.Logf("cuda %s %s: logits max abs diff %.3g", filepath.Base(path), name, d)
			require.LessOrEqual(t, d, 1e-4)
			gf, err := gm.FeaturesBatch(context.Background(), x, nil)
			require.NoError(t, err)
			cf, err := cm.FeaturesBatch(context.Background(), x, nil)
			require.NoError(t, err)
			for i := range gf {
				d := maxAbsDiff(gf[i].Data.Data, cf[i].Data.Data)
				require.LessOrEqual(t, d, 1e-4, "%s %s", gf[i].Name, name)
			}
		}
	}
}

// BenchmarkGPUVimTiny: a randomly initialised vim-tiny on the CUDA backend,
// batch 1, at 224² and 1024² (images/s).
func BenchmarkGPUVimTiny(b *testing.B) {
	be := openGPU(b)
	cfg, _ := vim.Preset("vim-tiny")
	m, err := vim.NewRandom(cfg, be, 1)
	require.NoError(b, err)
	for _, size := range []int{224, 1024} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%d/batch%d", size, batch), func(b *testing.B) {
				x := kernels.New(batch, 3, size, size)
				r := rand.New(rand.NewPCG(1, 2))
				for i := range x.Data {
					x.Data[i] = float32(r.NormFloat64())
				}
				xd := be.FromHost(x)
				run := func() {
					f, l, err := m.Forward(context.Background(), xd)
					if err != nil {
						b.Fatal(err)
					}
					be.ToHost(l)
					be.Free(f)
					be.Free(l)
				}
				run()
				b.ResetTimer()
				for b.Loop() {
					run()
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
