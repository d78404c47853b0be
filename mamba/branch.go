package mamba

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// Branch is one SSM path of a Mamba mixer: causal depthwise conv1d → SiLU →
// x_proj → dt_proj → selective scan (D skip, delta_bias = dt_proj.bias,
// softplus), gated by silu(z). The Mamba mixer uses one; Vim's bidirectional
// "v2" mixer uses two (the second on time-flipped inputs).
//
// Shapes, with E = d_inner, K = d_conv, N = d_state, R = DTRank:
//
//	ConvW (E, K)        conv1d.weight (E, 1, K) with the middle axis dropped
//	ConvB (E) or nil    conv1d.bias
//	XProj (R+2N, E)     x_proj.weight; output rows are dt | B | C in that order
//	DTProjW (E, R)      dt_proj.weight
//	DTProjB (E)         dt_proj.bias (applied inside the scan, before softplus)
//	ALog (E, N)         A_log as stored (kept for reference; the math uses A)
//	A (E, N)            −exp(A_log), precomputed (see NegExpA)
//	D (E) or nil        the skip
//
// All tensors live in the memory of the Backend passed to Forward and Step.
// A Branch is read-only during inference and safe for concurrent use by
// goroutines that each bring their own Workspace and outputs.
type Branch struct {
	ConvW, ConvB, XProj, DTProjW, DTProjB, ALog, D *kernels.Tensor

	// xProjP and dtProjP replace XProj and DTProjW under bf16 or int8
	// storage (Model.UseBF16, Model.UseInt8).
	xProjP, dtProjP kernels.PackedMatrix
	// A = −exp(ALog), precomputed once (fp32).
	A *kernels.Tensor
	// DTRank is R, the width of the low-rank dt projection.
	DTRank int
	// DState is N, the SSM state size per channel.
	DState int
	// Reverse makes Forward and Prefill run anti-causally, from the last
	// position to the first: the result equals flipping x and z along L,
	// running the causal branch and flipping y back (Vim's backward
	// direction), computed with Conv1dReverse and a reverse scan instead of
	// three copies. Step is always causal.
	Reverse bool
}

// NegExpA computes A = −exp(A_log) on be (the official
// `A = -torch.exp(self.A_log.float())`).
func NegExpA(be kernels.Backend, aLog *kernels.Tensor) *kernels.Tensor {
	a := be.New(aLog.Shape()...)
	be.Unary(a, aLog, kernels.ActNegExp)
	return a
}

// Inner returns E (d_inner), the number of channels of the branch.
func (b *Branch) Inner() int { return b.ConvW.Dim(0) }

// Kernel returns K (d_conv), the width of the causal convolution.
func (b *Branch) Kernel() int { return b.ConvW.Dim(1) }

// Check verifies that the branch's tensors have mutually consistent shapes
// (the loaders call it, so that the kernels' shape panics cannot be reached
// from a checkpoint).
func (b *Branch) Check() error {
	if b.ConvW == nil || b.XProj == nil || b.DTProjW == nil || b.DTProjB == nil || b.A == nil {
		return fmt.Errorf("mamba: branch: missing tensor (conv1d.weight, x_proj, dt_proj and A are required)")
	}
	if b.ConvW.Rank() != 2 {
		return fmt.Errorf("mamba: branch: conv1d weight has shape %v, want (d_inner, d_conv)", b.ConvW.Shape())
	}
	e, r, n := b.ConvW.Dim(0), b.DTRank, b.DState
	if r <= 0 || n <= 0 {
		return fmt.Errorf("mamba: branch: dt_rank %d and d_state %d must be positive", r, n)
	}
	want := []struct {
		name  string
		t     *kernels.Tensor
		shape []int
	}{
		{"conv1d.bias", b.ConvB, []int{e}},
		{"x_proj.weight", b.XProj, []int{r + 2*n, e}},
		{"dt_proj.weight", b.DTProjW, []int{e, r}},
		{"dt_proj.bias", b.DTProjB, []int{e}},
		{"A_log", b.ALog, []int{e, n}},
		{"A", b.A, []int{e, n}},
		{"D", b.D, []int{e}},
	}
	for _, w := range want {
		if w.t != nil && !kernels.EqualShape(w.t.Shape(), w.shape) {
			return fmt.Errorf("mamba: branch: %s has shape %v, want %v", w.name, w.t.Shape(), w.shape)
		}
	}
	return nil
}

