package main

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels/cuda"
)

func TestOpenBackendPrecision(t *testing.T) {
	be, err := openBackendPrecision("cpu", "fp32")
	require.NoError(t, err)
	require.Equal(t, "cpu", deviceLabel(be))
	_, err = openBackendPrecision("CPU", "bf16")
	require.ErrorContains(t, err, "fp32 only")
	_, err = openBackendPrecision("tpu", "fp32")
	require.Error(t, err)

	g, err := openBackendPrecision("cuda", "bf16")
	if errors.Is(err, cuda.ErrNoDevice) && os.Getenv("GOMAMBA_REQUIRE_CUDA") != "1" {
		t.Skipf("no CUDA GPU here: %v", err)
	}
	if err != nil {
		require.ErrorContains(t, err, "needs cuBLAS")
		return
	}
	defer g.(*cuda.Backend).SetPrecision(cuda.PrecisionFP32)
	require.Equal(t, "cuda:0 bf16", deviceLabel(g))
	_, err = openBackendPrecision("cuda", "fp8")
	require.Error(t, err)
}
