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

	be       kernels.Backend
	host     map[string]*kernels.Tensor // checkpoint-shaped host tensors by HF key
	mu       sync.Mutex
	ws       *Workspace
	prepared bool
}

// New returns a model of the given configuration with zero weights in host
// memory. Fill them through HostTensors, then call Prepare before use.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if n := cfg.Params(); n > kernels.MaxTensorElements {
		return nil, fmt.Errorf("mamba: config has %d parameters, more than this build supports", n)
	}
	d, e, n, r, k, v := cfg.DModel, cfg.Inner(), cfg.DState, cfg.Rank(), cfg.DConv, cfg.PaddedVocab()
	m := &Model{Config: cfg, host: map[string]*kernels.Tensor{}, ws: NewWorkspace()}
	add := func(name string, shape ...int) *kernels.Tensor {
		t := kernels.New(shape...)
		m.host[name] = t
		return t
	}
	m.Embedding = add("backbone.embeddings.weight", v, d)
	m.Head = m.Embedding
	if !cfg.TieEmbeddings {
		m.Head = add("lm_head.weight", v, d)
	}
	m.NormF = add("backbone.norm_f.weight", d)
	m.Blocks = make([]Block, cfg.NLayer)
	for i := range m.Blocks {
		p := fmt.Sprintf("backbone.layers.%d.", i)
		b := &m.Blocks[i]
		b.Norm = add(p+"norm.weight", d)
		mx := &b.Mixer
		mx.InProj = add(p+"mixer.in_proj.weight", 2*e, d)
		mx.OutProj = add(p+"mixer.out_proj.weight", d, e)
		if cfg.Bias {
			mx.InProjB = add(p+"mixer.in_proj.bias", 2*e)
			mx.OutProjB = add(p+"mixer.out_proj.bias", d)
		}
		mx.ConvW = add(p+"mixer.conv1d.weight", e, 1, k).Reshape(e, k)
		if cfg.ConvBias {
			mx.ConvB = add(p+"mixer.conv1d.bias", e)
		}
		mx.XProj = add(p+"mixer.x_proj.weight", r+2*n, e)
		mx.DTProjW = add(p+"mixer.dt_proj.weight", e, r)
		mx.DTProjB = add(p+"mixer.dt_proj.bias", e)
		mx.ALog = add(p+"mixer.A_log", e, n)
		mx.D = add(p+"mixer.D", e)
		mx.DTRank, mx.DState = r, n
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
	return m.host
}

// Prepare moves the weights into be's memory, precomputes A = −exp(A_log)
// and checks every shape. The model is ready for inference afterwards.
func (m *Model) Prepare(be kernels.Backend) error {
	if m.prepared {
		return fmt.Errorf("mamba: model already prepared for %s", m.be.Name())
	}
	up := func(t *kernels.Tensor) *kernels.Tensor {
		if t == nil {
			return nil
		}
		return be.FromHost(t)
	}
	tied := m.Head == m.Embedding
	m.Embedding = up(m.Embedding)
	if tied {
		m.Head = m.Embedding
	} else {
		m.Head = up(m.Head)
	}
	m.NormF = up(m.NormF)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		b.Norm = up(b.Norm)
		mx := &b.Mixer
		for _, p := range []**kernels.Tensor{&mx.InProj, &mx.InProjB, &mx.OutProj, &mx.OutProjB, &mx.ConvW, &mx.ConvB, &mx.XProj, &mx.DTProjW, &mx.DTProjB, &mx.ALog, &mx.D} {
			*p = up(*p)
		}
		mx.A = NegExpA(be, mx.ALog)
		if err := mx.Check(); err != nil {
			return fmt.Errorf("mamba: layer %d: %w", i, err)
		}
	}
	if err := be.Sync(); err != nil {
		return fmt.Errorf("mamba: prepare on %s: %w", be.Name(), err)
	}
	m.be, m.host, m.prepared = be, nil, true
	return nil
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
			m.be.CopyBox(flat, []int{i, 0}, m.Embedding, []int{id, 0}, []int{1, d})
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
	be.Linear(logits, hn, m.Head, nil)
	if err := be.Sync(); err != nil {
		return nil, fmt.Errorf("mamba: forward on %s: %w", be.Name(), err)
	}
	host := be.ToHost(logits)
	if host != logits {
		be.Free(logits)
	}
	return host, nil
}
