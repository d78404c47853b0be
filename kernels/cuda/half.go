package cuda

import (
	"fmt"
	"slices"

	"github.com/gomamba/gomamba/kernels"
)

// The selective scan over 16-bit inputs (src/scan_half.cu): u, delta, z,
// B, C and out stored as bf16 or fp16 on the device, everything computed in
// fp32, as mamba_ssm's selective_scan_fwd accepts fp16/bf16 inputs.

// Dtype is the element type of a HalfTensor.
type Dtype int

const (
	// BF16 is bfloat16: 8 exponent and 7 mantissa bits (the upper half of
	// an fp32; relative rounding error at most 2^-9).
	BF16 Dtype = iota + 1
	// FP16 is IEEE 754 binary16: 5 exponent and 10 mantissa bits
	// (relative rounding error at most 2^-12 in its normal range, largest
	// finite value 65504).
	FP16
)

// String returns "bf16" or "fp16".
func (d Dtype) String() string {
	switch d {
	case BF16:
		return "bf16"
	case FP16:
		return "fp16"
	}
	return fmt.Sprintf("Dtype(%d)", int(d))
}

// HalfTensor is a dense row-major device tensor of 16-bit floats (BF16 or
// FP16), made from an fp32 device tensor by (*Backend).ToHalf and read back
// by FromHalf. Its memory is returned by Free (or when it is collected). A
// HalfTensor may be read by concurrent launches on its backend but is not
// safe for concurrent Free.
type HalfTensor struct {
	be    *Backend
	buf   *buffer
	shape []int
	n     int
	dtype Dtype
}

// Shape returns a copy of the tensor's dimensions.
func (h *HalfTensor) Shape() []int { return append([]int(nil), h.shape...) }

// Dtype returns the element type.
func (h *HalfTensor) Dtype() Dtype { return h.dtype }

// Len returns the number of elements.
func (h *HalfTensor) Len() int { return h.n }

// Free returns the device memory to the backend's cache (stream-ordered);
// h must not be used afterwards. Free is idempotent.
func (h *HalfTensor) Free() {
	if h != nil && h.buf != nil {
		h.buf.Free()
	}
}

// String describes the tensor, e.g. "HalfTensor[2 3]bf16".
func (h *HalfTensor) String() string { return fmt.Sprintf("HalfTensor%v%v", h.shape, h.dtype) }

// halfScanNames are the 16-bit scan kernels by element type (bf16, fp16)
// and scanNMax index; halfKernels lists every kernel of src/scan_half.cu.
var halfScanNames, halfKernels = func() (scan [2][]string, all []string) {
	all = []string{"gm_to_bf16", "gm_to_f16", "gm_from_bf16", "gm_from_f16"}
	for _, n := range scanNMax {
		scan[0] = append(scan[0], fmt.Sprintf("gm_scan_half_bf16_g%d", n))
		scan[1] = append(scan[1], fmt.Sprintf("gm_scan_half_f16_g%d", n))
	}
	all = append(all, scan[0]...)
	return scan, append(all, scan[1]...)
}()

// newHalf allocates a HalfTensor (contents undefined). Its size is rounded
// up to whole 4-byte words: the scan stages the words that cover a row, and
// the last of those may reach past an odd-length tensor's end.
func (be *Backend) newHalf(op string, dt Dtype, shape []int) *HalfTensor {
	if dt != BF16 && dt != FP16 {
		panicf(op, "dtype %v", dt)
	}
	n := shapeLen(op, shape)
	return &HalfTensor{be: be, buf: be.newBuffer((n + 1) / 2), shape: append([]int(nil), shape...), n: n, dtype: dt}
}

// hdev returns h's device pointer (0 for nil), checking that it lives on
// this backend and has not been freed.
func (be *Backend) hdev(op string, h *HalfTensor) uint64 {
	if h == nil {
		return 0
	}
	if h.be != be || h.buf == nil {
		panicf(op, "%v is not on this CUDA device", h)
	}
	if h.buf.state.freed.Load() {
		panicf(op, "%v used after Free", h)
	}
	return h.buf.ptr
}

// ToHalf converts the fp32 device tensor t to a new HalfTensor of type dt,
// rounding to nearest even (values beyond FP16's range become ±Inf, NaN
// stays NaN).
func (be *Backend) ToHalf(t *kernels.Tensor, dt Dtype) *HalfTensor {
	const op = "ToHalf"
	src := be.dev(op, t)
	h := be.newHalf(op, dt, t.Shape())
	name := "gm_to_bf16"
	if dt == FP16 {
		name = "gm_to_f16"
	}
	be.launch1D(name, h.n, []uint64{src, h.buf.ptr, i64(h.n)})
	return h
}

