package cuda

import (
	"fmt"
	"math"

	"github.com/gomamba/gomamba/kernels"
)

const threads = 256

// opKernels lists the kernels of ops.go and conv.go that kernelNames does
// not name itself: the fast data-movement and depthwise-conv paths.
var opKernels = []string{"gm_flip", "gm_transpose", "gm_dwconv2d_k3", "gm_conv1d_naive"}

func panicf(op, format string, args ...any) {
	panic(fmt.Sprintf("cuda: %s: %s", op, fmt.Sprintf(format, args...)))
}

// dev returns t's device pointer (0 for a nil tensor).
func (be *Backend) dev(op string, t *kernels.Tensor) uint64 {
	if t == nil {
		return 0
	}
	b, ok := t.Dev.(*buffer)
	if !ok || b == nil {
		panicf(op, "tensor %v is not on this CUDA device (use FromHost)", t)
	}
	if b.state.freed.Load() {
		panicf(op, "tensor %v used after Free", t)
	}
	if b.state.a != &be.alloc {
		panicf(op, "tensor %v belongs to another CUDA device", t)
	}
	return b.ptr
}

func (be *Backend) launch(name string, grid, block [3]uint32, args []uint64) {
	f, ok := be.funcs[name]
	if !ok {
		panic("cuda: unknown kernel " + name)
	}
	if be.prof != nil {
		be.timed(name, "", 0, func() { be.setErr(drvLaunch(be.ctx, f, grid, block, be.stream, args)) })
		return
	}
	be.setErr(drvLaunch(be.ctx, f, grid, block, be.stream, args))
}

// launch1D launches a grid-stride kernel over n items.
func (be *Backend) launch1D(name string, n int, args []uint64) {
	if n == 0 {
		return
	}
	blocks := min((n+threads-1)/threads, be.sms*32)
	be.launch(name, [3]uint32{uint32(blocks), 1, 1}, [3]uint32{threads, 1, 1}, args)
}

// launchRows launches one thread (perThread) or one warp per row.
func (be *Backend) launchRows(name string, rows int, warpPerRow bool, args []uint64) {
	if rows == 0 {
		return
	}
	per := threads
	if warpPerRow {
		per = threads / 32
	}
	blocks := (rows + per - 1) / per
	be.launch(name, [3]uint32{uint32(blocks), 1, 1}, [3]uint32{threads, 1, 1}, args)
}

func i64(v int) uint64 { return uint64(int64(v)) }

func b64(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func f32bits(v float32) uint64 { return uint64(math.Float32bits(v)) }

func shapeLen(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panicf(op, "negative dimension in %v", shape)
		}
		if d != 0 && n > kernels.MaxTensorElements/d {
			panicf(op, "shape %v exceeds %d elements", shape, kernels.MaxTensorElements)
		}
		n *= d
	}
	return n
}

// New returns a zeroed device tensor.
func (be *Backend) New(shape ...int) *kernels.Tensor {
	n := shapeLen("New", shape)
	buf := be.newBuffer(n)
	be.setErr(drvMemset32(be.ctx, buf.ptr, 0, n, be.stream))
	return kernels.NewDevice(buf, shape...)
}

// FromHost copies a host tensor to the device (a device tensor is returned
// as is). t may be reused as soon as FromHost returns.
func (be *Backend) FromHost(t *kernels.Tensor) *kernels.Tensor {
	if t.OnDevice() {
		be.dev("FromHost", t)
		return t
	}
	buf := be.newBuffer(t.Len())
	be.setErr(drvHtoD(be.ctx, buf.ptr, t.Data, be.stream))
	return kernels.NewDevice(buf, t.Shape()...)
}

// ToHost waits for queued work and copies t to a new host tensor (a host
// tensor is returned as is). A failure is reported by Sync and Err.
func (be *Backend) ToHost(t *kernels.Tensor) *kernels.Tensor {
	if !t.OnDevice() {
		return t
	}
	h := kernels.New(t.Shape()...)
	be.setErr(drvDtoH(be.ctx, h.Data, be.dev("ToHost", t), be.stream))
	return h
}

