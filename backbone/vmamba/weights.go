package vmamba

import (
	"fmt"
	"math"

	"github.com/gomamba/gomamba/kernels"
)

// role tells random initialisation what a parameter is.
type role int

const (
	roleMatrix    role = iota // conv or linear weight: N(0, 0.02²)
	roleBias                  // zeros
	roleNormW                 // ones
	roleNormB                 // zeros
	roleALog                  // log(1..N) per row
	roleSkip                  // Ds: ones
	roleDeltaBias             // inverse softplus of dt ∈ [1e-3, 0.1]
)

// param is one named tensor of the model: its checkpoint key, shape, where
// it lives, and how random initialisation fills it.
type param struct {
	name  string
	shape []int
	dst   **kernels.Tensor
	role  role
}

// ss2dWeights are one SS2D module (the block's "op").
type ss2dWeights struct {
	inProj     *kernels.Tensor // (Dproj, Dm, 1, 1): Linear2d as a 1×1 conv
	conv       *kernels.Tensor // (Di, 1, K, K) depthwise
	convBias   *kernels.Tensor // (Di) or nil
	xProj      *kernels.Tensor // (4, R+2N, Di)
	dtProj     *kernels.Tensor // (4, Di, R)
	dtBias     *kernels.Tensor // (4·Di): delta_bias
	a          *kernels.Tensor // (4·Di, N): −exp(A_logs), made at load
	ds         *kernels.Tensor // (4·Di)
	outNormW   *kernels.Tensor // (Di)
	outNormB   *kernels.Tensor // (Di)
	outProj    *kernels.Tensor // (Dm, Di, 1, 1)
	di, r, n   int
	gated      bool
	kernelSize int
	// pair[0] holds directions 0 and 1 (forward scans), pair[1] directions
	// 2 and 3 (run as reverse scans over the same sequences): views of the
	// rows of dtProj, dtBias, a and ds (copies on a device).
	pair [2]ss2dPair
	// xProjBoth is (2, 2(R+2N), Di): row block h of direction k is the
	// x_proj weight of direction k + 2h, so one batched MatMul serves both
	// pairs (their sequences are the same two).
	xProjBoth *kernels.Tensor
}

// ss2dPair is the scan parameters of two directions.
type ss2dPair struct {
	dtProj *kernels.Tensor // (2, Di, R)
	dtBias *kernels.Tensor // (2·Di)
	a      *kernels.Tensor // (2·Di, N)
	ds     *kernels.Tensor // (2·Di)
}

// blockWeights are one VSSBlock.
type blockWeights struct {
	normW, normB   *kernels.Tensor
	op             ss2dWeights
	norm2W, norm2B *kernels.Tensor
	fc1W, fc1B     *kernels.Tensor // (hidden, dim, 1, 1), (hidden)
	fc2W, fc2B     *kernels.Tensor // (dim, hidden, 1, 1), (dim)
}

// downWeights join stage i to stage i+1.
type downWeights struct {
	convW, convB *kernels.Tensor // v2/v3: conv
	normW, normB *kernels.Tensor // LayerNorm2d after the conv (v2/v3) or before the reduction (v1)
	reduction    *kernels.Tensor // v1: (out, 4·dim, 1, 1)
}

// weights are all parameters of a VSSM / Backbone_VSSM.
type weights struct {
	// Stem: conv0 (+norm0) for v1; conv0, norm0, GELU, conv1, norm1 for v2.
	pe0W, pe0B, peN0W, peN0B *kernels.Tensor
	pe1W, pe1B, peN1W, peN1B *kernels.Tensor
	blocks                   [][]blockWeights
	down                     []downWeights
	clsNormW, clsNormB       *kernels.Tensor
	headW, headB             *kernels.Tensor
	outNormW, outNormB       []*kernels.Tensor // Backbone_VSSM outnorm{i}, or nil
}

// layout says which optional parts a checkpoint has.
type layout struct {
	classifier bool // classifier.norm (+ head when NumClasses > 0)
	outNorms   bool // outnorm0..3 of Backbone_VSSM
}

