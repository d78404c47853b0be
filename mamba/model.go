package mamba

import (
	"context"
	"fmt"
	"sync"

	"github.com/gomamba/gomamba/kernels"
)

// Block is one residual block: x ← x + Mixer(RMSNorm(x)).
type Block struct {
	// Norm is the RMSNorm weight (d_model).
	Norm *kernels.Tensor
	// Mixer is the block's Mamba mixer.
	Mixer Mixer
}

// Model is the Mamba language model (transformers MambaForCausalLM,
// mamba_ssm MambaLMHeadModel): embedding → NLayer blocks → norm_f → LM head
// tied to the embedding, with logits over all PaddedVocab rows (like both
// official implementations; rows past the tokenizer's vocabulary exist and
// can win the argmax of a random model).
//
// Build one with Load (from a checkpoint folder) or New + Prepare. Forward
// is safe for concurrent use (calls are serialised on an internal
// workspace); generation state lives in a State, one per goroutine.
type Model struct {
	// Config is the model's configuration.
	Config Config
	// Embedding is (PaddedVocab, DModel).
	Embedding *kernels.Tensor
	// Head is the LM head (PaddedVocab, DModel); the same tensor as
	// Embedding when the embeddings are tied.
	Head *kernels.Tensor
	// Blocks are the residual blocks, in order.
	Blocks []Block
	// NormF is the final RMSNorm weight (DModel).
	NormF *kernels.Tensor

	// embP and headP replace Embedding and Head under bf16 or int8
	// storage (UseBF16, UseInt8); they are one matrix when the embeddings
	// are tied. precision is the weight storage ("" = fp32).
	embP, headP kernels.PackedMatrix
	precision   string

	be       kernels.Backend
	mu       sync.Mutex
	ws       *Workspace
	prepared bool
}

// slot is one weight of the model: its transformers name, its checkpoint
// shape and where it lives.
type slot struct {
	name  string
	shape []int
	dst   **kernels.Tensor
}

// newModel returns the model skeleton of cfg without weights.
func newModel(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if n := cfg.Params(); n > kernels.MaxTensorElements {
		return nil, fmt.Errorf("mamba: config has %d parameters, more than this build supports", n)
	}
	m := &Model{Config: cfg, Blocks: make([]Block, cfg.NLayer), ws: NewWorkspace()}
	for i := range m.Blocks {
		m.Blocks[i].Mixer.DTRank, m.Blocks[i].Mixer.DState = cfg.Rank(), cfg.DState
	}
	return m, nil
}

// slots lists every weight with its transformers (LayoutHF) name and
// checkpoint shape (conv1d.weight is (d_inner, 1, d_conv) there).
func (m *Model) slots() []slot {
	cfg := m.Config
	d, e, n, r, k, v := cfg.DModel, cfg.Inner(), cfg.DState, cfg.Rank(), cfg.DConv, cfg.PaddedVocab()
	out := []slot{{"backbone.embeddings.weight", []int{v, d}, &m.Embedding}}
	if !cfg.TieEmbeddings {
		out = append(out, slot{"lm_head.weight", []int{v, d}, &m.Head})
	}
	out = append(out, slot{"backbone.norm_f.weight", []int{d}, &m.NormF})
	for i := range m.Blocks {
		p := fmt.Sprintf("backbone.layers.%d.", i)
		b := &m.Blocks[i]
		mx := &b.Mixer
		add := func(name string, dst **kernels.Tensor, shape ...int) {
			out = append(out, slot{p + name, shape, dst})
		}
		add("norm.weight", &b.Norm, d)
		add("mixer.in_proj.weight", &mx.InProj, 2*e, d)
		if cfg.Bias {
			add("mixer.in_proj.bias", &mx.InProjB, 2*e)
			add("mixer.out_proj.bias", &mx.OutProjB, d)
		}
		add("mixer.conv1d.weight", &mx.ConvW, e, 1, k)
		if cfg.ConvBias {
			add("mixer.conv1d.bias", &mx.ConvB, e)
		}
		add("mixer.x_proj.weight", &mx.XProj, r+2*n, e)
		add("mixer.dt_proj.weight", &mx.DTProjW, e, r)
		add("mixer.dt_proj.bias", &mx.DTProjB, e)
		add("mixer.A_log", &mx.ALog, e, n)
		add("mixer.D", &mx.D, e)
		add("mixer.out_proj.weight", &mx.OutProj, d, e)
	}
	return out
}

// New returns a model of the given configuration with zero weights in host
// memory. Fill them through HostTensors, then call Prepare before use.
func New(cfg Config) (*Model, error) {
	m, err := newModel(cfg)
	if err != nil {
		return nil, err
	}
	for _, s := range m.slots() {
		*s.dst = kernels.New(s.shape...)
	}
	return m, nil
}

// HostTensors returns the model's weights before Prepare, keyed by their
// transformers (LayoutHF) names with the checkpoint shapes (conv1d.weight is
// (d_inner, 1, d_conv)). Writing into them sets the weights. After Prepare
// it returns nil.
func (m *Model) HostTensors() map[string]*kernels.Tensor {
	if m.prepared {
		return nil
	}
	out := map[string]*kernels.Tensor{}
	for _, s := range m.slots() {
		out[s.name] = *s.dst
	}
	return out
}

