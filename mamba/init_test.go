package mamba

import (
	"math"
	"slices"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestInitRandom checks InitRandom's distributions and determinism.
func TestInitRandom(t *testing.T) {
	cfg := smallConfig()
	a, _ := New(cfg)
	b, _ := New(cfg)
	if err := a.InitRandom(3); err != nil {
		t.Fatal(err)
	}
	b.InitRandom(3)
	ha, hb := a.HostTensors(), b.HostTensors()
	for name, x := range ha {
		if !slices.Equal(x.Data, hb[name].Data) {
			t.Errorf("%s differs between two inits with the same seed", name)
		}
	}
	aLog := ha["backbone.layers.1.mixer.A_log"]
	if aLog.Data[0] != 0 || math.Abs(float64(aLog.Data[cfg.DState-1])-math.Log(float64(cfg.DState))) > 1e-6 {
		t.Errorf("A_log row %v", aLog.Data[:cfg.DState])
	}
	for _, v := range ha["backbone.layers.0.mixer.dt_proj.bias"].Data {
		dt := math.Log1p(math.Exp(float64(v)))
		if dt < 1e-3*0.999 || dt > 0.1*1.001 {
			t.Fatalf("softplus(dt bias) = %g outside [1e-3, 0.1]", dt)
		}
	}
	bound := 1 / math.Sqrt(float64(cfg.DModel))
	for _, v := range ha["backbone.layers.0.mixer.in_proj.weight"].Data {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("in_proj weight %g beyond ±%g", v, bound)
		}
	}
	if err := a.Prepare(kernels.CPU()); err != nil {
		t.Fatal(err)
	}
	if a.InitRandom(1) == nil {
		t.Error("InitRandom after Prepare succeeded")
	}
}
