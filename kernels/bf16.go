package kernels

import (
	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// BF16Matrix is an (N, K) weight matrix stored in bfloat16 for CPU
// inference: every weight is rounded to the nearest bfloat16 (ties to even,
// as PyTorch's .to(torch.bfloat16)) once, when the matrix is made, and
// widened back to fp32 (exactly) inside the kernels, which accumulate in
// fp32. It takes half the memory of the fp32 matrix and, in a
// matrix-vector product (token-by-token decoding), half the bytes read.
//
// The weights are laid out in panels of four rows (blocks of 16 columns of
// each row in turn), padded with zeros to a multiple of 4 rows and 16
// columns, so that a matrix-vector product reads one sequential stream.
// A BF16Matrix is immutable and safe for concurrent use.
type BF16Matrix struct {
	panelLayout
	data []uint16 // ceil(n/4) panels of 64·kb values
}

// NewBF16Matrix rounds the host matrix w (N, K) to a BF16Matrix. It panics
// if w is not a rank-2 host tensor.
func NewBF16Matrix(w *Tensor) *BF16Matrix {
	l := newPanelLayout("NewBF16Matrix", w)
	m := &BF16Matrix{panelLayout: l, data: make([]uint16, l.panels()*l.panelSize())}
	Parallel(l.n, rowGrain(l.k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := w.Data[i*l.k : i*l.k+l.k]
			for b := 0; b*asm.BlockBF16 < l.k; b++ {
				src := row[b*asm.BlockBF16 : min((b+1)*asm.BlockBF16, l.k)]
				dst := m.data[m.index(i, b*asm.BlockBF16):][:len(src)]
				for c, v := range src {
					dst[c] = asm.Float32ToBF16(v)
				}
			}
		}
	})
	return m
}

// panel returns panel p (rows 4p..4p+3).
func (m *BF16Matrix) panel(p int) []uint16 {
	size := m.panelSize()
	return m.data[p*size : (p+1)*size]
}

// Bytes is the memory the weights take (padding included).
func (m *BF16Matrix) Bytes() int64 { return 2 * int64(len(m.data)) }

// At returns element (i, j) widened to fp32.
func (m *BF16Matrix) At(i, j int) float32 {
	m.check("BF16Matrix.At", i, j)
	return asm.BF16ToFloat32(m.data[m.index(i, j)])
}

// Row widens row i into dst (length ≥ K), e.g. an embedding lookup.
func (m *BF16Matrix) Row(dst []float32, i int) {
	m.checkRow("BF16Matrix.Row", dst, i)
	for j := range dst[:m.k] {
		dst[j] = asm.BF16ToFloat32(m.data[m.index(i, j)])
	}
}

// Widen writes the matrix in fp32 into dst (N, K) (row-major, the layout of
// the fp32 weight it was made from).
func (m *BF16Matrix) Widen(dst *Tensor) { widenPacked("BF16Matrix.Widen", m, dst) }

func (m *BF16Matrix) dotPanel(p int, x []float32, out *[4]float32) {
	asm.DotPanelBF16(m.kb, x, m.panel(p), out)
}

func (m *BF16Matrix) widenRaw(p int, dst []float32, ld int) {
	asm.WidenPanelBF16(m.kb, m.panel(p), dst, ld)
}

// BF16Linear is implemented by backends that compute Linear with
// bfloat16-stored weights (the CPU backend). Model code checks for it
// before offering bf16 weight storage; PackedLinear takes any
// PackedMatrix.
type BF16Linear interface {
	// LinearBF16 computes dst = x·wᵀ + bias like Linear, with w (N, K) a
	// BF16Matrix: x (..., K), bias (N) or nil, dst (..., N).
	LinearBF16(dst, x *Tensor, w *BF16Matrix, bias *Tensor)
}

// LinearBF16 implements BF16Linear on the CPU (LinearPacked with a
// BF16Matrix).
func (cb cpuBackend) LinearBF16(dst, x *Tensor, w *BF16Matrix, bias *Tensor) {
	var pm PackedMatrix
	if w != nil {
		pm = w
	}
	cb.linearPacked("LinearBF16", dst, x, pm, bias)
}
