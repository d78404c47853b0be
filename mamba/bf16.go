package mamba

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// Weight precisions of a Model on the CPU (Model.UseBF16, LoadOptions).
const (
	// PrecisionFP32 keeps every weight in fp32: the parity default,
	// matching PyTorch fp32 within 1e-4.
	PrecisionFP32 = "fp32"
	// PrecisionBF16 stores the matrices of the linear layers (in_proj,
	// x_proj, dt_proj, out_proj) and the embedding / LM head in bfloat16,
	// rounded to nearest-even once; the kernels widen them to fp32 and
	// accumulate in fp32, and the scan, its state, the conv and the norms
	// stay fp32. A decode step then reads half the bytes (it streams every
	// weight once) and the model takes about half the memory. The logits
	// differ from fp32 by the rounding of the weights (see
	// TestBF16 for the measured error).
	PrecisionBF16 = "bf16"
)

// UseBF16 converts a prepared model's weights to bf16 storage
// (PrecisionBF16) in place; the fp32 copies are dropped, so the fields
// Embedding, Head and each mixer's InProj, OutProj, XProj and DTProjW are
// nil afterwards. It needs a backend implementing kernels.BF16Linear (the
// CPU backend); the CUDA backend has its own --precision for tensor cores.
// Calling it again is a no-op. Do not call it concurrently with inference
// on the model.
func (m *Model) UseBF16() error {
	if !m.prepared {
		return fmt.Errorf("mamba: UseBF16: model not prepared")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.emb16 != nil {
		return nil
	}
	if _, ok := m.be.(kernels.BF16Linear); !ok {
		return fmt.Errorf("mamba: bf16 weight storage needs the CPU backend (kernels.BF16Linear); %s has no bf16 linear kernels", m.be.Name())
	}
	captureMu.RLock()
	defer captureMu.RUnlock()
	m.emb16 = kernels.NewBF16Matrix(m.Embedding)
	m.head16 = m.emb16
	if m.Head != m.Embedding {
		m.head16 = kernels.NewBF16Matrix(m.Head)
	}
	for i := range m.Blocks {
		mx := &m.Blocks[i].Mixer
		mx.inProj16 = kernels.NewBF16Matrix(mx.InProj)
		mx.outProj16 = kernels.NewBF16Matrix(mx.OutProj)
		mx.xProj16 = kernels.NewBF16Matrix(mx.XProj)
		mx.dtProj16 = kernels.NewBF16Matrix(mx.DTProjW)
		mx.dModel = mx.InProj.Dim(1)
		mx.InProj, mx.OutProj, mx.XProj, mx.DTProjW = nil, nil, nil, nil
	}
	m.Embedding, m.Head = nil, nil
	m.ws.Release()
	return nil
}

// WeightPrecision returns PrecisionBF16 after UseBF16, else PrecisionFP32.
func (m *Model) WeightPrecision() string {
	if m.emb16 != nil {
		return PrecisionBF16
	}
	return PrecisionFP32
}

// WeightBytes is the memory the model's weights take in their storage
// precision (the tied embedding and head counted once).
func (m *Model) WeightBytes() int64 {
	var n int64
	add := func(t *kernels.Tensor) {
		if t != nil {
			n += 4 * int64(t.Len())
		}
	}
	add16 := func(w *kernels.BF16Matrix) {
		if w != nil {
			n += w.Bytes()
		}
	}
	add(m.Embedding)
	add16(m.emb16)
	if m.Head != m.Embedding {
		add(m.Head)
	}
	if m.head16 != m.emb16 {
		add16(m.head16)
	}
	add(m.NormF)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		mx := &b.Mixer
		for _, t := range []*kernels.Tensor{b.Norm, mx.InProj, mx.InProjB, mx.OutProj, mx.OutProjB, mx.ConvW, mx.ConvB, mx.XProj, mx.DTProjW, mx.DTProjB, mx.ALog, mx.D, mx.A} {
			add(t)
		}
		for _, w := range []*kernels.BF16Matrix{mx.inProj16, mx.outProj16, mx.xProj16, mx.dtProj16} {
			add16(w)
		}
	}
	return n
}

// linear computes dst = x·wᵀ + bias with the fp32 weight w, or with w16
// when the weights are stored in bf16.
func linear(be kernels.Backend, dst, x, w *kernels.Tensor, w16 *kernels.BF16Matrix, bias *kernels.Tensor) {
	if w16 != nil {
		be.(kernels.BF16Linear).LinearBF16(dst, x, w16, bias)
		return
	}
	be.Linear(dst, x, w, bias)
}

// widened returns w, or when the weights are stored in bf16 the fp32
// widening of w16 in ws's scratch called name (for the sequence GEMMs,
// whose weight is the left operand).
func widened(be kernels.Backend, ws *Workspace, name string, w *kernels.Tensor, w16 *kernels.BF16Matrix) *kernels.Tensor {
	if w16 == nil {
		return w
	}
	n, k := w16.Dims()
	t := ws.Get(be, name, n, k)
	w16.Widen(t)
	return t
}

// embedRow writes the embedding of token id into row i of dst (rows, d).
func (m *Model) embedRow(dst *kernels.Tensor, i, id int) {
	if m.emb16 != nil {
		d := m.Config.DModel
		m.emb16.Row(dst.Data[i*d:(i+1)*d], id)
		return
	}
	m.be.CopyBox(dst, []int{i, 0}, m.Embedding, []int{id, 0}, []int{1, m.Config.DModel})
}
