package cuda

import "github.com/gomamba/gomamba/kernels"

// The time-reversed ops of kernels.Backend. Conv1dReverse runs the conv
// kernel in its anti-causal mode. A reverse selective scan runs natively in
// the split-state kernels (ScanArgs.Reverse, see SelectiveScan); the other
// scan kernels (time-invariant B/C, groups that are not a multiple of 32
// channels) take reverseScan: flip the time-varying operands along L into
// scratch, run the forward kernel, flip the result back. The scratch goes
// back to the caching allocator at once; the single stream orders its reuse
// after the kernels queued here.

// Conv1dReverse is the anti-causal depthwise conv1d,
// flip(Conv1dCausal(flip(x))) along L, computed in place by the conv kernel
// reading forward in time (no flipped copies).
func (be *Backend) Conv1dReverse(dst, x, w, bias *kernels.Tensor, act kernels.Activation) {
	if x.Rank() != 3 || !kernels.SameShape(dst, x) || w.Rank() != 2 || w.Dim(0) != x.Dim(1) || (bias != nil && bias.Len() != x.Dim(1)) {
		panicf("Conv1dReverse", "x %v, w %v, bias %v, dst %v: want x, dst (Bt, D, L), w (D, K)", x, w, bias, dst)
	}
	be.conv1d("Conv1dReverse", dst, x, w, bias, act, true)
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