// params lists every parameter of cfg with its official key (after the
// legacy renames), in the order of the official state dict.
func (w *weights) params(cfg *Config, lay layout) []param {
	var ps []param
	add := func(name string, dst **kernels.Tensor, r role, shape ...int) {
		ps = append(ps, param{name: name, shape: shape, dst: dst, role: r})
	}
	c0 := cfg.Dims[0]
	if cfg.PatchEmbed == 1 {
		add("patch_embed.0.weight", &w.pe0W, roleMatrix, c0, cfg.InChans, 4, 4)
		add("patch_embed.0.bias", &w.pe0B, roleBias, c0)
		add("patch_embed.2.weight", &w.peN0W, roleNormW, c0)
		add("patch_embed.2.bias", &w.peN0B, roleNormB, c0)
	} else {
		add("patch_embed.0.weight", &w.pe0W, roleMatrix, c0/2, cfg.InChans, 3, 3)
		add("patch_embed.0.bias", &w.pe0B, roleBias, c0/2)
		add("patch_embed.2.weight", &w.peN0W, roleNormW, c0/2)
		add("patch_embed.2.bias", &w.peN0B, roleNormB, c0/2)
		add("patch_embed.5.weight", &w.pe1W, roleMatrix, c0, c0/2, 3, 3)
		add("patch_embed.5.bias", &w.pe1B, roleBias, c0)
		add("patch_embed.7.weight", &w.peN1W, roleNormW, c0)
		add("patch_embed.7.bias", &w.peN1B, roleNormB, c0)
	}
	ns := cfg.Stages()
	w.blocks = make([][]blockWeights, ns)
	w.down = make([]downWeights, ns)
	for i := range ns {
		dim, di, r, n := cfg.Dims[i], cfg.Inner(i), cfg.Rank(i), cfg.DState
		dproj := di
		if cfg.Gated {
			dproj = 2 * di
		}
		w.blocks[i] = make([]blockWeights, cfg.Depths[i])
		for j := range cfg.Depths[i] {
			b := &w.blocks[i][j]
			b.op = ss2dWeights{di: di, r: r, n: n, gated: cfg.Gated, kernelSize: cfg.ConvKernel}
			p := fmt.Sprintf("layers.%d.blocks.%d.", i, j)
			add(p+"norm.weight", &b.normW, roleNormW, dim)
			add(p+"norm.bias", &b.normB, roleNormB, dim)
			add(p+"op.out_norm.weight", &b.op.outNormW, roleNormW, di)
			add(p+"op.out_norm.bias", &b.op.outNormB, roleNormB, di)
			add(p+"op.in_proj.weight", &b.op.inProj, roleMatrix, dproj, dim)
			add(p+"op.conv2d.weight", &b.op.conv, roleMatrix, di, 1, cfg.ConvKernel, cfg.ConvKernel)
			if cfg.ConvBias {
				add(p+"op.conv2d.bias", &b.op.convBias, roleBias, di)
			}
			add(p+"op.x_proj_weight", &b.op.xProj, roleMatrix, 4, r+2*n, di)
			add(p+"op.out_proj.weight", &b.op.outProj, roleMatrix, dim, di)
			add(p+"op.A_logs", &b.op.a, roleALog, 4*di, n)
			add(p+"op.Ds", &b.op.ds, roleSkip, 4*di)
			add(p+"op.dt_projs_weight", &b.op.dtProj, roleMatrix, 4, di, r)
			add(p+"op.dt_projs_bias", &b.op.dtBias, roleDeltaBias, 4, di)
			if cfg.MLPRatio > 0 {
				h := cfg.Hidden(i)
				add(p+"norm2.weight", &b.norm2W, roleNormW, dim)
				add(p+"norm2.bias", &b.norm2B, roleNormB, dim)
				add(p+"mlp.fc1.weight", &b.fc1W, roleMatrix, h, dim)
				add(p+"mlp.fc1.bias", &b.fc1B, roleBias, h)
				add(p+"mlp.fc2.weight", &b.fc2W, roleMatrix, dim, h)
				add(p+"mlp.fc2.bias", &b.fc2B, roleBias, dim)
			}
		}
		if i+1 < ns {
			d := &w.down[i]
			p := fmt.Sprintf("layers.%d.downsample.", i)
			next := cfg.Dims[i+1]
			switch cfg.Downsample {
			case 1:
				add(p+"norm.weight", &d.normW, roleNormW, 4*dim)
				add(p+"norm.bias", &d.normB, roleNormB, 4*dim)
				add(p+"reduction.weight", &d.reduction, roleMatrix, next, 4*dim)
			default:
				k := 3
				if cfg.Downsample == 2 {
					k = 2
				}
				add(p+"1.weight", &d.convW, roleMatrix, next, dim, k, k)
				add(p+"1.bias", &d.convB, roleBias, next)
				add(p+"3.weight", &d.normW, roleNormW, next)
				add(p+"3.bias", &d.normB, roleNormB, next)
			}
		}
	}
	last := cfg.Dims[ns-1]
	if lay.classifier {
		add("classifier.norm.weight", &w.clsNormW, roleNormW, last)
		add("classifier.norm.bias", &w.clsNormB, roleNormB, last)
		if cfg.NumClasses > 0 {
			add("classifier.head.weight", &w.headW, roleMatrix, cfg.NumClasses, last)
			add("classifier.head.bias", &w.headB, roleBias, cfg.NumClasses)
		}
	}
	if lay.outNorms {
		w.outNormW = make([]*kernels.Tensor, ns)
		w.outNormB = make([]*kernels.Tensor, ns)
		for i := range ns {
			add(fmt.Sprintf("outnorm%d.weight", i), &w.outNormW[i], roleNormW, cfg.Dims[i])
			add(fmt.Sprintf("outnorm%d.bias", i), &w.outNormB[i], roleNormB, cfg.Dims[i])
		}
	}
	return ps
}