// Forward runs the branch over whole sequences: x and z are (Bt, E, L),
// channel-major (the official layout after in_proj and the "b l d -> b d l"
// rearrange), and y (Bt, E, L) receives scan(...)·silu(z). x, z and y must be
// distinct tensors. Scratch comes from ws.
func (b *Branch) Forward(be kernels.Backend, ws *Workspace, y, x, z *kernels.Tensor) {
	b.Prefill(be, ws, y, x, z, nil, nil)
}

// Prefill is Forward that also returns the recurrent state after the last
// position, to seed Step: convState (Bt, E, K) receives the last K pre-conv
// inputs (left-padded with zeros when L < K) and ssmState (Bt, E, N) the scan
// state h_L. Either may be nil. With Reverse, "last" is in processing order:
// convState holds x[K−1], …, x[0] and ssmState the state after position 0.
func (b *Branch) Prefill(be kernels.Backend, ws *Workspace, y, x, z, convState, ssmState *kernels.Tensor) {
	args := b.PrepareScan(be, ws, y, x, z)
	args.LastState = ssmState
	be.SelectiveScan(args)
	if convState != nil {
		b.saveConvState(be, ws, convState, x)
	}
}

// PrepareScan runs the part of Forward before the selective scan (conv,
// x_proj, dt_proj) and returns the scan's operands, with Out = y; running
// be.SelectiveScan on them (whole, or channel range by channel range)
// completes Forward. The operands live in ws's scratch until its next use.
func (b *Branch) PrepareScan(be kernels.Backend, ws *Workspace, y, x, z *kernels.Tensor) *kernels.ScanArgs {
	a, _, _ := b.prepare(be, ws, y, x, z, false)
	return a
}

// PrepareScanProj is PrepareScan for a backend that projects Δ inside the
// scan (kernels.DeltaProjScanner): where be has it (and dt_proj is stored
// in fp32), the returned args have Delta nil and w (E, R) and low (Bt, 1,
// R, L) are dt_proj.weight and the low-rank dt rows, so that
// SelectiveScanDeltaProj(a, w, low) (whole, or channel range by channel
// range with w's rows) completes Forward without the (Bt, E, L) Δ being
// written and read back. Elsewhere w and low are nil and a is
// PrepareScan's.
func (b *Branch) PrepareScanProj(be kernels.Backend, ws *Workspace, y, x, z *kernels.Tensor) (a *kernels.ScanArgs, w, low *kernels.Tensor) {
	_, ok := be.(kernels.DeltaProjScanner)
	return b.prepare(be, ws, y, x, z, ok && b.dtProjP == nil)
}

// prepare is PrepareScan, leaving Δ to the scan (Delta nil, w and low
// returned) when proj is set.
func (b *Branch) prepare(be kernels.Backend, ws *Workspace, y, x, z *kernels.Tensor, proj bool) (a *kernels.ScanArgs, w, low *kernels.Tensor) {
	bt, e, l := x.Dim(0), x.Dim(1), x.Dim(2)
	r, n := b.DTRank, b.DState

	// Causal depthwise conv + SiLU (the skip D·u uses this post-conv x).
	xc := ws.Get(be, "mamba.branch.xc", bt, e, l)
	if b.Reverse {
		be.Conv1dReverse(xc, x, b.ConvW, b.ConvB, kernels.ActSiLU)
	} else {
		be.Conv1dCausal(xc, x, b.ConvW, b.ConvB, kernels.ActSiLU)
	}

	// x_dbl = x_proj · xc per batch, channel-major: rows dt | B | C.
	xdbl := ws.Get(be, "mamba.branch.xdbl", bt, r+2*n, l)
	be.MatMul(xdbl, widened(be, ws, "mamba.packed.xproj", b.XProj, b.xProjP), xc, false, false)
	var dtLow, bm, cm *kernels.Tensor
	if bt == 1 && xdbl.Data != nil {
		// One sequence in host memory: the three row blocks are
		// contiguous views of x_dbl, no copies.
		rows := xdbl.Reshape(r+2*n, l)
		dtLow = rows.Narrow0(0, r).Reshape(1, r, l)
		bm = rows.Narrow0(r, n).Reshape(1, n, l)
		cm = rows.Narrow0(r+n, n).Reshape(1, n, l)
	} else {
		dtLow = ws.Get(be, "mamba.branch.dtlow", bt, r, l)
		bm = ws.Get(be, "mamba.branch.B", bt, n, l)
		cm = ws.Get(be, "mamba.branch.C", bt, n, l)
		be.CopyBox(dtLow, []int{0, 0, 0}, xdbl, []int{0, 0, 0}, []int{bt, r, l})
		be.CopyBox(bm, []int{0, 0, 0}, xdbl, []int{0, r, 0}, []int{bt, n, l})
		be.CopyBox(cm, []int{0, 0, 0}, xdbl, []int{0, r + n, 0}, []int{bt, n, l})
	}

	a = &kernels.ScanArgs{
		U: xc, A: b.A, B: bm, C: cm, D: b.D, Z: z,
		DeltaBias: b.DTProjB, DeltaSoftplus: true,
		Out: y, Reverse: b.Reverse,
	}
	if proj {
		return a, b.DTProjW, dtLow.Reshape(bt, 1, r, l)
	}
	// dt = dt_proj.weight · dtLow (no bias: it goes into the scan as delta_bias).
	dt := ws.Get(be, "mamba.branch.dt", bt, e, l)
	be.MatMul(dt, widened(be, ws, "mamba.packed.dtproj", b.DTProjW, b.dtProjP), dtLow, false, false)
	a.Delta = dt
	return a, nil, nil
}

