package vim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/mamba"
)

// NewRandom builds a model of configuration cfg on be with weights drawn
// like the official initialisation (vim/models_mamba.py and Mamba's
// __init__): truncated-normal(0.02) position embedding, cls token and head;
// uniform fan-in linears and convolutions; dt_proj bias = softplus⁻¹ of a
// log-uniform dt in [1e-3, 0.1]; A_log = log(1..N); D = 1. It is meant for
// benchmarks, tests and as a training starting point; the same seed gives
// the same weights.
func NewRandom(cfg Config, be kernels.Backend, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, params := skeleton(cfg)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	uniform := func(t *kernels.Tensor, bound float64) {
		for i := range t.Data {
			t.Data[i] = float32((rng.Float64()*2 - 1) * bound)
		}
	}
	trunc := func(t *kernels.Tensor, std float64) {
		for i := range t.Data {
			v := rng.NormFloat64()
			for math.Abs(v) > 2 {
				v = rng.NormFloat64()
			}
			t.Data[i] = float32(v * std)
		}
	}
	for _, p := range params {
		t := kernels.New(p.shape...)
		name := p.name
		fanIn := 1
		for _, d := range p.shape[1:] {
			fanIn *= d
		}
		switch {
		case name == "pos_embed" || name == "head.weight" || name[:min(len(name), 9)] == "cls_token":
			trunc(t, 0.02)
		case endsWith(name, "norm.weight", "norm_f.weight"):
			fill(t, 1)
		case endsWith(name, "norm.bias", "norm_f.bias", "head.bias"):
		case endsWith(name, "A_log", "A_b_log"):
			n := p.shape[1]
			for i := range t.Data {
				t.Data[i] = float32(math.Log(float64(i%n + 1)))
			}
		case endsWith(name, ".D", ".D_b"):
			fill(t, 1)
		case endsWith(name, "dt_proj.bias", "dt_proj_b.bias"):
			for i := range t.Data {
				dt := math.Exp(rng.Float64()*(math.Log(0.1)-math.Log(1e-3)) + math.Log(1e-3))
				t.Data[i] = float32(dt + math.Log(-math.Expm1(-dt)))
			}
		case endsWith(name, "dt_proj.weight", "dt_proj_b.weight"):
			uniform(t, math.Pow(float64(cfg.Rank()), -0.5))
		case len(p.shape) == 1: // conv and patch biases
			uniform(t, 1/math.Sqrt(float64(max(fanIn, cfg.DConv))))
		default:
			uniform(t, 1/math.Sqrt(float64(fanIn)))
		}
		*p.dst = t
	}
	if err := m.finish(be); err != nil {
		return nil, err
	}
	return m, nil
}

func fill(t *kernels.Tensor, v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

func endsWith(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if len(s) >= len(x) && s[len(s)-len(x):] == x {
			return true
		}
	}
	return false
}

// StateDict returns the model's weights under their official names as host
// tensors (for saving with checkpoint.SaveSafetensors). Weights on a device
// backend are copied back.
func (m *Model) StateDict() []checkpoint.Named {
	_, params := skeleton(m.cfg)
	// Rebuild the list against this model's own tensors.
	own := map[string]*kernels.Tensor{}
	collect := func(name string, t *kernels.Tensor, shape ...int) {
		h := m.be.ToHost(t)
		own[name] = kernels.MustFromSlice(h.Data, shape...)
	}
	c := m.cfg.EmbedDim
	collect("patch_embed.proj.weight", m.embed.Weight, m.embed.Weight.Shape()...)
	collect("patch_embed.proj.bias", m.embed.Bias, c)
	clsNames := map[ClsPlacement][]string{ClsMiddle: {"cls_token"}, ClsHead: {"cls_token"}, ClsDouble: {"cls_token_head", "cls_token_tail"}}
	for i, n := range clsNames[m.cfg.Cls] {
		collect(n, m.cls[i], 1, 1, c)
	}
	collect("pos_embed", m.pos, 1, m.posRows, c)
	for i := range m.layers {
		b := &m.layers[i]
		p := fmt.Sprintf("layers.%d.", i)
		collect(p+"norm.weight", b.Norm.W, c)
		if b.Norm.B != nil {
			collect(p+"norm.bias", b.Norm.B, c)
		}
		xw, zw := m.be.ToHost(b.Mixer.InProjX), m.be.ToHost(b.Mixer.InProjZ)
		own[p+"mixer.in_proj.weight"] = kernels.MustFromSlice(append(append([]float32(nil), xw.Data...), zw.Data...), 2*xw.Dim(0), xw.Dim(1))
		collect(p+"mixer.out_proj.weight", b.Mixer.OutProj, b.Mixer.OutProj.Shape()...)
		for _, d := range []struct {
			suf, a string
			br     *mamba.Branch
		}{{"", "A_log", &b.Mixer.Fwd}, {"_b", "A_b_log", &b.Mixer.Bwd}} {
			br := d.br
			collect(p+"mixer.conv1d"+d.suf+".weight", br.ConvW, br.ConvW.Dim(0), 1, br.ConvW.Dim(1))
			collect(p+"mixer.conv1d"+d.suf+".bias", br.ConvB, br.ConvB.Shape()...)
			collect(p+"mixer.x_proj"+d.suf+".weight", br.XProj, br.XProj.Shape()...)
			collect(p+"mixer.dt_proj"+d.suf+".weight", br.DTProjW, br.DTProjW.Shape()...)
			collect(p+"mixer.dt_proj"+d.suf+".bias", br.DTProjB, br.DTProjB.Shape()...)
			collect(p+"mixer."+d.a, br.ALog, br.ALog.Shape()...)
			collect(p+"mixer.D"+d.suf, br.D, br.D.Shape()...)
		}
	}
	collect("norm_f.weight", m.normF.W, c)
	if m.normF.B != nil {
		collect("norm_f.bias", m.normF.B, c)
	}
	if m.head != nil {
		collect("head.weight", m.head.Weight, m.head.Weight.Shape()...)
		collect("head.bias", m.head.Bias, m.head.Bias.Shape()...)
	}
	out := make([]checkpoint.Named, 0, len(params))
	for _, p := range params {
		out = append(out, checkpoint.Named{Name: p.name, Tensor: own[p.name]})
	}
	return out
}
