package vim

import (
	"fmt"

	"github.com/gomamba/gomamba/heads"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/mamba"
	"github.com/gomamba/gomamba/patch"
)

// param is one named weight: its checkpoint key, expected shape and where
// the loaded host tensor goes.
type param struct {
	name  string
	shape []int
	dst   **kernels.Tensor
}

// skeleton returns an empty Model for cfg and the list of its parameters in
// the official state-dict naming (vim/models_mamba.py).
func skeleton(cfg Config) (*Model, []param) {
	c, e, n, r, k := cfg.EmbedDim, cfg.Inner(), cfg.DState, cfg.Rank(), cfg.DConv
	m := &Model{cfg: cfg, posRows: cfg.PosRows()}
	m.embed = patch.Embed{Patch: cfg.Patch, Stride: cfg.Stride}
	var ps []param
	add := func(name string, dst **kernels.Tensor, shape ...int) {
		ps = append(ps, param{name, shape, dst})
	}
	add("patch_embed.proj.weight", &m.embed.Weight, c, cfg.Channels, cfg.Patch, cfg.Patch)
	add("patch_embed.proj.bias", &m.embed.Bias, c)
	switch cfg.Cls {
	case ClsMiddle, ClsHead:
		m.cls = make([]*kernels.Tensor, 1)
		add("cls_token", &m.cls[0], 1, 1, c)
	case ClsDouble:
		m.cls = make([]*kernels.Tensor, 2)
		add("cls_token_head", &m.cls[0], 1, 1, c)
		add("cls_token_tail", &m.cls[1], 1, 1, c)
	}
	add("pos_embed", &m.pos, 1, m.posRows, c)
	m.layers = make([]Block, cfg.Depth)
	mkNorm := func(prefix string, nm *norm) {
		nm.eps, nm.layerNorm = cfg.NormEps, cfg.LayerNorm
		add(prefix+".weight", &nm.W, c)
		if cfg.LayerNorm {
			add(prefix+".bias", &nm.B, c)
		}
	}
	for i := range m.layers {
		b := &m.layers[i]
		p := fmt.Sprintf("layers.%d.", i)
		mkNorm(p+"norm", &b.Norm)
		mx := &b.Mixer
		mx.DivideOut = cfg.DivideOut
		mx.Bwd.Reverse = true                              // the backward direction runs anti-causally in place
		add(p+"mixer.in_proj.weight", &mx.InProjX, 2*e, c) // split in finish
		add(p+"mixer.out_proj.weight", &mx.OutProj, c, e)
		for _, dir := range []struct {
			br  *mamba.Branch
			suf string // "" or "_b"
			a   string
		}{{&mx.Fwd, "", "A_log"}, {&mx.Bwd, "_b", "A_b_log"}} {
			br := dir.br
			br.DTRank, br.DState = r, n
			add(p+"mixer.conv1d"+dir.suf+".weight", &br.ConvW, e, 1, k)
			add(p+"mixer.conv1d"+dir.suf+".bias", &br.ConvB, e)
			add(p+"mixer.x_proj"+dir.suf+".weight", &br.XProj, r+2*n, e)
			add(p+"mixer.dt_proj"+dir.suf+".weight", &br.DTProjW, e, r)
			add(p+"mixer.dt_proj"+dir.suf+".bias", &br.DTProjB, e)
			add(p+"mixer."+dir.a, &br.ALog, e, n)
			add(p+"mixer.D"+dir.suf, &br.D, e)
		}
	}
	mkNorm("norm_f", &m.normF)
	if cfg.NumClasses > 0 {
		m.head = &heads.Linear{}
		add("head.weight", &m.head.Weight, cfg.NumClasses, c)
		add("head.bias", &m.head.Bias, cfg.NumClasses)
	}
	return m, ps
}

// finish moves the host weights of a filled skeleton to be and derives the
// precomputed tensors (A = −exp(A_log), conv weights as (E, K)).
func (m *Model) finish(be kernels.Backend) error {
	cfg := m.cfg
	c := cfg.EmbedDim
	m.be = be
	m.posHost = m.pos.Data
	m.pos = m.pos.Reshape(m.posRows, c)
	up := func(t **kernels.Tensor) {
		if *t != nil {
			*t = be.FromHost(*t)
		}
	}
	up(&m.embed.Weight)
	up(&m.embed.Bias)
	for i := range m.cls {
		m.cls[i] = m.cls[i].Reshape(c)
		up(&m.cls[i])
	}
	up(&m.pos)
	upNorm := func(nm *norm) { up(&nm.W); up(&nm.B) }
	for i := range m.layers {
		b := &m.layers[i]
		upNorm(&b.Norm)
		// Split in_proj into its x and z halves (host views, then upload).
		in := b.Mixer.InProjX
		e := in.Dim(0) / 2
		b.Mixer.InProjX, b.Mixer.InProjZ = in.Narrow0(0, e), in.Narrow0(e, e)
		if be.FromHost(in) == in { // host memory: keep the whole (2E, C) matrix for one GEMM
			b.Mixer.inProj = in
		}
		up(&b.Mixer.InProjX)
		up(&b.Mixer.InProjZ)
		if b.Mixer.DivideOut {
			// out_proj((y_f + y_b)/2) = (out_proj/2)(y_f + y_b) bit for bit
			// (halving is exact): keep a halved copy and skip the Scale.
			half := b.Mixer.OutProj.Clone()
			for j := range half.Data {
				half.Data[j] *= 0.5
			}
			b.Mixer.outProjHalf = be.FromHost(half)
		}
		up(&b.Mixer.OutProj)
		for _, br := range []*mamba.Branch{&b.Mixer.Fwd, &b.Mixer.Bwd} {
			br.ConvW = br.ConvW.Reshape(br.ConvW.Dim(0), br.ConvW.Dim(2))
			for _, t := range []**kernels.Tensor{&br.ConvW, &br.ConvB, &br.XProj, &br.DTProjW, &br.DTProjB, &br.ALog, &br.D} {
				up(t)
			}
			br.A = mamba.NegExpA(be, br.ALog)
			if err := br.Check(); err != nil {
				return fmt.Errorf("vim: layer %d: %w", i, err)
			}
			kernels.Prepack(be, br.XProj, br.DTProjW)
		}
		// The left GEMM operands, arranged once (CPU; a no-op elsewhere).
		kernels.Prepack(be, b.Mixer.inProj)
	}
	kernels.Prepack(be, m.embed.Weight)
	upNorm(&m.normF)
	if m.head != nil {
		up(&m.head.Weight)
		up(&m.head.Bias)
		if err := m.head.Check(c); err != nil {
			return fmt.Errorf("vim: %w", err)
		}
	}
	return nil
}
