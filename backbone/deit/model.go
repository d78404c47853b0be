package deit

import (
	"context"
	"fmt"
	"math"

	"github.com/gomamba/gomamba/heads"
	"github.com/gomamba/gomamba/internal/reuse"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/mamba"
	"github.com/gomamba/gomamba/patch"
)

// Model is a DeiT/ViT network with its weights resident on one backend.
//
// A Model is immutable after construction apart from a mutex-guarded cache
// of position tables per input grid and a pool of scratch workspaces, so it
// is safe for concurrent use: every call brings its own activations.
type Model struct {
	cfg Config
	be  kernels.Backend

	embed   patch.Embed
	cls     *kernels.Tensor // (1, 1, C)
	pos     *kernels.Tensor // native table (1+g², C) on be
	posHost []float32       // host copy of the native table, for resampling
	blocks  []Block
	norm    LayerNorm
	head    *heads.Linear // nil without a head

	posCache patch.Cache[*kernels.Tensor]
	wsPool   reuse.Pool[*mamba.Workspace] // not sync.Pool: see package reuse
}

// LayerNorm holds a LayerNorm's affine parameters and epsilon.
type LayerNorm struct {
	W, B *kernels.Tensor // (C)
	Eps  float32
}

// Block is one pre-norm transformer block:
// x += Proj(Attn(LN1(x))); x += FC2(GELU(FC1(LN2(x)))).
type Block struct {
	Norm1, Norm2 LayerNorm
	// Q, K and V are the three row blocks of attn.qkv.weight (3C, C),
	// split at load; QB, KB, VB the matching bias thirds (nil without
	// qkv_bias).
	Q, K, V     *kernels.Tensor // (C, C)
	QB, KB, VB  *kernels.Tensor // (C)
	Proj, ProjB *kernels.Tensor // (C, C), (C)
	FC1, FC1B   *kernels.Tensor // (hidden, C), (hidden)
	FC2, FC2B   *kernels.Tensor // (C, hidden), (C)

	qkv, qkvB *kernels.Tensor // the stored tensors before the split
}

// param is one named weight: its state-dict key, shape and destination.
type param struct {
	name  string
	shape []int
	dst   **kernels.Tensor
}

// skeleton returns an empty Model for cfg and its parameters in timm's
// state-dict naming.
func skeleton(cfg Config) (*Model, []param) {
	c, hid := cfg.EmbedDim, cfg.MLPHidden
	m := &Model{cfg: cfg}
	m.embed = patch.Embed{Patch: cfg.Patch, Stride: cfg.Patch}
	var ps []param
	add := func(name string, dst **kernels.Tensor, shape ...int) {
		ps = append(ps, param{name, shape, dst})
	}
	add("cls_token", &m.cls, 1, 1, c)
	add("pos_embed", &m.pos, 1, cfg.PosRows(), c)
	add("patch_embed.proj.weight", &m.embed.Weight, c, cfg.Channels, cfg.Patch, cfg.Patch)
	add("patch_embed.proj.bias", &m.embed.Bias, c)
	ln := func(prefix string, n *LayerNorm) {
		n.Eps = cfg.NormEps
		add(prefix+".weight", &n.W, c)
		add(prefix+".bias", &n.B, c)
	}
	m.blocks = make([]Block, cfg.Depth)
	for i := range m.blocks {
		b := &m.blocks[i]
		p := fmt.Sprintf("blocks.%d.", i)
		ln(p+"norm1", &b.Norm1)
		add(p+"attn.qkv.weight", &b.qkv, 3*c, c)
		if cfg.QKVBias {
			add(p+"attn.qkv.bias", &b.qkvB, 3*c)
		}
		add(p+"attn.proj.weight", &b.Proj, c, c)
		add(p+"attn.proj.bias", &b.ProjB, c)
		ln(p+"norm2", &b.Norm2)
		add(p+"mlp.fc1.weight", &b.FC1, hid, c)
		add(p+"mlp.fc1.bias", &b.FC1B, hid)
		add(p+"mlp.fc2.weight", &b.FC2, c, hid)
		add(p+"mlp.fc2.bias", &b.FC2B, c)
	}
	ln("norm", &m.norm)
	if cfg.NumClasses > 0 {
		m.head = &heads.Linear{}
		add("head.weight", &m.head.Weight, cfg.NumClasses, c)
		add("head.bias", &m.head.Bias, cfg.NumClasses)
	}
	return m, ps
}