// Free returns t's device memory to the cache; t (and its views) must not be
// used afterwards. Tensors never freed are returned when collected.
func (be *Backend) Free(t *kernels.Tensor) {
	if t == nil || !t.OnDevice() {
		return
	}
	t.Dev.Free()
}

// Copy copies src into dst (same element count). Either side may be a host
// tensor, which gives an upload or a download into an existing tensor.
func (be *Backend) Copy(dst, src *kernels.Tensor) {
	if dst.Len() != src.Len() {
		panicf("Copy", "dst %v and src %v differ in size", dst, src)
	}
	switch {
	case dst.OnDevice() && src.OnDevice():
		be.setErr(drvDtoD(be.ctx, be.dev("Copy", dst), be.dev("Copy", src), 4*src.Len(), be.stream))
	case dst.OnDevice():
		be.setErr(drvHtoD(be.ctx, be.dev("Copy", dst), src.Data, be.stream))
	case src.OnDevice():
		be.setErr(drvDtoH(be.ctx, dst.Data, be.dev("Copy", src), be.stream))
	default:
		copy(dst.Data, src.Data)
	}
}

// ---- GEMM ----

func (be *Backend) sgemm(op string, c, a, b, bias *kernels.Tensor, m, n, k, lda, ldb, ldc, sA, sB, sC, batch int, transA, transB bool) {
	if m == 0 || n == 0 || batch == 0 {
		return
	}
	pa, pb, pc, pbias := be.dev(op, a), be.dev(op, b), be.dev(op, c), be.dev(op, bias)
	if be.blas != nil && k > 0 && max(m, n, k, lda, ldb, ldc, batch) <= math.MaxInt32 {
		be.blasSgemm(pa, pb, pc, m, n, k, lda, ldb, ldc, sA, sB, sC, batch, transA, transB)
		if pbias != 0 { // Linear: C (M, N) += bias[n]
			be.launch1D("gm_binary", c.Len(), []uint64{pc, pbias, pc, i64(c.Len()), i64(n), 0})
		}
		return
	}
	for z0 := 0; z0 < batch; z0 += 65535 {
		nz := min(batch-z0, 65535)
		args := []uint64{pa + uint64(4*z0*sA), pb + uint64(4*z0*sB), pbias, pc + uint64(4*z0*sC),
			i64(m), i64(n), i64(k), i64(lda), i64(ldb), i64(ldc), i64(sA), i64(sB), i64(sC), b64(transA), b64(transB), i64(nz)}
		be.launch("gm_sgemm", [3]uint32{uint32((n + 63) / 64), uint32((m + 63) / 64), uint32(nz)}, [3]uint32{256, 1, 1}, args)
	}
}

// blasSgemm queues C = op(A)·op(B) (row-major, fp32 storage, batched with
// element strides sA, sB, sC; a zero stride broadcasts) on cuBLAS in the
// backend's precision. Row-major C = op(A)·op(B) is column-major
// Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands swap and each keeps its own transpose
// flag.
func (be *Backend) blasSgemm(pa, pb, pc uint64, m, n, k, lda, ldb, ldc, sA, sB, sC, batch int, transA, transB bool) {
	prec := precision(be.prec.Load())
	run := func() {
		be.setErr(blasGemm(be.ctx, be.blas, int(b64(transB)), int(b64(transA)), n, m, k, pb, ldb, sB, pa, lda, sA, pc, ldc, sC, batch, prec.computeType()))
	}
	if be.prof == nil {
		run()
		return
	}
	tr := func(t bool) string {
		if t {
			return "T"
		}
		return "N"
	}
	detail := fmt.Sprintf("%s %d×%d×%d ×%d (A%s B%s)", prec, m, n, k, batch, tr(transA), tr(transB))
	be.timed("gemm", detail, 2*float64(m)*float64(n)*float64(k)*float64(batch), run)
}

