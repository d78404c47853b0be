package mamba

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// Weight precisions of a Model on the CPU (Model.UseBF16, Model.UseInt8,
// LoadOptions.Precision).
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
	// TestPrecision for the measured error).
	PrecisionBF16 = "bf16"
	// PrecisionInt8 stores the same matrices as PrecisionBF16 in int8
	// (kernels.Int8Matrix: weight-only, one fp32 scale per group of
	// Int8Group columns of each row, rounded to nearest at load), which
	// the kernels dequantise in registers with fp32 accumulation; the
	// scan, state, conv and norms stay fp32. A decode step reads about a
	// quarter of fp32's bytes (mamba-130m: 142 MB against 519 MB fp32 and
	// 262 MB bf16), at a larger error than bf16 (see TestPrecision for
	// the measured error and its tolerance). On the device machine's Xeon
	// (2 threads) a mamba-130m step took 6.0–8.1 ms, against 14.1–14.7 ms
	// with bf16 and HF transformers' 42.2 ms in the same run.
	PrecisionInt8 = "int8"
)

// Int8Group is the number of input columns that share one scale under
// PrecisionInt8. On Gaussian weights of mamba-130m's shapes (std 0.02,
// K 768 and 1536) the relative RMS error of the stored weights is 0.77%
// with one scale per row (0.5% more bytes than the int8 weights), 0.65%
// with groups of 128 (+3%), 0.59% with 64 (+6%) and 0.53% with 32
// (+12.5%); groups also bound the damage of a few large weights in a row,
// which trained checkpoints have. The LM fixtures (K ≤ 128) cannot tell
// the choices apart: their logits' relative RMS error is 1.7% with rows or
// groups of 64, 1.6% with 32.
const Int8Group = 64

// UseBF16 converts a prepared model's weights to bf16 storage
// (PrecisionBF16) in place; the fp32 copies are dropped, so the fields
// Embedding, Head and each mixer's InProj, OutProj, XProj and DTProjW are
// nil afterwards. It needs a backend implementing kernels.PackedLinear
// (the CPU backend); the CUDA backend has its own --precision for tensor
// cores. Calling it again is a no-op; a model already in another packed
// storage is refused. Do not call it concurrently with inference on the
// model.
func (m *Model) UseBF16() error {
	return m.usePacked(PrecisionBF16, func(w *kernels.Tensor) kernels.PackedMatrix { return kernels.NewBF16Matrix(w) })
}

// UseInt8 converts a prepared model's weights to int8 storage
// (PrecisionInt8) in place, like UseBF16: the same fields are nil
// afterwards, the same backends qualify, and calling it again is a no-op.
func (m *Model) UseInt8() error {
	return m.usePacked(PrecisionInt8, func(w *kernels.Tensor) kernels.PackedMatrix { return kernels.NewInt8Matrix(w, Int8Group) })
}

// usePacked replaces the fp32 matrices of the linear layers, the
// embedding and the head by pack(matrix), recording precision.
func (m *Model) usePacked(precision string, pack func(*kernels.Tensor) kernels.PackedMatrix) error {
	if !m.prepared {
		return fmt.Errorf("mamba: use %s weights: model not prepared", precision)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.precision == precision {
		return nil
	}
	if m.embP != nil {
		return fmt.Errorf("mamba: use %s weights: the weights are stored in %s already (load the model again)", precision, m.precision)
	}
	if _, ok := m.be.(kernels.PackedLinear); !ok {
		return fmt.Errorf("mamba: %s weight storage needs the CPU backend (kernels.PackedLinear); %s has no packed-weight linear kernels", precision, m.be.Name())
	}
	captureMu.RLock()
	defer captureMu.RUnlock()
	m.embP = pack(m.Embedding)
	m.headP = m.embP
	if m.Head != m.Embedding {
		m.headP = pack(m.Head)
	}
	for i := range m.Blocks {
		mx := &m.Blocks[i].Mixer
		mx.inProjP = pack(mx.InProj)
		mx.outProjP = pack(mx.OutProj)
		mx.xProjP = pack(mx.XProj)
		mx.dtProjP = pack(mx.DTProjW)
		mx.InProj, mx.OutProj, mx.XProj, mx.DTProjW = nil, nil, nil, nil
	}
	m.Embedding, m.Head = nil, nil
	m.precision = precision
	m.ws.Release()
	return nil
}

// WeightPrecision returns PrecisionBF16 after UseBF16, PrecisionInt8 after
// UseInt8, else PrecisionFP32.
func (m *Model) WeightPrecision() string {
	if m.precision != "" {
		return m.precision
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
	addP := func(w kernels.PackedMatrix) {
		if w != nil {
			n += w.Bytes()
		}
	}
	add(m.Embedding)
	addP(m.embP)
	if m.Head != m.Embedding {
		add(m.Head)
	}
	if m.headP != m.embP {
		addP(m.headP)
	}
	add(m.NormF)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		mx := &b.Mixer
		for _, t := range []*kernels.Tensor{b.Norm, mx.InProj, mx.InProjB, mx.OutProj, mx.OutProjB, mx.ConvW, mx.ConvB, mx.XProj, mx.DTProjW, mx.DTProjB, mx.ALog, mx.D, mx.A} {
			add(t)
		}
		for _, w := range []kernels.PackedMatrix{mx.inProjP, mx.outProjP, mx.xProjP, mx.dtProjP} {
			addP(w)
		}
	}
	return n
}

// linear computes dst = x·wᵀ + bias with the fp32 weight w, or with wp
// when the weights are stored packed (bf16 or int8).
func linear(be kernels.Backend, dst, x, w *kernels.Tensor, wp kernels.PackedMatrix, bias *kernels.Tensor) {
	if wp != nil {
		be.(kernels.PackedLinear).LinearPacked(dst, x, wp, bias)
		return
	}
	be.Linear(dst, x, w, bias)
}

// widened returns w, or when the weights are stored packed the fp32
// widening of wp in ws's scratch called name (for the sequence GEMMs,
// whose weight is the left operand).
func widened(be kernels.Backend, ws *Workspace, name string, w *kernels.Tensor, wp kernels.PackedMatrix) *kernels.Tensor {
	if wp == nil {
		return w
	}
	n, k := wp.Dims()
	t := ws.Get(be, name, n, k)
	wp.Widen(t)
	return t
}

// embedRow writes the embedding of token id into row i of dst (rows, d).
func (m *Model) embedRow(dst *kernels.Tensor, i, id int) {
	if m.embP != nil {
		d := m.Config.DModel
		m.embP.Row(dst.Data[i*d:(i+1)*d], id)
		return
	}
	m.be.CopyBox(dst, []int{i, 0}, m.Embedding, []int{id, 0}, []int{1, m.Config.DModel})
}

// UsePrecision sets the weight storage of a prepared model by name:
// PrecisionBF16 calls UseBF16, PrecisionInt8 UseInt8, and PrecisionFP32
// (or "") accepts a model still in fp32. Other names are an error.
func (m *Model) UsePrecision(precision string) error {
	switch precision {
	case PrecisionBF16:
		return m.UseBF16()
	case PrecisionInt8:
		return m.UseInt8()
	case PrecisionFP32, "":
		if p := m.WeightPrecision(); p != PrecisionFP32 {
			return fmt.Errorf("mamba: use fp32 weights: the weights are stored in %s (load the model again)", p)
		}
		return nil
	}
	return fmt.Errorf("mamba: weight precision %q: want %q, %q or %q", precision, PrecisionFP32, PrecisionBF16, PrecisionInt8)
}