// finish splits qkv into q, k, v, reshapes the tables and uploads every
// host tensor to be.
func (m *Model) finish(be kernels.Backend) {
	m.be = be
	c := m.cfg.EmbedDim
	rows := m.cfg.PosRows()
	m.posHost = m.pos.Data
	m.pos = be.FromHost(m.pos.Reshape(rows, c))
	m.cls = be.FromHost(m.cls)
	m.embed.Weight, m.embed.Bias = be.FromHost(m.embed.Weight), be.FromHost(m.embed.Bias)
	up := func(ts ...**kernels.Tensor) {
		for _, t := range ts {
			if *t != nil {
				*t = be.FromHost(*t)
			}
		}
	}
	third := func(t *kernels.Tensor, i int) *kernels.Tensor {
		if t == nil {
			return nil
		}
		return t.Narrow0(i*c, c).Clone()
	}
	for i := range m.blocks {
		b := &m.blocks[i]
		b.Q, b.K, b.V = third(b.qkv, 0), third(b.qkv, 1), third(b.qkv, 2)
		b.QB, b.KB, b.VB = third(b.qkvB, 0), third(b.qkvB, 1), third(b.qkvB, 2)
		b.qkv, b.qkvB = nil, nil
		up(&b.Norm1.W, &b.Norm1.B, &b.Norm2.W, &b.Norm2.B, &b.Q, &b.K, &b.V, &b.QB, &b.KB, &b.VB,
			&b.Proj, &b.ProjB, &b.FC1, &b.FC1B, &b.FC2, &b.FC2B)
	}
	up(&m.norm.W, &m.norm.B)
	if m.head != nil {
		up(&m.head.Weight, &m.head.Bias)
	}
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Backend returns the backend holding the weights.
func (m *Model) Backend() kernels.Backend { return m.be }

func (m *Model) workspace() *mamba.Workspace {
	if ws, ok := m.wsPool.Get(); ok {
		return ws
	}
	return mamba.NewWorkspace()
}

// PosEmbed returns the position table (1 + gh·gw, C) used for a gh×gw patch
// grid, on the model's backend: the stored table for the native grid,
// otherwise timm's resample_abs_pos_embed of it (cls row kept, the grid
// resized with PyTorch's antialiased bicubic, a = −0.5), cached per grid.
// The caller must not modify or free it.
func (m *Model) PosEmbed(gh, gw int) (*kernels.Tensor, error) {
	g := m.cfg.Grid()
	if gh == g && gw == g {
		return m.pos, nil
	}
	return m.posCache.Get(gh, gw, func() (*kernels.Tensor, error) {
		c := m.cfg.EmbedDim
		grid, err := patch.ResizeGridAA(m.posHost[c:], g, g, c, gh, gw)
		if err != nil {
			return nil, fmt.Errorf("deit: position embedding for a %dx%d grid: %w", gh, gw, err)
		}
		tab := make([]float32, 0, (1+gh*gw)*c)
		tab = append(append(tab, m.posHost[:c]...), grid...)
		return m.be.FromHost(kernels.MustFromSlice(tab, 1+gh*gw, c)), nil
	})
}

// maxScoreElems bounds the attention score buffer (Bt·heads·rows·L
// floats, 256 MiB): longer sequences are processed in chunks of query rows,
// so memory grows linearly with the token count.
var maxScoreElems = 64 << 20

// attention runs multi-head self-attention of block b on xn (Bt, L, C) and
// writes the projected output into out (Bt, L, C): timm's explicit path
// q·scale → q·kᵀ → softmax → ·v → proj.
func (m *Model) attention(ws *mamba.Workspace, b *Block, out, xn *kernels.Tensor) {
	be := m.be
	bt, l, c := xn.Dim(0), xn.Dim(1), xn.Dim(2)
	nh, hd := m.cfg.Heads, m.cfg.HeadDim()
	bh := bt * nh
	lin := ws.Get(be, "deit.lin", bt, l, c)
	split := func(name string, w, bias *kernels.Tensor) *kernels.Tensor {
		be.Linear(lin, xn, w, bias)
		t := ws.Get(be, name, bt, nh, l, hd)
		be.Permute(t, lin.Reshape(bt, l, nh, hd), 0, 2, 1, 3)
		return t.Reshape(bh, l, hd)
	}
	q := split("deit.q", b.Q, b.QB)
	k := split("deit.k", b.K, b.KB)
	v := split("deit.v", b.V, b.VB)
	be.Scale(q, q, float32(1/math.Sqrt(float64(hd))))
	o := ws.Get(be, "deit.o", bh, l, hd)
	rows := l
	if bh*l*l > maxScoreElems {
		rows = max(1, maxScoreElems/(bh*l))
	}
	if rows == l {
		s := ws.Get(be, "deit.scores", bh, l, l)
		be.MatMul(s, q, k, false, true)
		be.Softmax(s, s)
		be.MatMul(o, s, v, false, false)
	} else {
		for r0 := 0; r0 < l; r0 += rows {
			n := min(rows, l-r0)
			qc := ws.Get(be, fmt.Sprintf("deit.qc%d", n), bh, n, hd)
			s := ws.Get(be, fmt.Sprintf("deit.scores%d", n), bh, n, l)
			oc := ws.Get(be, fmt.Sprintf("deit.oc%d", n), bh, n, hd)
			be.CopyBox(qc, []int{0, 0, 0}, q, []int{0, r0, 0}, []int{bh, n, hd})
			be.MatMul(s, qc, k, false, true)
			be.Softmax(s, s)
			be.MatMul(oc, s, v, false, false)
			be.CopyBox(o, []int{0, r0, 0}, oc, []int{0, 0, 0}, []int{bh, n, hd})
		}
	}
	be.Permute(lin.Reshape(bt, l, nh, hd), o.Reshape(bt, nh, l, hd), 0, 2, 1, 3)
	be.Linear(out, lin, b.Proj, b.ProjB)
}

// forward runs block b on the residual stream x (Bt, L, C) in place.
func (m *Model) forward(ws *mamba.Workspace, b *Block, x *kernels.Tensor) {
	be := m.be
	bt, l, c := x.Dim(0), x.Dim(1), x.Dim(2)
	xn := ws.Get(be, "deit.xn", bt, l, c)
	y := ws.Get(be, "deit.y", bt, l, c)
	be.LayerNorm(xn, x, b.Norm1.W, b.Norm1.B, b.Norm1.Eps)
	m.attention(ws, b, y, xn)
	be.Add(x, x, y)
	be.LayerNorm(xn, x, b.Norm2.W, b.Norm2.B, b.Norm2.Eps)
	h := ws.Get(be, "deit.mlp", bt, l, m.cfg.MLPHidden)
	be.Linear(h, xn, b.FC1, b.FC1B)
	be.Unary(h, h, kernels.ActGELU)
	be.Linear(y, h, b.FC2, b.FC2B)
	be.Add(x, x, y)
}

// stage names the intermediate tensors a trunk visitor sees.
type stage int

const (
	stagePatches stage = iota // patch_embed_out (Bt, N, C)
	stageTokens               // tokens_in (Bt, 1+N, C)
	stageBlock                // blocks.i.out (Bt, 1+N, C)
	stageNorm                 // norm_out (Bt, 1+N, C)
)

// run is the trunk: patch embedding, cls token first, position table,
// the blocks and the final LayerNorm. visit, if non-nil, sees every stage
// (i is the block index for stageBlock) and may stop the run with an error.
// It returns the normalised tokens (Bt, 1+gh·gw, C), a workspace buffer.
func (m *Model) run(ctx context.Context, ws *mamba.Workspace, x *kernels.Tensor, depth int,
	visit func(s stage, i int, t *kernels.Tensor) error) (out *kernels.Tensor, gh, gw int, err error) {
	be := m.be
	if x.Rank() != 4 || x.Dim(1) != m.cfg.Channels || x.Dim(0) == 0 {
		return nil, 0, 0, fmt.Errorf("deit: input %v, want (batch, %d, H, W)", x.Shape(), m.cfg.Channels)
	}
	gh, gw, err = m.embed.Grid(x.Dim(2), x.Dim(3))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("deit: %w", err)
	}
	pos, err := m.PosEmbed(gh, gw)
	if err != nil {
		return nil, 0, 0, err
	}
	if visit == nil {
		visit = func(stage, int, *kernels.Tensor) error { return nil }
	}
	bt, c, np := x.Dim(0), m.cfg.EmbedDim, gh*gw
	l := np + 1
	grid := ws.Get(be, "deit.grid", bt, c, gh, gw)
	m.embed.Forward(be, grid, x)
	res := ws.Get(be, "deit.residual", bt, l, c)
	tokens := ws.Get(be, "deit.tokens", bt, np, c)
	be.Permute(tokens, grid.Reshape(bt, c, np), 0, 2, 1)
	if err := visit(stagePatches, 0, tokens); err != nil {
		return nil, 0, 0, err
	}
	for i := range bt {
		be.CopyBox(res, []int{i, 0, 0}, m.cls, []int{0, 0, 0}, []int{1, 1, c})
	}
	be.CopyBox(res, []int{0, 1, 0}, tokens, []int{0, 0, 0}, []int{bt, np, c})
	be.Add(res, res, pos)
	if err := visit(stageTokens, 0, res); err != nil {
		return nil, 0, 0, err
	}
	for i := range depth {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		m.forward(ws, &m.blocks[i], res)
		if err := visit(stageBlock, i, res); err != nil {
			return nil, 0, 0, err
		}
	}
	out = ws.Get(be, "deit.out", bt, l, c)
	be.LayerNorm(out, res, m.norm.W, m.norm.B, m.norm.Eps)
	if err := visit(stageNorm, 0, out); err != nil {
		return nil, 0, 0, err
	}
	return out, gh, gw, nil
}

