package mamba

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// TestMixerInternals checks one Mixer.Forward per layer against the
// per-stage tensors of debug_internals.safetensors (a debugging aid present
// only in some fixture sets; the LM parity test does not depend on it).
func TestMixerInternals(t *testing.T) {
	set := golden.Dir(t, "mamba_lm")
	path := filepath.Join(set, "debug_internals.safetensors")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s (optional debugging aid)", path)
	}
	dbg := openFixture(t, path)
	m, err := Load(filepath.Join(set, "hf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	be := m.Backend()
	for i := range m.Blocks {
		p := fmt.Sprintf("layers.%d.", i)
		in := dbg.tensor(t, p+"norm_out")
		bt, l, d := in.Dim(0), in.Dim(1), in.Dim(2)
		ws := NewWorkspace()
		out := be.New(bt, l, d)
		m.Blocks[i].Mixer.Forward(be, ws, out, in)
		e := m.Config.Inner()
		check := func(name string, got *kernels.Tensor) {
			if d := maxDiff(t, p+name, dbg.tensor(t, p+name), got); d > tol {
				t.Errorf("%s%s: max |diff| %.3g", p, name, d)
			} else {
				t.Logf("%s%-22s max |diff| %.3g", p, name, d)
			}
		}
		check("mixer.conv1d_silu_out", ws.Get(be, "mamba.branch.xc", bt, e, l))
		y := ws.Get(be, "mamba.mixer.y", bt, e, l)
		yt := be.New(bt, l, e)
		be.Permute(yt, y, 0, 2, 1)
		check("mixer.out_proj_in", yt)
		check("mixer_out", out)
	}
}
