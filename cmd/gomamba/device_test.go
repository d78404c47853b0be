package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
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
	// Unknown precisions fail on every device, before auto can fall back.
	for _, dev := range []string{"auto", "cpu", "cuda"} {
		_, err = openBackendPrecision(dev, "int4")
		require.ErrorContains(t, err, `--precision "int4"`, dev)
		_, err = openBackendPrecision(dev, "int8")
		require.ErrorContains(t, err, "language model on the CPU", dev)
	}

	// auto: the GPU when there is one, else the CPU with a one-line notice.
	var notice bytes.Buffer
	noticeOut = &notice
	defer func() { noticeOut = os.Stderr }()
	for _, p := range []string{"fp32", "bf16"} {
		notice.Reset()
		be, err := openBackendPrecision("auto", p)
		if g, gpu := be.(*cuda.Backend); gpu {
			require.Equal(t, "cuda:0 "+p, deviceLabel(g))
			require.NoError(t, g.SetPrecision(cuda.PrecisionFP32)) // the backend is shared
			continue
		}
		if err != nil && !errors.Is(err, cuda.ErrNoDevice) {
			continue // a GPU without cuBLAS refuses bf16: covered below
		}
		require.NoError(t, err)
		require.Equal(t, "cpu", deviceLabel(be))
		require.Equal(t, 1, strings.Count(notice.String(), "\n"), "one line: %q", notice.String())
		require.Contains(t, notice.String(), "running on the CPU")
		if p == "bf16" {
			require.Contains(t, notice.String(), "fp32")
		}
	}

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