// Forward runs the network on x (Bt, Channels, H, W), a normalised image
// batch in the backend's memory, and returns pre_logits (Bt, C) — the
// final-norm output at the class token, timm's forward_head(pre_logits=True)
// — and the logits (Bt, NumClasses), nil without a head. Any H, W of at
// least one patch works (timm's dynamic_img_size): the position table is
// resampled to the patch grid (PosEmbed); sides that are not multiples of
// the patch lose their remainder, as PyTorch's strided conv.
func (m *Model) Forward(ctx context.Context, x *kernels.Tensor) (preLogits, logits *kernels.Tensor, err error) {
	ws := m.workspace()
	defer m.wsPool.Put(ws)
	out, _, _, err := m.run(ctx, ws, x, m.cfg.Depth, nil)
	if err != nil {
		return nil, nil, err
	}
	bt, c := x.Dim(0), m.cfg.EmbedDim
	preLogits = m.be.New(bt, c)
	m.be.CopyBox(preLogits.Reshape(bt, 1, c), []int{0, 0, 0}, out, []int{0, 0, 0}, []int{bt, 1, c})
	if m.head != nil {
		logits = m.be.New(bt, m.head.Classes())
		m.head.Forward(m.be, logits, preLogits)
	}
	return preLogits, logits, nil
}

