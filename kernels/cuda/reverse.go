package cuda

import "github.com/gomamba/gomamba/kernels"

// The time-reversed ops (kernels.Backend's Conv1dReverse and
// ScanArgs.Reverse) are honoured the simplest correct way: flip the
// time-varying operands along L into scratch, run the forward kernel, flip
// the result back. The scratch goes back to the caching allocator at once;
// the single stream orders its reuse after the kernels queued here.

// Conv1dReverse is the anti-causal depthwise conv1d:
// flip(Conv1dCausal(flip(x))) along L.
func (be *Backend) Conv1dReverse(dst, x, w, bias *kernels.Tensor, act kernels.Activation) {
	if x.Rank() != 3 || !kernels.SameShape(dst, x) {
		panicf("Conv1dReverse", "x %v, dst %v: want x, dst (Bt, D, L)", x, dst)
	}
	xf := be.New(x.Shape()...)
	yf := be.New(x.Shape()...)
	be.Flip(xf, x, 2)
	be.Conv1dCausal(yf, xf, w, bias, act)
	be.Flip(dst, yf, 2)
	be.Free(xf)
	be.Free(yf)
}

// reverseScan runs a.Reverse as flip → forward scan → flip.
func (be *Backend) reverseScan(a *kernels.ScanArgs) {
	var tmp []*kernels.Tensor
	flip := func(t *kernels.Tensor) *kernels.Tensor {
		if t == nil || t.Rank() < 3 { // nil or time-invariant (D, N)
			return t
		}
		f := be.New(t.Shape()...)
		be.Flip(f, t, t.Rank()-1)
		tmp = append(tmp, f)
		return f
	}
	f := *a
	f.Reverse = false
	f.U, f.Delta, f.Z, f.B, f.C = flip(a.U), flip(a.Delta), flip(a.Z), flip(a.B), flip(a.C)
	f.Out = be.New(a.Out.Shape()...)
	tmp = append(tmp, f.Out)
	be.SelectiveScan(&f)
	be.Flip(a.Out, f.Out, 2)
	for _, t := range tmp {
		be.Free(t)
	}
}
