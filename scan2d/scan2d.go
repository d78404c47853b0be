package scan2d

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// Directions is the number of scan orders (K in the official code).
const Directions = 4

// Position returns the pixel (h, w) that direction k reads at sequence index
// l of an H×W map (0 ≤ l < H·W). It is the definition CrossScan implements.
func Position(k, l, h, w int) (row, col int) {
	n := h * w
	if k >= 2 {
		l = n - 1 - l
	}
	if k%2 == 0 {
		return l / w, l % w
	}
	return l % h, l / h
}

// Workspace holds the temporaries of CrossScan and CrossMerge, keyed by
// shape, so that repeated calls on the same shapes allocate nothing. The zero
// value is not usable; call NewWorkspace. Not safe for concurrent use.
type Workspace struct {
	be   kernels.Backend
	bufs map[bufKey]*kernels.Tensor
}

// bufKey names a temporary: its role and its shape (rank ≤ 5).
type bufKey struct {
	tag   string
	shape [5]int
}

// NewWorkspace returns an empty workspace whose temporaries live on be.
func NewWorkspace(be kernels.Backend) *Workspace {
	return &Workspace{be: be, bufs: map[bufKey]*kernels.Tensor{}}
}

// Release frees every temporary (they are re-made on the next call).
func (ws *Workspace) Release() {
	for k, t := range ws.bufs {
		ws.be.Free(t)
		delete(ws.bufs, k)
	}
}

// buf returns the temporary called tag with the given shape.
func (ws *Workspace) buf(tag string, shape ...int) *kernels.Tensor {
	key := bufKey{tag: tag}
	copy(key.shape[:], shape)
	if t, ok := ws.bufs[key]; ok {
		return t
	}
	t := ws.be.New(shape...)
	ws.bufs[key] = t
	return t
}

// CrossScan writes the four scan orders of x (Bt, C, H, W) into dst
// (Bt, 4, C, H·W), using a temporary workspace.
func CrossScan(be kernels.Backend, dst, x *kernels.Tensor) {
	ws := NewWorkspace(be)
	defer ws.Release()
	ws.CrossScan(dst, x)
}

// CrossMerge sums the four directions of ys (Bt, 4, C, H·W) back into
// row-major dst (Bt, C, H, W), using a temporary workspace.
func CrossMerge(be kernels.Backend, dst, ys *kernels.Tensor) {
	ws := NewWorkspace(be)
	defer ws.Release()
	ws.CrossMerge(dst, ys)
}

// CrossScan writes the four scan orders of x (Bt, C, H, W) into dst
// (Bt, 4, C, H·W) (see the package comment). It panics on shape mismatch.
func (ws *Workspace) CrossScan(dst, x *kernels.Tensor) {
	if x.Rank() != 4 || dst.Rank() != 4 || dst.Dim(0) != x.Dim(0) || dst.Dim(1) != Directions ||
		dst.Dim(2) != x.Dim(1) || dst.Dim(3) != x.Dim(2)*x.Dim(3) {
		panic(fmt.Sprintf("scan2d: CrossScan x %v, dst %v: want dst (Bt, 4, C, H·W)", x.Shape(), dst.Shape()))
	}
	be := ws.be
	bt, c, l := x.Dim(0), x.Dim(1), x.Dim(2)*x.Dim(3)
	zero := []int{0, 0, 0, 0}
	pair := []int{bt, 2, c, l}
	// k = 0, 1: row-major and column-major (CrossScanPair).
	p := ws.buf("scan.pair", bt, 2, c, l)
	ws.CrossScanPair(p, x)
	be.CopyBox(dst, zero, p, zero, pair)
	// k = 2, 3: their reversals.
	f := ws.buf("scan.f", bt, 2, c, l)
	be.Flip(f, p, 3)
	be.CopyBox(dst, []int{0, 2, 0, 0}, f, zero, pair)
}

