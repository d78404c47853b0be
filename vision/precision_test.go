package vision

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels/cuda"
)

// TestWithPrecisionCPU: the CPU computes in fp32 only, so a reduced
// precision is refused with an error naming the backend, and fp32 loads.
func TestWithPrecisionCPU(t *testing.T) {
	path := vimFixtures(t)[0]
	_, err := Load(path, WithPrecision("bf16"))
	require.ErrorContains(t, err, "fp32 only")
	m, err := Load(path, WithPrecision("FP32"))
	require.NoError(t, err)
	require.Equal(t, "vim", m.Family())
}

// TestWithPrecisionGPU: on the CUDA backend WithPrecision sets the
// backend's GEMM precision, and an unknown name is an error.
func TestWithPrecisionGPU(t *testing.T) {
	be := openGPU(t).(*cuda.Backend)
	defer func() { require.NoError(t, be.SetPrecision(cuda.PrecisionFP32)) }()
	path := vimFixtures(t)[0]
	_, err := Load(path, WithBackend(be), WithPrecision("fp8"))
	require.ErrorContains(t, err, "precision")
	if _, err := Load(path, WithBackend(be), WithPrecision("bf16")); err != nil {
		require.ErrorContains(t, err, "needs cuBLAS")
		t.Skip("cuBLAS not loaded on this GPU machine")
	}
	require.Equal(t, cuda.PrecisionBF16, be.Precision())
}
