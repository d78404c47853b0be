package kernels

import (
	"math"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// Int8Matrix is an (N, K) weight matrix stored in int8 for CPU inference
// (weight-only quantisation): each row is cut into groups of Group()
// columns (or kept whole), and each group stores one fp32 scale
// s = max|w|/127 and the weights rounded to the nearest integer of w/s
// (ties to even), in [−127, 127]. The kernels dequantise in registers and
// accumulate in fp32: a matrix-vector product computes, per group,
// s·Σ x·q. It takes about a quarter of the memory of the fp32 matrix (plus
// 4 bytes per group of each row) and, in a matrix-vector product
// (token-by-token decoding), a quarter of the bytes read.
//
// The error is that of rounding: at most s/2 = max|w|/254 per weight of a
// group, which smaller groups make smaller at the cost of more scales.
// Non-finite weights cannot be represented (NaN becomes 0, ±Inf the group
// maximum). The weights use BF16Matrix's panel layout (four rows by blocks
// of 16 columns, one 64-byte line per block). An Int8Matrix is immutable
// and safe for concurrent use.
type Int8Matrix struct {
	panelLayout
	gb, groups int       // blocks of 16 columns per group, groups per row
	data       []int8    // ceil(n/4) panels of 64·kb values
	scales     []float32 // per panel: groups × 4 rows
}

// NewInt8Matrix quantises the host matrix w (N, K) to an Int8Matrix with
// one scale per group of group columns of each row; group must be a
// positive multiple of 16, or 0 for one scale per row. It panics if w is
// not a rank-2 host tensor or group is invalid.
func NewInt8Matrix(w *Tensor, group int) *Int8Matrix {
	l := newPanelLayout("NewInt8Matrix", w)
	if group < 0 || group%asm.BlockBF16 != 0 {
		panicf("NewInt8Matrix", "group %d: want 0 (per row) or a positive multiple of %d", group, asm.BlockBF16)
	}
	gb := max(l.kb, 1)
	if group > 0 {
		gb = min(group/asm.BlockBF16, gb)
	}
	groups := ceilDiv(l.kb, gb)
	m := &Int8Matrix{panelLayout: l, gb: gb, groups: groups,
		data: make([]int8, l.panels()*l.panelSize()), scales: make([]float32, l.panels()*groups*asm.PanelBF16)}
	cols := m.Group()
	Parallel(l.n, rowGrain(l.k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := w.Data[i*l.k : i*l.k+l.k]
			for g := 0; g*cols < l.k; g++ {
				src := row[g*cols : min((g+1)*cols, l.k)]
				amax := 0.0
				for _, v := range src {
					if a := math.Abs(float64(v)); a > amax && !math.IsInf(a, 0) {
						amax = a
					}
				}
				s := float32(amax / 127)
				m.scales[m.scaleIndex(i, g)] = s
				for c, v := range src {
					j := g*cols + c
					m.data[m.index(i, j)] = quantInt8(v, s)
				}
			}
		}
	})
	return m
}

// quantInt8 rounds v/s to the nearest integer (ties to even) in
// [−127, 127]; s = 0 or NaN v give 0.
func quantInt8(v, s float32) int8 {
	if s == 0 || v != v {
		return 0
	}
	q := math.RoundToEven(float64(v) / float64(s))
	return int8(max(-127, min(127, q)))
}

// scaleIndex is the position of the scale of row i, group g.
func (m *Int8Matrix) scaleIndex(i, g int) int {
	p, r := i/asm.PanelBF16, i%asm.PanelBF16
	return (p*m.groups+g)*asm.PanelBF16 + r
}

// Group returns the number of columns that share a scale (K, padded to a
// multiple of 16, for one scale per row).
func (m *Int8Matrix) Group() int { return m.gb * asm.BlockBF16 }

// Bytes is the memory the weights and scales take (padding included).
func (m *Int8Matrix) Bytes() int64 { return int64(len(m.data)) + 4*int64(len(m.scales)) }

// At returns element (i, j) dequantised to fp32.
func (m *Int8Matrix) At(i, j int) float32 {
	m.check("Int8Matrix.At", i, j)
	return float32(m.data[m.index(i, j)]) * m.scales[m.scaleIndex(i, j/m.Group())]
}

// Row dequantises row i into dst (length ≥ K), e.g. an embedding lookup.
func (m *Int8Matrix) Row(dst []float32, i int) {
	m.checkRow("Int8Matrix.Row", dst, i)
	cols := m.Group()
	for j := range dst[:m.k] {
		dst[j] = float32(m.data[m.index(i, j)]) * m.scales[m.scaleIndex(i, j/cols)]
	}
}

// Widen writes the dequantised matrix in fp32 into dst (N, K) (row-major,
// the layout of the fp32 weight it was made from).
func (m *Int8Matrix) Widen(dst *Tensor) { widenPacked("Int8Matrix.Widen", m, dst) }

// panel returns panel p's weights and scales.
func (m *Int8Matrix) panel(p int) ([]int8, []float32) {
	size, ss := m.panelSize(), m.groups*asm.PanelBF16
	return m.data[p*size : (p+1)*size], m.scales[p*ss : (p+1)*ss]
}

func (m *Int8Matrix) dotPanel(p int, x []float32, out *[4]float32) {
	w, s := m.panel(p)
	asm.DotPanelInt8(m.kb, m.gb, x, w, s, out)
}

func (m *Int8Matrix) widenRaw(p int, dst []float32, ld int) {
	w, s := m.panel(p)
	asm.WidenPanelInt8(m.kb, m.gb, w, s, dst, ld)
}