// CrossMerge maps the four directions of ys (Bt, 4, C, H·W) back to row-major
// order and sums them into dst (Bt, C, H, W): (ys0 + flip(ys2)) +
// transposeBack(ys1 + flip(ys3)), the official summation order. It panics on
// shape mismatch.
func (ws *Workspace) CrossMerge(dst, ys *kernels.Tensor) {
	if dst.Rank() != 4 || ys.Rank() != 4 || ys.Dim(0) != dst.Dim(0) || ys.Dim(1) != Directions ||
		ys.Dim(2) != dst.Dim(1) || ys.Dim(3) != dst.Dim(2)*dst.Dim(3) {
		panic(fmt.Sprintf("scan2d: CrossMerge ys %v, dst %v: want ys (Bt, 4, C, H·W)", ys.Shape(), dst.Shape()))
	}
	be := ws.be
	bt, c, h, w := dst.Dim(0), dst.Dim(1), dst.Dim(2), dst.Dim(3)
	l := h * w
	// f = [ys0, ys1, flip(ys2), flip(ys3)].
	f := ws.buf("merge.f", bt, Directions, c, l)
	be.Flip(f, ys, 3)
	be.CopyBox(f, []int{0, 0, 0, 0}, ys, []int{0, 0, 0, 0}, []int{bt, 2, c, l})
	// m = [(ys0 + flip(ys2))/2, (ys1 + flip(ys3))/2]: the mean over the
	// (forward, reversed) axis of f viewed as (Bt, 2, 2·C·L). Halving is exact
	// in binary floating point, so m holds the fp32 sums up to a power of two.
	m := ws.buf("merge.m", bt, 2, c, l)
	be.Mean(m.Reshape(bt, 2*c*l), f.Reshape(bt, 2, 2*c*l), 1)
	// q[:,1] = m[:,1] transposed back from (W, H) to (H, W); q[:,0] = m[:,0].
	q := ws.buf("merge.q", bt, 2, c, h, w)
	be.Permute(q, m.Reshape(bt, 2, c, w, h), 0, 1, 2, 4, 3)
	be.CopyBox(q, []int{0, 0, 0, 0, 0}, m.Reshape(bt, 2, c, h, w), []int{0, 0, 0, 0, 0}, []int{bt, 1, c, h, w})
	// dst = 4 · mean(q[:,0], q[:,1]) = the sum of the four directions.
	be.Mean(dst, q, 1)
	be.Scale(dst, dst, 4)
}

// CrossScanPair writes the two forward scan orders of x (Bt, C, H, W) into
// dst (Bt, 2, C, H·W): row-major (direction 0) and column-major
// (direction 1). Directions 2 and 3 are their reversals; a caller that runs
// them as reverse scans (kernels.ScanArgs.Reverse) over the same sequences
// needs no flipped copies. x may be dst's first slab itself (Bt = 1, host
// memory): direction 0 is then already in place and only the transpose is
// written. It panics on shape mismatch.
func (ws *Workspace) CrossScanPair(dst, x *kernels.Tensor) {
	if x.Rank() != 4 || dst.Rank() != 4 || dst.Dim(0) != x.Dim(0) || dst.Dim(1) != 2 ||
		dst.Dim(2) != x.Dim(1) || dst.Dim(3) != x.Dim(2)*x.Dim(3) {
		panic(fmt.Sprintf("scan2d: CrossScanPair x %v, dst %v: want dst (Bt, 2, C, H·W)", x.Shape(), dst.Shape()))
	}
	be := ws.be
	bt, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	l := h * w
	box := []int{bt, 1, c, l}
	zero := []int{0, 0, 0, 0}
	if !(bt == 1 && dst.Data != nil && len(x.Data) > 0 && &x.Data[0] == &dst.Data[0]) {
		be.CopyBox(dst, zero, x.Reshape(bt, 1, c, l), zero, box)
	}
	if bt == 1 && dst.Data != nil { // host memory: transpose straight into the second slab
		be.Permute(dst.Reshape(2, c, w, h).Narrow0(1, 1), x, 0, 1, 3, 2)
		return
	}
	t := ws.buf("scan.t", bt, c, w, h)
	be.Permute(t, x, 0, 1, 3, 2)
	be.CopyBox(dst, []int{0, 1, 0, 0}, t.Reshape(bt, 1, c, l), zero, box)
}