// Linear computes dst = x·wᵀ + bias over the last dimension.
func (be *Backend) Linear(dst, x, w, bias *kernels.Tensor) {
	if w.Rank() != 2 || x.Rank() < 1 || x.Dim(-1) != w.Dim(1) || dst.Dim(-1) != w.Dim(0) || dst.Len()/max(w.Dim(0), 1) != x.Len()/max(w.Dim(1), 1) {
		panicf("Linear", "x %v, w %v, dst %v", x, w, dst)
	}
	if bias != nil && bias.Len() != w.Dim(0) {
		panicf("Linear", "bias %v for w %v", bias, w)
	}
	k, n := w.Dim(1), w.Dim(0)
	m := x.Len() / max(k, 1)
	if k == 0 {
		m = dst.Len() / max(n, 1)
	}
	be.sgemm("Linear", dst, x, w, bias, m, n, k, k, k, n, 0, 0, 0, 1, false, true)
}

// MatMul computes dst[i] = op(a[i])·op(b[i]); rank-2 operands broadcast.
func (be *Backend) MatMul(dst, a, b *kernels.Tensor, transA, transB bool) {
	bad := func() { panicf("MatMul", "a %v (transA %v), b %v (transB %v), dst %v", a, transA, b, transB, dst) }
	if a.Rank() < 2 || a.Rank() > 3 || b.Rank() < 2 || b.Rank() > 3 || dst.Rank() < 2 || dst.Rank() > 3 {
		bad()
	}
	ra, ca := a.Dim(-2), a.Dim(-1)
	rb, cb := b.Dim(-2), b.Dim(-1)
	m, k := ra, ca
	if transA {
		m, k = ca, ra
	}
	k2, n := rb, cb
	if transB {
		k2, n = cb, rb
	}
	batch := 1
	if dst.Rank() == 3 {
		batch = dst.Dim(0)
	}
	if k != k2 || dst.Dim(-2) != m || dst.Dim(-1) != n ||
		(a.Rank() == 3 && a.Dim(0) != batch) || (b.Rank() == 3 && b.Dim(0) != batch) ||
		(dst.Rank() == 2 && (a.Rank() == 3 || b.Rank() == 3)) {
		bad()
	}
	sA, sB := 0, 0
	if a.Rank() == 3 {
		sA = ra * ca
	}
	if b.Rank() == 3 {
		sB = rb * cb
	}
	be.sgemm("MatMul", dst, a, b, nil, m, n, k, ca, cb, n, sA, sB, m*n, batch, transA, transB)
}

// ---- normalisation and reductions ----

func (be *Backend) normRows(op string, dst, x, w, b *kernels.Tensor, eps float32, rms bool) {
	c := x.Dim(-1)
	if !kernels.SameShape(dst, x) || (w != nil && w.Len() != c) || (b != nil && b.Len() != c) {
		panicf(op, "x %v, w %v, b %v, dst %v", x, w, b, dst)
	}
	rows := x.Len() / max(c, 1)
	args := []uint64{be.dev(op, x), be.dev(op, w), be.dev(op, b), be.dev(op, dst), i64(rows), i64(c), 1, f32bits(eps), b64(rms), 0, 0}
	be.launchRows("gm_norm_rows", rows, true, args)
}

// AddNorm is Mamba's fused residual add and norm in one kernel: residual +=
// h (same shape), then dst = RMSNorm(residual)·w (rms; b must be nil) or
// LayerNorm(residual)·w + b over the last dimension. It equals Add then
// RMSNorm/LayerNorm to the last bit, reading residual and h once and
// writing residual and dst once instead of the four passes of the two ops.
// dst may alias h (each element of h is read before the same thread writes
// that element of dst) but not residual.
func (be *Backend) AddNorm(dst, residual, h, w, b *kernels.Tensor, eps float32, rms bool) {
	op := "AddNorm"
	c := residual.Dim(-1)
	if !kernels.SameShape(h, residual) || !kernels.SameShape(dst, residual) || (w != nil && w.Len() != c) || (b != nil && (rms || b.Len() != c)) {
		panicf(op, "residual %v, h %v, w %v, b %v, dst %v", residual, h, w, b, dst)
	}
	pr, ph, pd := be.dev(op, residual), be.dev(op, h), be.dev(op, dst)
	if pd == pr {
		panicf(op, "dst %v aliases residual", dst)
	}
	rows := residual.Len() / max(c, 1)
	args := []uint64{pr, be.dev(op, w), be.dev(op, b), pd, i64(rows), i64(c), 1, f32bits(eps), b64(rms), ph, pr}
	be.launchRows("gm_norm_rows", rows, true, args)
}