// saveConvState writes Prefill's conv state from the branch input x.
func (b *Branch) saveConvState(be kernels.Backend, ws *Workspace, convState, x *kernels.Tensor) {
	bt, e, l := x.Dim(0), x.Dim(1), x.Dim(2)
	k := convState.Dim(2)
	keep := min(k, l)
	if b.Reverse {
		// The first keep inputs, reversed: stage x[0:keep] at the front
		// of a zeroed (Bt, E, K) buffer and flip it into place.
		zeros := ws.Get(be, "mamba.branch.zeros", bt, e, k)
		head := ws.Get(be, "mamba.branch.convhead", bt, e, k)
		be.Copy(head, zeros)
		be.CopyBox(head, []int{0, 0, 0}, x, []int{0, 0, 0}, []int{bt, e, keep})
		be.Flip(convState, head, 2)
		return
	}
	if l < k {
		zeros := ws.Get(be, "mamba.branch.zeros", bt, e, k)
		be.Copy(convState, zeros)
	}
	be.CopyBox(convState, []int{0, 0, k - keep}, x, []int{0, 0, l - keep}, []int{bt, e, keep})
}

// Step advances the branch by one token: x and z are (Bt, E), y (Bt, E)
// receives the gated output, and convState (Bt, E, K) and ssmState (Bt, E, N)
// are updated in place (the official Mamba.step with
// selective_state_update).
func (b *Branch) Step(be kernels.Backend, ws *Workspace, y, x, z, convState, ssmState *kernels.Tensor) {
	bt, e := x.Dim(0), x.Dim(1)
	r, n := b.DTRank, b.DState

	xc := ws.Get(be, "mamba.step.xc", bt, e)
	be.Conv1dStep(xc, convState, x, b.ConvW, b.ConvB, kernels.ActSiLU)

	xdbl := ws.Get(be, "mamba.step.xdbl", bt, r+2*n)
	linear(be, xdbl, xc, b.XProj, b.xProjP, nil)
	dtLow := ws.Get(be, "mamba.step.dtlow", bt, r)
	bm := ws.Get(be, "mamba.step.B", bt, n)
	cm := ws.Get(be, "mamba.step.C", bt, n)
	be.CopyBox(dtLow, []int{0, 0}, xdbl, []int{0, 0}, []int{bt, r})
	be.CopyBox(bm, []int{0, 0}, xdbl, []int{0, r}, []int{bt, n})
	be.CopyBox(cm, []int{0, 0}, xdbl, []int{0, r + n}, []int{bt, n})

	dt := ws.Get(be, "mamba.step.dt", bt, e)
	linear(be, dt, dtLow, b.DTProjW, b.dtProjP, nil)

	be.SelectiveStateUpdate(&kernels.StepArgs{
		State: ssmState, X: xc, DT: dt, A: b.A, B: bm, C: cm, D: b.D, Z: z,
		DTBias: b.DTProjB, DTSoftplus: true, Out: y,
	})
}