// randomFill initialises a host tensor for its role (deterministic in seed).
func randomFill(t *kernels.Tensor, r role, next func() float64) {
	switch r {
	case roleMatrix:
		for i := range t.Data {
			t.Data[i] = float32(0.02 * next())
		}
	case roleNormW, roleSkip:
		for i := range t.Data {
			t.Data[i] = 1
		}
	case roleALog:
		n := t.Dim(-1)
		for i := range t.Data {
			t.Data[i] = float32(math.Log(float64(i%n + 1)))
		}
	case roleDeltaBias:
		for i := range t.Data {
			u := 0.5 + 0.5*math.Tanh(next()) // in (0, 1)
			dt := math.Exp(u*(math.Log(0.1)-math.Log(1e-3)) + math.Log(1e-3))
			t.Data[i] = float32(dt + math.Log(-math.Expm1(-dt))) // inverse softplus
		}
	default: // biases
		clear(t.Data)
	}
}

// prepare turns loaded host tensors into the forms the forward pass uses
// (1×1 conv weights, A = −exp(A_logs), flattened delta bias) and uploads
// them to be.
func (w *weights) prepare(ps []param, be kernels.Backend) {
	hosts := map[**kernels.Tensor]*kernels.Tensor{}
	defer func() {
		for i := range w.blocks {
			for j := range w.blocks[i] {
				op := &w.blocks[i][j].op
				for h := range op.pair {
					di := op.di
					op.pair[h] = ss2dPair{
						dtProj: be.FromHost(hosts[&op.dtProj].Narrow0(2*h, 2)),
						dtBias: be.FromHost(hosts[&op.dtBias].Narrow0(2*h*di, 2*di)),
						a:      be.FromHost(hosts[&op.a].Narrow0(2*h*di, 2*di)),
						ds:     be.FromHost(hosts[&op.ds].Narrow0(2*h*di, 2*di)),
					}
					kernels.Prepack(be, op.pair[h].dtProj)
				}
				xp := hosts[&op.xProj] // (4, R+2N, Di)
				rows := xp.Dim(1) * xp.Dim(2)
				both := kernels.New(2, 2*xp.Dim(1), xp.Dim(2))
				for k := range 2 {
					for h := range 2 {
						copy(both.Data[(2*k+h)*rows:(2*k+h+1)*rows], xp.Data[(k+2*h)*rows:(k+2*h+1)*rows])
					}
				}
				op.xProjBoth = be.FromHost(both)
				b := &w.blocks[i][j]
				kernels.Prepack(be, op.xProjBoth, op.inProj, op.outProj, b.fc1W, b.fc2W)
			}
		}
		// The other left GEMM operands (stem and downsampling convs),
		// arranged once on the CPU (a no-op on a device).
		kernels.Prepack(be, w.pe0W, w.pe1W)
		for i := range w.down {
			kernels.Prepack(be, w.down[i].convW, w.down[i].reduction)
		}
	}()
	for _, p := range ps {
		t := *p.dst
		switch {
		case p.role == roleALog:
			a := kernels.New(t.Shape()...)
			for i, v := range t.Data {
				a.Data[i] = -float32(math.Exp(float64(v)))
			}
			t = a
		case p.role == roleDeltaBias:
			t = t.Reshape(t.Len())
		case p.role == roleMatrix && len(p.shape) == 2 && !isHeadOrProj(p.name):
			t = t.Reshape(p.shape[0], p.shape[1], 1, 1) // Linear2d → 1×1 conv
		}
		hosts[p.dst] = t
		*p.dst = be.FromHost(t)
	}
}

// isHeadOrProj reports the 2-D weights used as matrices rather than 1×1
// convs: the classifier head.
func isHeadOrProj(name string) bool { return name == "classifier.head.weight" }