// RMSNorm over the last dimension; dst may alias x.
func (be *Backend) RMSNorm(dst, x, w *kernels.Tensor, eps float32) {
	be.normRows("RMSNorm", dst, x, w, nil, eps, true)
}

// LayerNorm over the last dimension; dst may alias x.
func (be *Backend) LayerNorm(dst, x, w, b *kernels.Tensor, eps float32) {
	be.normRows("LayerNorm", dst, x, w, b, eps, false)
}

// LayerNorm2d normalises (Bt, C, H, W) over C; dst may alias x.
func (be *Backend) LayerNorm2d(dst, x, w, b *kernels.Tensor, eps float32) {
	if x.Rank() != 4 || !kernels.SameShape(dst, x) || (w != nil && w.Len() != x.Dim(1)) || (b != nil && b.Len() != x.Dim(1)) {
		panicf("LayerNorm2d", "x %v, w %v, b %v, dst %v", x, w, b, dst)
	}
	op := "LayerNorm2d"
	hw := x.Dim(2) * x.Dim(3)
	rows := x.Dim(0) * hw
	args := []uint64{be.dev(op, x), be.dev(op, w), be.dev(op, b), be.dev(op, dst), i64(rows), i64(x.Dim(1)), i64(hw), f32bits(eps), 0, 0, 0}
	be.launchRows("gm_layernorm2d", rows, false, args)
}

// Softmax over the last dimension; dst may alias x.
func (be *Backend) Softmax(dst, x *kernels.Tensor) {
	if !kernels.SameShape(dst, x) || x.Rank() < 1 {
		panicf("Softmax", "x %v, dst %v", x, dst)
	}
	c := x.Dim(-1)
	rows := x.Len() / max(c, 1)
	be.launchRows("gm_softmax", rows, true, []uint64{be.dev("Softmax", x), be.dev("Softmax", dst), i64(rows), i64(c)})
}

// Mean averages x over one axis.
func (be *Backend) Mean(dst, x *kernels.Tensor, axis int) {
	if axis < 0 {
		axis += x.Rank()
	}
	if axis < 0 || axis >= x.Rank() {
		panicf("Mean", "axis %d for %v", axis, x)
	}
	want := append(append([]int(nil), x.Shape()[:axis]...), x.Shape()[axis+1:]...)
	if !kernels.EqualShape(dst.Shape(), want) {
		panicf("Mean", "x %v axis %d, dst %v", x, axis, dst)
	}
	outer, inner := 1, 1
	for _, d := range x.Shape()[:axis] {
		outer *= d
	}
	for _, d := range x.Shape()[axis+1:] {
		inner *= d
	}
	be.launch1D("gm_mean_axis", outer*inner, []uint64{be.dev("Mean", x), be.dev("Mean", dst), i64(outer), i64(x.Dim(axis)), i64(inner)})
}

// ---- elementwise ----

// Unary applies an activation; dst may alias x.
func (be *Backend) Unary(dst, x *kernels.Tensor, act kernels.Activation) {
	if dst.Len() != x.Len() {
		panicf("Unary", "x %v, dst %v", x, dst)
	}
	be.launch1D("gm_unary", x.Len(), []uint64{be.dev("Unary", x), be.dev("Unary", dst), i64(x.Len()), i64(int(act)), 0})
}