// FromHalf converts h to a new fp32 device tensor of its shape (exactly:
// every 16-bit value is an fp32 value).
func (be *Backend) FromHalf(h *HalfTensor) *kernels.Tensor {
	const op = "FromHalf"
	src := be.hdev(op, h)
	t := kernels.NewDevice(be.newBuffer(h.n), h.shape...)
	name := "gm_from_bf16"
	if h.dtype == FP16 {
		name = "gm_from_f16"
	}
	be.launch1D(name, h.n, []uint64{src, be.dev(op, t), i64(h.n)})
	return t
}

// HalfScanArgs are the operands of SelectiveScanHalf: kernels.ScanArgs with
// the sequences and B, C stored in 16 bits (all of one Dtype) and the
// per-channel parameters in fp32.
type HalfScanArgs struct {
	U, Delta *HalfTensor     // (Bt, D, L)
	A        *kernels.Tensor // (D, N), fp32
	// B and C are (D, N) time-invariant, (Bt, N, L) time-varying, or
	// (Bt, G, N, L) grouped: channel d uses group d / (D/G).
	B, C          *HalfTensor
	D             *kernels.Tensor // (D) fp32 skip, or nil
	Z             *HalfTensor     // (Bt, D, L) gate, or nil
	DeltaBias     *kernels.Tensor // (D) fp32, or nil
	DeltaSoftplus bool
	Out           *HalfTensor     // (Bt, D, L) destination
	LastState     *kernels.Tensor // (Bt, D, N) fp32 destination for h_L, or nil
	// Reverse runs the recurrence from t = L−1 down to 0, as
	// kernels.ScanArgs.Reverse.
	Reverse bool
	// Accumulate adds the output to what Out holds (in fp32, then rounded
	// once) instead of overwriting it.
	Accumulate bool
}

// SelectiveScanHalf runs the selective scan (kernels.ScanArgs semantics) on
// 16-bit inputs: every value is widened to fp32 on load, the state, exp,
// softplus and sums are fp32, and Out is rounded to nearest even once per
// element. It panics on shape or dtype mismatches, like SelectiveScan.
func (be *Backend) SelectiveScanHalf(a *HalfScanArgs) {
	const op = "SelectiveScanHalf"
	u := a.U
	if u == nil || a.Delta == nil || a.Out == nil || a.B == nil || a.C == nil || a.A == nil {
		panicf(op, "U, Delta, A, B, C and Out are required")
	}
	same := func(x *HalfTensor) bool { return slices.Equal(x.shape, u.shape) }
	if len(u.shape) != 3 || !same(a.Delta) || !same(a.Out) || (a.Z != nil && !same(a.Z)) || a.A.Rank() != 2 || a.A.Dim(0) != u.shape[1] {
		panicf(op, "u %v, delta %v, z %v, A %v, out %v", u, a.Delta, a.Z, a.A, a.Out)
	}
	for _, x := range []*HalfTensor{a.Delta, a.B, a.C, a.Z, a.Out} {
		if x != nil && x.dtype != u.dtype {
			panicf(op, "%v mixed with u %v", x, u)
		}
	}
	bt, d, l, n := u.shape[0], u.shape[1], u.shape[2], a.A.Dim(1)
	if (a.D != nil && a.D.Len() != d) || (a.DeltaBias != nil && a.DeltaBias.Len() != d) ||
		(a.LastState != nil && (a.LastState.Rank() != 3 || a.LastState.Dim(0) != bt || a.LastState.Dim(1) != d || a.LastState.Dim(2) != n)) {
		panicf(op, "D %v, delta_bias %v, last_state %v for u %v, N %d", a.D, a.DeltaBias, a.LastState, u, n)
	}
	nmax := scanNMaxFor(op, n)
	bs, _, _ := bcLayoutShape(op, a.B, a.B.shape, bt, d, n, l)
	cs, _, _ := bcLayoutShape(op, a.C, a.C.shape, bt, d, n, l)
	args := []uint64{be.hdev(op, u), be.hdev(op, a.Delta), be.dev(op, a.A), be.hdev(op, a.B), be.hdev(op, a.C),
		be.dev(op, a.D), be.hdev(op, a.Z), be.dev(op, a.DeltaBias), be.hdev(op, a.Out), be.dev(op, a.LastState)}
	if bt == 0 || d == 0 || l == 0 {
		be.zeroState(op, a.LastState)
		return
	}
	args = appendStrides(args, bs, cs)
	args = append(args, i64(bt), i64(d), i64(l), i64(n), b64(a.DeltaSoftplus), b64(a.Reverse), b64(a.Accumulate))
	grid, block := laneScanDims(nmax, d, bt)
	names := halfScanNames[0]
	if u.dtype == FP16 {
		names = halfScanNames[1]
	}
	be.launch(names[nmaxIndex(nmax)], grid, block, args)
}
