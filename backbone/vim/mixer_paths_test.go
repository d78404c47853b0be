package vim

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/mamba"
)

// plainCPU is the CPU backend without its optional interfaces (no
// GateSummer): BiMixer then gates inside each scan and adds the
// directions, the reference composition.
type plainCPU struct{ kernels.Backend }

// TestMixerPaths checks that BiMixer's CPU paths with the fused gated sum
// (both scans ungated, then yf = (yf + yb)·silu(z)) agree with the gated
// scans and Add: the two-goroutine balanced path (chunks of both
// directions, a partial last chunk) and the one-goroutine path, at N = 16
// (SIMD scan) and N = 4, against plainCPU on one goroutine.
func TestMixerPaths(t *testing.T) {
	for _, n := range []int{16, 4} {
		t.Run(fmt.Sprintf("N=%d", n), func(t *testing.T) {
			cfg := small(ClsMiddle)
			cfg.EmbedDim, cfg.DState, cfg.Depth = 80, n, 1 // E = 160: two full chunks and one of 32
			m, err := NewRandom(cfg, kernels.CPU(), 3)
			require.NoError(t, err)
			mix := &m.layers[0].Mixer
			l := 37
			h := randInput(5, 1, l, cfg.EmbedDim)
			run := func(be kernels.Backend, procs int) []float32 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				out := kernels.New(1, l, cfg.EmbedDim)
				mix.Forward(be, mamba.NewWorkspace(), out, h)
				return out.Data
			}
			want := run(plainCPU{kernels.CPU()}, 1)
			for _, c := range []struct {
				name  string
				be    kernels.Backend
				procs int
			}{{"balanced", kernels.CPU(), 2}, {"serial", kernels.CPUSerial(), 1}, {"plain-2", plainCPU{kernels.CPU()}, 2}} {
				got := run(c.be, c.procs)
				var worst float64
				for i := range got {
					worst = max(worst, math.Abs(float64(got[i]-want[i]))/(1e-3+math.Abs(float64(want[i]))))
				}
				t.Logf("%s: max relative diff %.3g", c.name, worst)
				require.Less(t, worst, 1e-5, c.name)
			}
		})
	}
}