// Prepare moves the weights into be's memory, precomputes A = −exp(A_log)
// and checks every shape. The model is ready for inference afterwards.
func (m *Model) Prepare(be kernels.Backend) error {
	if m.prepared {
		return fmt.Errorf("mamba: model already prepared for %s", m.be.Name())
	}
	for _, s := range m.slots() {
		t := *s.dst
		if t == nil {
			return fmt.Errorf("mamba: weight %s not set", s.name)
		}
		if !kernels.EqualShape(t.Shape(), s.shape) {
			return fmt.Errorf("mamba: weight %s has shape %v, want %v", s.name, t.Shape(), s.shape)
		}
	}
	captureMu.RLock()
	defer captureMu.RUnlock()
	for _, s := range m.slots() {
		*s.dst = be.FromHost(*s.dst)
	}
	if m.Config.TieEmbeddings {
		m.Head = m.Embedding
	}
	for i := range m.Blocks {
		mx := &m.Blocks[i].Mixer
		mx.ConvW = mx.ConvW.Reshape(mx.ConvW.Dim(0), mx.ConvW.Dim(2))
		mx.A = NegExpA(be, mx.ALog)
		if err := mx.Check(); err != nil {
			return fmt.Errorf("mamba: layer %d: %w", i, err)
		}
	}
	if err := be.Sync(); err != nil {
		return fmt.Errorf("mamba: prepare on %s: %w", be.Name(), err)
	}
	m.be, m.prepared = be, true
	return nil
}

// Release frees the weights in the backend's memory (a no-op on the CPU,
// where the garbage collector reclaims them); the model is unusable after.
func (m *Model) Release() {
	if !m.prepared {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	captureMu.RLock()
	defer captureMu.RUnlock()
	m.ws.Release()
	tied := m.Head == m.Embedding
	for _, t := range []*kernels.Tensor{m.Embedding, m.NormF} {
		if t != nil {
			m.be.Free(t)
		}
	}
	if !tied && m.Head != nil {
		m.be.Free(m.Head)
	}
	for i := range m.Blocks {
		b := &m.Blocks[i]
		mx := &b.Mixer
		for _, t := range []*kernels.Tensor{b.Norm, mx.InProj, mx.InProjB, mx.OutProj, mx.OutProjB, mx.ConvW, mx.ConvB, mx.XProj, mx.DTProjW, mx.DTProjB, mx.ALog, mx.D, mx.A} {
			if t != nil {
				m.be.Free(t)
			}
		}
	}
	m.prepared = false
	m.Blocks, m.Embedding, m.Head, m.NormF = nil, nil, nil, nil
	m.embP, m.headP, m.precision = nil, nil, ""
}

// Backend returns the backend the model was prepared for (nil before
// Prepare).
func (m *Model) Backend() kernels.Backend { return m.be }

// ForwardOptions tune Forward. A nil *ForwardOptions means defaults.
type ForwardOptions struct {
	// Hidden, if set, is called with intermediate activations (host
	// tensors, valid only during the call): "embeddings" (Bt, L, d),
	// "layers.<i>.out" (the residual stream after block i) and "norm_f_out".
	Hidden func(name string, t *kernels.Tensor)
}

// checkIDs validates a batch of token sequences and returns its length.
func (m *Model) checkIDs(ids [][]int, sameLen bool) (int, error) {
	if !m.prepared {
		return 0, fmt.Errorf("mamba: model not prepared (call Prepare or use Load)")
	}
	if len(ids) == 0 {
		return 0, fmt.Errorf("mamba: empty batch")
	}
	v := m.Config.PaddedVocab()
	l := len(ids[0])
	for b, row := range ids {
		if len(row) == 0 {
			return 0, fmt.Errorf("mamba: sequence %d is empty", b)
		}
		if sameLen && len(row) != l {
			return 0, fmt.Errorf("mamba: sequence %d has %d tokens, sequence 0 has %d (Forward needs equal lengths)", b, len(row), l)
		}
		for _, id := range row {
			if id < 0 || id >= v {
				return 0, fmt.Errorf("mamba: sequence %d: token id %d outside the vocabulary [0, %d)", b, id, v)
			}
		}
	}
	return l, nil
}

// embed writes the embeddings of ids (flattened row-major) into dst (…, d).
func (m *Model) embed(dst *kernels.Tensor, ids [][]int) {
	d := m.Config.DModel
	flat := dst.Reshape(-1, d)
	i := 0
	for _, row := range ids {
		for _, id := range row {
			m.embedRow(flat, i, id)
			i++
		}
	}
}

// Forward runs the model over equal-length sequences (no cache) and returns
// the logits (Bt, L, PaddedVocab) in a new host tensor.
func (m *Model) Forward(ctx context.Context, ids [][]int, opt *ForwardOptions) (*kernels.Tensor, error) {
	l, err := m.checkIDs(ids, true)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	captureMu.RLock()
	defer captureMu.RUnlock()
	be, ws := m.be, m.ws
	bt, d := len(ids), m.Config.DModel
	x := ws.Get(be, "mamba.lm.x", bt, l, d)
	m.embed(x, ids)
	hook := func(name string, t *kernels.Tensor) {
		if opt != nil && opt.Hidden != nil {
			opt.Hidden(name, be.ToHost(t))
		}
	}
	hook("embeddings", x)
	hn := ws.Get(be, "mamba.lm.hn", bt, l, d)
	mo := ws.Get(be, "mamba.lm.mo", bt, l, d)
	eps := float32(m.Config.NormEps)
	for i := range m.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &m.Blocks[i]
		be.RMSNorm(hn, x, b.Norm, eps)
		b.Mixer.Forward(be, ws, mo, hn)
		be.Add(x, x, mo)
		hook(fmt.Sprintf("layers.%d.out", i), x)
	}
	be.RMSNorm(hn, x, m.NormF, eps)
	hook("norm_f_out", hn)
	logits := be.New(bt, l, m.Config.PaddedVocab())
	linear(be, logits, hn, m.Head, m.headP, nil)
	if err := be.Sync(); err != nil {
		return nil, fmt.Errorf("mamba: forward on %s: %w", be.Name(), err)
	}
	host := be.ToHost(logits)
	if host != logits {
		be.Free(logits)
	}
	return host, nil
}
