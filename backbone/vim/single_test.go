package vim

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// TestGoldenParitySingle runs the golden inputs one image at a time (batch
// 1 takes the fused in_proj GEMM on the CPU) and checks each image's
// features and logits against the fixture's rows, on the CPU backend and on
// the serial one (branches not run concurrently).
func TestGoldenParitySingle(t *testing.T) {
	dir := golden.Dir(t, "vim")
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	path := goldenCheckpoints(t, dir)[0]
	for _, be := range []kernels.Backend{kernels.CPU(), kernels.CPUSerial()} {
		m, err := Load(path, be)
		require.NoError(t, err, path)
		for _, suf := range ioCases(t, io) {
			x, err := io.Tensor("x" + suf)
			require.NoError(t, err)
			wantF, err := io.Tensor("features" + suf)
			require.NoError(t, err)
			wantL, err := io.Tensor("logits" + suf)
			require.NoError(t, err)
			for i := range x.Dim(0) {
				feat, logits, err := m.Forward(context.Background(), x.Narrow0(i, 1))
				require.NoError(t, err)
				d := maxAbsDiff(feat.Data, wantF.Narrow0(i, 1).Data)
				require.LessOrEqual(t, d, tol, fmt.Sprintf("features%s[%d]", suf, i))
				require.LessOrEqual(t, maxAbsDiff(logits.Data, wantL.Narrow0(i, 1).Data), tol, fmt.Sprintf("logits%s[%d]", suf, i))
				t.Logf("x%s[%d]: features max abs diff %.3g", suf, i, d)
			}
		}
	}
}