// Features runs the trunk on x and returns, for each block index in blocks
// (0-based; negative counts from the end), the residual stream after that
// block without the class token, as a (Bt, C, Gh, Gw) map (timm's
// forward_intermediates with norm=False). The trunk stops after the last
// requested block. The maps are new tensors owned by the caller.
func (m *Model) Features(ctx context.Context, x *kernels.Tensor, blocks []int) ([]*kernels.Tensor, error) {
	want := make(map[int][]int)
	last := -1
	for k, b := range blocks {
		if b < 0 {
			b += m.cfg.Depth
		}
		if b < 0 || b >= m.cfg.Depth {
			return nil, fmt.Errorf("deit: feature block %d out of range (depth %d)", blocks[k], m.cfg.Depth)
		}
		want[b] = append(want[b], k)
		last = max(last, b)
	}
	if len(blocks) == 0 {
		return nil, nil
	}
	ws := m.workspace()
	defer m.wsPool.Put(ws)
	out := make([]*kernels.Tensor, len(blocks))
	be := m.be
	_, _, _, err := m.run(ctx, ws, x, last+1, func(s stage, i int, t *kernels.Tensor) error {
		if s != stageBlock {
			return nil
		}
		for _, k := range want[i] {
			bt, l, c := t.Dim(0), t.Dim(1), t.Dim(2)
			tok := ws.Get(be, "deit.feat", bt, l-1, c)
			be.CopyBox(tok, []int{0, 0, 0}, t, []int{0, 1, 0}, []int{bt, l - 1, c})
			fm := be.New(bt, c, l-1)
			be.Permute(fm, tok, 0, 2, 1)
			out[k] = fm
		}
		return nil
	})
	if err != nil {
		for _, t := range out {
			if t != nil {
				be.Free(t)
			}
		}
		return nil, err
	}
	gh, gw, _ := m.embed.Grid(x.Dim(2), x.Dim(3))
	for k, t := range out {
		out[k] = t.Reshape(t.Dim(0), t.Dim(1), gh, gw)
	}
	return out, nil
}