// Scale computes dst = s·x; dst may alias x.
func (be *Backend) Scale(dst, x *kernels.Tensor, s float32) {
	if dst.Len() != x.Len() {
		panicf("Scale", "x %v, dst %v", x, dst)
	}
	be.launch1D("gm_scale", x.Len(), []uint64{be.dev("Scale", x), be.dev("Scale", dst), i64(x.Len()), 0, f32bits(s)})
}

func (be *Backend) binary(op string, dst, a, b *kernels.Tensor, mul bool) {
	as, bs := a.Shape(), b.Shape()
	if !kernels.SameShape(dst, a) || len(bs) > len(as) || !kernels.EqualShape(as[len(as)-len(bs):], bs) {
		panicf(op, "a %v, b %v, dst %v (b must be a trailing suffix of a)", a, b, dst)
	}
	if b.Len() == 0 {
		return
	}
	be.launch1D("gm_binary", a.Len(), []uint64{be.dev(op, a), be.dev(op, b), be.dev(op, dst), i64(a.Len()), i64(b.Len()), b64(mul)})
}

// Add computes dst = a + b (b broadcast over a's leading dims); dst may alias a.
func (be *Backend) Add(dst, a, b *kernels.Tensor) { be.binary("Add", dst, a, b, false) }

// Mul computes dst = a ⊙ b (b broadcast over a's leading dims); dst may alias a.
func (be *Backend) Mul(dst, a, b *kernels.Tensor) { be.binary("Mul", dst, a, b, true) }

// ---- data movement ----

const maxRank = 8

func contiguousStrides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// stridedCopy walks the box size in row-major order (see src/copy.cu).
func (be *Backend) stridedCopy(op string, dst, src *kernels.Tensor, size, dstride, sstride []int, dbase, sbase int) {
	if len(size) > maxRank {
		panicf(op, "rank %d above %d", len(size), maxRank)
	}
	n := 1
	for _, d := range size {
		n *= d
	}
	if n == 0 {
		return
	}
	// Every offset lies inside src or dst, so 32-bit index math is exact
	// when both fit.
	small := max(src.Len(), dst.Len()) <= math.MaxInt32
	args := make([]uint64, 0, 7+3*maxRank)
	args = append(args, be.dev(op, src), be.dev(op, dst), i64(n), i64(len(size)), i64(sbase), i64(dbase), b64(small))
	for _, arr := range [][]int{size, sstride, dstride} {
		for i := 0; i < maxRank; i++ {
			v := 1
			if i < len(arr) {
				v = arr[i]
			}
			args = append(args, i64(v))
		}
	}
	be.launch1D("gm_strided_copy", n, args)
}

// Permute writes src with its axes reordered: dst.Dim(i) = src.Dim(perm[i]).
func (be *Backend) Permute(dst, src *kernels.Tensor, perm ...int) {
	r := src.Rank()
	if len(perm) != r || dst.Rank() != r {
		panicf("Permute", "src %v, dst %v, perm %v", src, dst, perm)
	}
	seen := make([]bool, r)
	ss := contiguousStrides(src.Shape())
	sstride := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] || dst.Dim(i) != src.Dim(p) {
			panicf("Permute", "src %v, dst %v, perm %v", src, dst, perm)
		}
		seen[p] = true
		sstride[i] = ss[p]
	}
	if batch, rows, cols, ok := transposeView(src.Shape(), perm); ok && rows*cols <= math.MaxInt32 {
		if batch*rows*cols == 0 {
			return
		}
		if rows == 1 || cols == 1 {
			be.Copy(dst, src)
			return
		}
		args := []uint64{be.dev("Permute", src), be.dev("Permute", dst), i64(batch), i64(rows), i64(cols)}
		grid := [3]uint32{uint32((cols + 31) / 32), uint32((rows + 31) / 32), uint32(min(batch, 65535))}
		if grid[1] <= 65535 {
			be.launch("gm_transpose", grid, [3]uint32{256, 1, 1}, args)
			return
		}
	}
	be.stridedCopy("Permute", dst, src, dst.Shape(), contiguousStrides(dst.Shape()), sstride, 0, 0)
}

