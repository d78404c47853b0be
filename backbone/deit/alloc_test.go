package deit

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// TestForwardAllocs: in steady state Forward allocates only its two
// outputs and small bookkeeping (views, shape slices), never activations
// (they live in a pooled workspace). Bytes are logged, not asserted: a GC
// may empty the sync.Pool and force one workspace rebuild.
func TestForwardAllocs(t *testing.T) {
	m, err := Load(filepath.Join(golden.Dir(t, "deit"), "model.safetensors"), kernels.CPU())
	require.NoError(t, err)
	x := randInput(2, 3, 64, 64, 0)
	ctx := context.Background()
	_, _, err = m.Forward(ctx, x)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		if _, _, err := m.Forward(ctx, x); err != nil {
			t.Fatal(err)
		}
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		_, _, _ = m.Forward(ctx, x)
	}
	runtime.ReadMemStats(&after)
	perCall := float64(after.TotalAlloc-before.TotalAlloc) / runs
	tokenBuf := float64(x.Dim(0) * m.cfg.PosRows() * m.cfg.EmbedDim * 4)
	t.Logf("%.0f allocations, %.0f bytes per Forward (one token buffer: %.0f bytes, activations in all: ~%.0f)", allocs, perCall, tokenBuf, tokenBuf*12)
	require.Less(t, allocs, 400.0)
}
