package vision

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// TestVMambaFamilyGolden loads the VMamba fixture through the public API
// (sniffed family) and checks logits, stage maps and pooled features.
func TestVMambaFamilyGolden(t *testing.T) {
	dir := golden.Dir(t, "vmamba")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	get := func(n string) *kernels.Tensor {
		x, err := io.Tensor(n)
		require.NoError(t, err)
		return x
	}
	x := get("x")
	near := func(name string, want, got *kernels.Tensor) {
		require.Equal(t, want.Shape(), got.Shape(), name)
		var d float64
		for i := range want.Data {
			d = max(d, math.Abs(float64(want.Data[i]-got.Data[i])))
		}
		require.LessOrEqual(t, d, 1e-4, name)
	}
	for _, file := range []string{"vmamba_model.pth", "vmamba_model.safetensors"} {
		m, err := Load(filepath.Join(dir, file))
		require.NoError(t, err)
		require.Equal(t, "vmamba", m.Family())
		require.Equal(t, 10, m.NumClasses())
		logits, err := m.Logits(context.Background(), x)
		require.NoError(t, err)
		near("logits", get("logits"), logits)
		maps, err := m.FeaturesBatch(context.Background(), x, nil)
		require.NoError(t, err)
		require.Len(t, maps, 4)
		for i, f := range maps {
			require.Equal(t, 4<<i, f.Stride)
			near(f.Name, get(f.Name), f.Data)
		}
		pf, ok := m.Network().(PooledFeaturer)
		require.True(t, ok)
		ms, pooled, err := pf.FeaturesPooled(context.Background(), x, []int{-1})
		require.NoError(t, err)
		near("stage3", get("stage3"), ms[0])
		near("pooled", get("pooled"), pooled)
		require.NotNil(t, VMamba(m.Network()))
	}
}