// CrossMergePair is CrossMerge for outputs laid out as CrossScanPair's
// sequences: fwd (Bt, 2, C, H·W) holds directions 0 and 1, rev the same
// shape holds directions 2 and 3 already in forward order (the outputs of
// reverse scans, i.e. flip(ys2), flip(ys3)). dst (Bt, C, H, W) receives
// (ys0 + flip(ys2)) + transposeBack(ys1 + flip(ys3)), CrossMerge's sum in
// the same order. fwd is overwritten (it holds the pair sums). It panics on
// shape mismatch.
func (ws *Workspace) CrossMergePair(dst, fwd, rev *kernels.Tensor) {
	if dst.Rank() != 4 || fwd.Rank() != 4 || !kernels.SameShape(fwd, rev) || fwd.Dim(0) != dst.Dim(0) || fwd.Dim(1) != 2 ||
		fwd.Dim(2) != dst.Dim(1) || fwd.Dim(3) != dst.Dim(2)*dst.Dim(3) {
		panic(fmt.Sprintf("scan2d: CrossMergePair fwd %v, rev %v, dst %v: want fwd, rev (Bt, 2, C, H·W)", fwd.Shape(), rev.Shape(), dst.Shape()))
	}
	ws.be.Add(fwd, fwd, rev) // [ys0 + flip(ys2), ys1 + flip(ys3)]
	ws.CrossMergeSum(dst, fwd)
}

// CrossMergeSum is CrossMergePair after its first step, for pair sums made
// elsewhere (a reverse scan that accumulated into the forward one's
// output): sum (Bt, 2, C, H·W) holds [ys0 + flip(ys2), ys1 + flip(ys3)] and
// dst (Bt, C, H, W) receives sum[:,0] + transposeBack(sum[:,1]). sum may be
// overwritten. It panics on shape mismatch.
func (ws *Workspace) CrossMergeSum(dst, sum *kernels.Tensor) {
	if dst.Rank() != 4 || sum.Rank() != 4 || sum.Dim(0) != dst.Dim(0) || sum.Dim(1) != 2 ||
		sum.Dim(2) != dst.Dim(1) || sum.Dim(3) != dst.Dim(2)*dst.Dim(3) {
		panic(fmt.Sprintf("scan2d: CrossMergeSum sum %v, dst %v: want sum (Bt, 2, C, H·W)", sum.Shape(), dst.Shape()))
	}
	be, fwd := ws.be, sum
	bt, c, h, w := dst.Dim(0), dst.Dim(1), dst.Dim(2), dst.Dim(3)
	if bt == 1 && dst.Data != nil {
		// Host memory: transpose the second sum back into a (C, H, W)
		// temporary and add the first one to it (the same single sum).
		q := ws.buf("merge.q1", 1, c, h, w)
		s := fwd.Reshape(2, c, w, h)
		be.Permute(q, s.Narrow0(1, 1), 0, 1, 3, 2)
		be.Add(dst, s.Narrow0(0, 1).Reshape(1, c, h, w), q)
		return
	}
	// q[:,1] = the column-major pair sum transposed back to (H, W); q[:,0]
	// = the row-major one. dst = 2·mean(q[:,0], q[:,1]) (exact scalings).
	q := ws.buf("merge.q", bt, 2, c, h, w)
	be.Permute(q, fwd.Reshape(bt, 2, c, w, h), 0, 1, 2, 4, 3)
	be.CopyBox(q, []int{0, 0, 0, 0, 0}, fwd.Reshape(bt, 2, c, h, w), []int{0, 0, 0, 0, 0}, []int{bt, 1, c, h, w})
	be.Mean(dst, q, 1)
	be.Scale(dst, dst, 2)
}
