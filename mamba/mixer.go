package mamba

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// Mixer is the Mamba (v1) mixer of state-spaces/mamba `Mamba` and
// transformers `MambaMixer`: in_proj → split x | z (x first) → Branch →
// out_proj.
//
// Shapes, with d = d_model and E = d_inner:
//
//	InProj (2E, d), InProjB (2E) or nil
//	OutProj (d, E), OutProjB (d) or nil
//
// Like Branch, a Mixer is read-only during inference and safe for concurrent
// use with one Workspace per goroutine.
type Mixer struct {
	InProj, InProjB   *kernels.Tensor
	OutProj, OutProjB *kernels.Tensor
	Branch

	// inProjP and outProjP replace InProj and OutProj under bf16 or int8
	// storage (Model.UseBF16, Model.UseInt8).
	inProjP, outProjP kernels.PackedMatrix
}

// Model returns d (d_model), the width of the mixer's input and output.
func (m *Mixer) Model() int {
	switch {
	case m.inProjP != nil:
		_, k := m.inProjP.Dims()
		return k
	case m.InProj == nil:
		return 0 // a zero Mixer
	}
	return m.InProj.Dim(1)
}

// Check verifies that the mixer's tensors have consistent shapes.
func (m *Mixer) Check() error {
	if err := m.Branch.Check(); err != nil {
		return err
	}
	e := m.Inner()
	if m.InProj == nil || m.OutProj == nil {
		return fmt.Errorf("mamba: mixer: in_proj and out_proj weights are required")
	}
	if m.InProj.Rank() != 2 || m.InProj.Dim(0) != 2*e {
		return fmt.Errorf("mamba: mixer: in_proj.weight has shape %v, want (%d, d_model)", m.InProj.Shape(), 2*e)
	}
	d := m.InProj.Dim(1)
	if !kernels.EqualShape(m.OutProj.Shape(), []int{d, e}) {
		return fmt.Errorf("mamba: mixer: out_proj.weight has shape %v, want [%d %d]", m.OutProj.Shape(), d, e)
	}
	if m.InProjB != nil && !kernels.EqualShape(m.InProjB.Shape(), []int{2 * e}) {
		return fmt.Errorf("mamba: mixer: in_proj.bias has shape %v, want [%d]", m.InProjB.Shape(), 2*e)
	}
	if m.OutProjB != nil && !kernels.EqualShape(m.OutProjB.Shape(), []int{d}) {
		return fmt.Errorf("mamba: mixer: out_proj.bias has shape %v, want [%d]", m.OutProjB.Shape(), d)
	}
	return nil
}

// Forward runs the mixer over whole sequences: h (Bt, L, d) → out (Bt, L, d).
// out may not alias h.
func (m *Mixer) Forward(be kernels.Backend, ws *Workspace, out, h *kernels.Tensor) {
	m.Prefill(be, ws, out, h, nil, nil)
}

// Prefill is Forward that also fills the recurrent state for Step:
// convState (Bt, E, K) and ssmState (Bt, E, N); either may be nil.
func (m *Mixer) Prefill(be kernels.Backend, ws *Workspace, out, h, convState, ssmState *kernels.Tensor) {
	bt, l := h.Dim(0), h.Dim(1)
	e := m.Inner()

	// xz (Bt, 2E, L), channel-major, = in_proj · hᵀ per batch.
	xz := ws.Get(be, "mamba.mixer.xz", bt, 2*e, l)
	if m.InProjB == nil && m.inProjP == nil {
		be.MatMul(xz, m.InProj, h, false, true)
	} else {
		tmp := ws.Get(be, "mamba.mixer.xzt", bt, l, 2*e)
		linear(be, tmp, h, m.InProj, m.inProjP, m.InProjB)
		be.Permute(xz, tmp, 0, 2, 1)
	}
	x := ws.Get(be, "mamba.mixer.x", bt, e, l)
	z := ws.Get(be, "mamba.mixer.z", bt, e, l)
	be.CopyBox(x, []int{0, 0, 0}, xz, []int{0, 0, 0}, []int{bt, e, l})
	be.CopyBox(z, []int{0, 0, 0}, xz, []int{0, e, 0}, []int{bt, e, l})

	y := ws.Get(be, "mamba.mixer.y", bt, e, l)
	m.Branch.Prefill(be, ws, y, x, z, convState, ssmState)

	// out = yᵀ · out_projᵀ per batch.
	if m.outProjP != nil {
		yt := ws.Get(be, "mamba.mixer.yt", bt, l, e)
		be.Permute(yt, y, 0, 2, 1)
		linear(be, out, yt, nil, m.outProjP, m.OutProjB)
		return
	}
	be.MatMul(out, y, m.OutProj, true, true)
	if m.OutProjB != nil {
		be.Add(out, out, m.OutProjB)
	}
}

// Step advances the mixer by one token: h (Bt, d) → out (Bt, d), updating
// convState (Bt, E, K) and ssmState (Bt, E, N) in place.
func (m *Mixer) Step(be kernels.Backend, ws *Workspace, out, h, convState, ssmState *kernels.Tensor) {
	bt := h.Dim(0)
	e := m.Inner()
	xz := ws.Get(be, "mamba.mstep.xz", bt, 2*e)
	linear(be, xz, h, m.InProj, m.inProjP, m.InProjB)
	x := ws.Get(be, "mamba.mstep.x", bt, e)
	z := ws.Get(be, "mamba.mstep.z", bt, e)
	be.CopyBox(x, []int{0, 0}, xz, []int{0, 0}, []int{bt, e})
	be.CopyBox(z, []int{0, 0}, xz, []int{0, e}, []int{bt, e})
	y := ws.Get(be, "mamba.mstep.y", bt, e)
	m.Branch.Step(be, ws, y, x, z, convState, ssmState)
	linear(be, out, y, m.OutProj, m.outProjP, m.OutProjB)
}
