package vim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
	"github.com/gomamba/gomamba/mamba"
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

// TestGPUStages compares the CUDA backend with the CPU stage by stage on the
// Vim fixture (embedded sequence, every block's mixer output and residual,
// the final tokens) and, inside block 0's mixer, every scratch tensor, so a
// divergence names the op that caused it.
func TestGPUStages(t *testing.T) {
	gpu := openGPU(t)
	cpu := kernels.CPU()
	dir := golden.Dir(t, "vim")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	x, err := io.Tensor("x")
	require.NoError(t, err)
	path := filepath.Join(dir, "vim_model.safetensors")
	mc, err := Load(path, cpu)
	require.NoError(t, err)
	mg, err := Load(path, gpu)
	require.NoError(t, err)

	type stage struct {
		name string
		data []float32
	}
	trace := func(m *Model, be kernels.Backend, xin *kernels.Tensor) []stage {
		var st []stage
		ws := mamba.NewWorkspace()
		out, _, _, err := m.run(context.Background(), ws, xin, func(i int, hidden, residual *kernels.Tensor) error {
			st = append(st, stage{"residual in block " + strconv.Itoa(i), be.ToHost(residual).Clone().Data})
			st = append(st, stage{"mixer out block " + strconv.Itoa(i), be.ToHost(hidden).Clone().Data})
			return nil
		})
		require.NoError(t, err)
		return append(st, stage{"norm_f out", be.ToHost(out).Clone().Data})
	}
	sc := trace(mc, cpu, x)
	sg := trace(mg, gpu, gpu.FromHost(x))
	for i := range sc {
		t.Logf("%-22s max abs diff %.3g", sc[i].name, maxAbsDiff(sc[i].data, sg[i].data))
	}

	// Inside block 0's mixer, on the same input.
	l, c := sc[0].data, mc.cfg.EmbedDim
	h := kernels.MustFromSlice(append([]float32(nil), l...), x.Dim(0), len(l)/x.Dim(0)/c, c)
	run := func(m *Model, be kernels.Backend) (*mamba.Workspace, *kernels.Tensor) {
		ws := mamba.NewWorkspace()
		hn := be.New(h.Shape()...)
		m.layers[0].Norm.forward(be, hn, be.FromHost(h))
		out := be.New(h.Shape()...)
		m.layers[0].Mixer.Forward(be, ws, out, hn)
		return ws, out
	}
	wc, oc := run(mc, cpu)
	wg, og := run(mg, gpu)
	bt, L := h.Dim(0), h.Dim(1)
	e, r, n := mc.cfg.Inner(), mc.cfg.Rank(), mc.cfg.DState
	// Where each scratch tensor lives after the mixer: the GPU runs the
	// branches one after the other in ws, its backward scan adding y_b
	// into y_f; the CPU (more than one processor) runs them concurrently,
	// each branch with its own sub-workspace, and adds y_b into y_f after
	// both. y_f (the sum) is compared, y_b has no GPU twin. The backward
	// branch ran last on the GPU, so the branch scratch there is its.
	cpuWS := func(name string) *mamba.Workspace {
		if concurrentBranches(cpu) && strings.HasPrefix(name, "mamba.") {
			return wc.Sub("vim.bwd")
		}
		return wc
	}
	for _, s := range []struct {
		name  string
		shape []int
	}{
		{"vim.z", []int{bt, e, L}}, {"vim.yf", []int{bt, e, L}},
		{"mamba.branch.xc", []int{bt, e, L}}, {"mamba.branch.xdbl", []int{bt, r + 2*n, L}}, {"mamba.branch.dtlow", []int{bt, r, L}},
		{"mamba.branch.B", []int{bt, n, L}}, {"mamba.branch.C", []int{bt, n, L}}, {"mamba.branch.dt", []int{bt, e, L}},
	} {
		a := cpu.ToHost(cpuWS(s.name).Get(cpu, s.name, s.shape...)).Data
		b := gpu.ToHost(wg.Get(gpu, s.name, s.shape...)).Data
		t.Logf("mixer0 %-20s max abs diff %.3g", s.name, maxAbsDiff(a, b))
	}
	t.Logf("mixer0 out               max abs diff %.3g", maxAbsDiff(oc.Data, gpu.ToHost(og).Data))
	require.LessOrEqual(t, maxAbsDiff(sc[len(sc)-1].data, sg[len(sg)-1].data), 1e-4)
}