// transposeView reports whether permuting a contiguous tensor of the given
// shape by perm is a batched 2-D transpose, (batch, rows, cols) →
// (batch, cols, rows), once unit axes are dropped and source axes that stay
// adjacent and in order are merged: Permute(0,2,1) of (Bt, L, C), NCHW ↔
// NHWC, or an identity (cols or rows 1).
func transposeView(shape []int, perm []int) (batch, rows, cols int, ok bool) {
	// Runs of consecutive source axes in destination order, unit axes skipped.
	type run struct{ first, last, size int }
	var runs []run
	for _, p := range perm {
		if shape[p] == 1 {
			continue
		}
		if k := len(runs) - 1; k >= 0 {
			next := runs[k].last + 1
			for next < len(shape) && shape[next] == 1 {
				next++
			}
			if next == p {
				runs[k].last = p
				runs[k].size *= shape[p]
				continue
			}
		}
		runs = append(runs, run{p, p, shape[p]})
	}
	switch len(runs) {
	case 0:
		return 1, 1, 1, true
	case 1:
		return 1, 1, runs[0].size, true
	case 2:
		// (A, B) → (B, A): runs are in destination order, so a transpose
		// has the later source axes first.
		if runs[0].first > runs[1].first {
			return 1, runs[1].size, runs[0].size, true
		}
	case 3:
		if runs[0].first < runs[2].first && runs[2].first < runs[1].first {
			return runs[0].size, runs[2].size, runs[1].size, true
		}
	}
	return 0, 0, 0, false
}

// Flip reverses src along one axis into dst (same shape, no aliasing).
func (be *Backend) Flip(dst, src *kernels.Tensor, axis int) {
	if axis < 0 {
		axis += src.Rank()
	}
	if !kernels.SameShape(dst, src) || axis < 0 || axis >= src.Rank() {
		panicf("Flip", "src %v, dst %v, axis %d", src, dst, axis)
	}
	// A (outer, n, inner) view: row i of each outer block goes to n-1-i.
	outer, inner := 1, 1
	for _, d := range src.Shape()[:axis] {
		outer *= d
	}
	for _, d := range src.Shape()[axis+1:] {
		inner *= d
	}
	n := src.Dim(axis)
	if outer*n*inner == 0 {
		return
	}
	ps, pd := be.dev("Flip", src), be.dev("Flip", dst)
	vec := inner%4 == 0 && ps%16 == 0 && pd%16 == 0
	units := outer * n * inner
	if vec {
		units /= 4
	}
	be.launch1D("gm_flip", units, []uint64{ps, pd, i64(outer), i64(n), i64(inner), b64(vec)})
}

// CopyBox copies a box of src into dst (slicing, concatenation, padding).
func (be *Backend) CopyBox(dst *kernels.Tensor, dstOff []int, src *kernels.Tensor, srcOff []int, size []int) {
	r := src.Rank()
	if dst.Rank() != r || len(dstOff) != r || len(srcOff) != r || len(size) != r {
		panicf("CopyBox", "dst %v off %v, src %v off %v, size %v", dst, dstOff, src, srcOff, size)
	}
	ds, ss := contiguousStrides(dst.Shape()), contiguousStrides(src.Shape())
	dbase, sbase := 0, 0
	for i := range size {
		if size[i] < 0 || dstOff[i] < 0 || srcOff[i] < 0 || dstOff[i]+size[i] > dst.Dim(i) || srcOff[i]+size[i] > src.Dim(i) {
			panicf("CopyBox", "dst %v off %v, src %v off %v, size %v", dst, dstOff, src, srcOff, size)
		}
		dbase += dstOff[i] * ds[i]
		sbase += srcOff[i] * ss[i]
	}
	be.stridedCopy("CopyBox", dst, src, size, ds, ss, dbase, sbase)
}
