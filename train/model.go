package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomamba/gomamba/kernels"
)

// Float is the element type of training: float32 to train, float64 for
// gradient checks.
type Float = kernels.Float

// Config is a Vision Mamba (hustvl/Vim, bimamba v2, middle cls token, RMSNorm,
// residual in fp32, divide-out) sized for training from scratch.
type Config struct {
	Name    string  `json:"name"`
	InChans int     `json:"in_chans"`
	ImgSize int     `json:"img_size"`
	Patch   int     `json:"patch_size"`
	Stride  int     `json:"stride"`
	Dim     int     `json:"embed_dim"`
	Depth   int     `json:"depth"`
	DState  int     `json:"d_state"`
	Classes int     `json:"num_classes"`
	DConv   int     `json:"d_conv"`
	Expand  int     `json:"expand"`
	NormEps float64 `json:"norm_epsilon"`
}

// Presets of trainable Vim sizes.
var Presets = map[string]Config{
	// vim-micro: 28×28 grayscale (Fashion-MNIST), patch 4 → 7×7 patches + cls.
	"vim-micro": {Name: "vim-micro", InChans: 1, ImgSize: 28, Patch: 4, Stride: 4, Dim: 64, Depth: 4, DState: 8, Classes: 10, DConv: 4, Expand: 2, NormEps: 1e-5},
}

// Validate checks that the sizes are usable.
func (c Config) Validate() error {
	switch {
	case c.InChans < 1 || c.ImgSize < 1 || c.Patch < 1 || c.Stride < 1 || c.Dim < 1 || c.Depth < 1 || c.DState < 1 || c.Classes < 1 || c.DConv < 1 || c.Expand < 1:
		return fmt.Errorf("train: config %q: every size must be positive: %+v", c.Name, c)
	case c.Patch > c.ImgSize:
		return fmt.Errorf("train: config %q: patch %d larger than image %d", c.Name, c.Patch, c.ImgSize)
	}
	return nil
}

func (c Config) grid() int    { return (c.ImgSize-c.Patch)/c.Stride + 1 }
func (c Config) patches() int { return c.grid() * c.grid() }
func (c Config) tokens() int  { return c.patches() + 1 }
func (c Config) mid() int     { return c.patches() / 2 }
func (c Config) inner() int   { return c.Expand * c.Dim }
func (c Config) dtRank() int  { return (c.Dim + 15) / 16 }

// Specs lists the parameters with the official Vim checkpoint keys and shapes.
func (c Config) Specs() []ParamSpec {
	C, E, N, R, K := c.Dim, c.inner(), c.DState, c.dtRank(), c.DConv
	s := []ParamSpec{
		{"patch_embed.proj.weight", []int{C, c.InChans, c.Patch, c.Patch}},
		{"patch_embed.proj.bias", []int{C}},
		{"cls_token", []int{1, 1, C}},
		{"pos_embed", []int{1, c.tokens(), C}},
	}
	for i := 0; i < c.Depth; i++ {
		p := fmt.Sprintf("layers.%d.", i)
		s = append(s,
			ParamSpec{p + "norm.weight", []int{C}},
			ParamSpec{p + "mixer.in_proj.weight", []int{2 * E, C}},
			ParamSpec{p + "mixer.out_proj.weight", []int{C, E}},
		)
		for _, b := range []string{"", "_b"} {
			alog := p + "mixer.A_log"
			d := p + "mixer.D"
			if b != "" {
				alog, d = p+"mixer.A_b_log", p+"mixer.D_b"
			}
			s = append(s,
				ParamSpec{p + "mixer.conv1d" + b + ".weight", []int{E, 1, K}},
				ParamSpec{p + "mixer.conv1d" + b + ".bias", []int{E}},
				ParamSpec{p + "mixer.x_proj" + b + ".weight", []int{R + 2*N, E}},
				ParamSpec{p + "mixer.dt_proj" + b + ".weight", []int{E, R}},
				ParamSpec{p + "mixer.dt_proj" + b + ".bias", []int{E}},
				ParamSpec{alog, []int{E, N}},
				ParamSpec{d, []int{E}},
			)
		}
	}
	s = append(s,
		ParamSpec{"norm_f.weight", []int{C}},
		ParamSpec{"head.weight", []int{c.Classes, C}},
		ParamSpec{"head.bias", []int{c.Classes}},
	)
	return s
}

// Init fills p with the official Vim/Mamba initialisation: trunc-normal(0.02)
// linears, cls and position tables; PyTorch default conv init; Mamba's dt
// init (log-uniform dt in [1e-3, 0.1] through an inverse softplus); S4D-real
// A_log = log(1..N); D = 1; unit norms.
func Init[T Float](c Config, p *Params[T], seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	E, N, R, K := c.inner(), c.DState, c.dtRank(), c.DConv
	fanIn := float64(c.InChans * c.Patch * c.Patch)
	b := 1 / math.Sqrt(fanIn)
	uniform(r, p.Get("patch_embed.proj.weight"), -b, b)
	uniform(r, p.Get("patch_embed.proj.bias"), -b, b)
	truncNormal(r, p.Get("cls_token"), 0.02)
	truncNormal(r, p.Get("pos_embed"), 0.02)
	for i := 0; i < c.Depth; i++ {
		pre := fmt.Sprintf("layers.%d.mixer.", i)
		fill(p.Get(fmt.Sprintf("layers.%d.norm.weight", i)), 1)
		truncNormal(r, p.Get(pre+"in_proj.weight"), 0.02)
		truncNormal(r, p.Get(pre+"out_proj.weight"), 0.02/math.Sqrt(float64(2*c.Depth)))
		for _, sfx := range []string{"", "_b"} {
			cb := 1 / math.Sqrt(float64(K))
			uniform(r, p.Get(pre+"conv1d"+sfx+".weight"), -cb, cb)
			uniform(r, p.Get(pre+"conv1d"+sfx+".bias"), -cb, cb)
			truncNormal(r, p.Get(pre+"x_proj"+sfx+".weight"), 0.02)
			std := 1 / math.Sqrt(float64(R))
			uniform(r, p.Get(pre+"dt_proj"+sfx+".weight"), -std, std)
			bias := p.Get(pre + "dt_proj" + sfx + ".bias")
			for j := range bias {
				dt := math.Exp(r.Float64()*(math.Log(0.1)-math.Log(1e-3)) + math.Log(1e-3))
				dt = math.Max(dt, 1e-4)
				bias[j] = T(dt + math.Log(-math.Expm1(-dt)))
			}
			alog, d := pre+"A_log", pre+"D"
			if sfx != "" {
				alog, d = pre+"A_b_log", pre+"D_b"
			}
			a := p.Get(alog)
			for e := 0; e < E; e++ {
				for n := 0; n < N; n++ {
					a[e*N+n] = T(math.Log(float64(n + 1)))
				}
			}
			fill(p.Get(d), 1)
		}
	}
	fill(p.Get("norm_f.weight"), 1)
	truncNormal(r, p.Get("head.weight"), 0.02)
}

func fill[T Float](v []T, x T) {
	for i := range v {
		v[i] = x
	}
}
