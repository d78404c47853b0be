package kernels

import (
	"fmt"
	"runtime"

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
	n, k, kb int      // rows, columns, blocks of 16 columns (k padded)
	data     []uint16 // ceil(n/4) panels of 64·kb values
}

// NewBF16Matrix rounds the host matrix w (N, K) to a BF16Matrix. It panics
// if w is not a rank-2 host tensor.
func NewBF16Matrix(w *Tensor) *BF16Matrix {
	host("NewBF16Matrix", w)
	if w.Rank() != 2 {
		panicf("NewBF16Matrix", "w %v: want (N, K)", shp(w))
	}
	n, k := w.Dim(0), w.Dim(1)
	kb := ceilDiv(k, asm.BlockBF16)
	m := &BF16Matrix{n: n, k: k, kb: kb, data: make([]uint16, ceilDiv(n, asm.PanelBF16)*asm.PanelBF16*asm.BlockBF16*kb)}
	Parallel(n, rowGrain(k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := w.Data[i*k : i*k+k]
			for b := 0; b*asm.BlockBF16 < k; b++ {
				src := row[b*asm.BlockBF16 : min((b+1)*asm.BlockBF16, k)]
				dst := m.data[m.index(i, b*asm.BlockBF16):][:len(src)]
				for c, v := range src {
					dst[c] = asm.Float32ToBF16(v)
				}
			}
		}
	})
	return m
}

// index is the position of element (i, j) in the panel layout.
func (m *BF16Matrix) index(i, j int) int {
	p, r := i/asm.PanelBF16, i%asm.PanelBF16
	b, c := j/asm.BlockBF16, j%asm.BlockBF16
	return ((p*m.kb+b)*asm.PanelBF16+r)*asm.BlockBF16 + c
}

// panel returns panel p (rows 4p..4p+3).
func (m *BF16Matrix) panel(p int) []uint16 {
	size := asm.PanelBF16 * asm.BlockBF16 * m.kb
	return m.data[p*size : (p+1)*size]
}

// Dims returns the matrix's shape (N, K).
func (m *BF16Matrix) Dims() (n, k int) { return m.n, m.k }

// Bytes is the memory the weights take (padding included).
func (m *BF16Matrix) Bytes() int64 { return 2 * int64(len(m.data)) }

// At returns element (i, j) widened to fp32.
func (m *BF16Matrix) At(i, j int) float32 {
	if i < 0 || i >= m.n || j < 0 || j >= m.k {
		panicf("BF16Matrix.At", "(%d, %d) outside (%d, %d)", i, j, m.n, m.k)
	}
	return asm.BF16ToFloat32(m.data[m.index(i, j)])
}

// Row widens row i into dst (length ≥ K), e.g. an embedding lookup.
func (m *BF16Matrix) Row(dst []float32, i int) {
	if i < 0 || i >= m.n || len(dst) < m.k {
		panicf("BF16Matrix.Row", "row %d of (%d, %d) into %d floats", i, m.n, m.k, len(dst))
	}
	for j := range dst[:m.k] {
		dst[j] = asm.BF16ToFloat32(m.data[m.index(i, j)])
	}
}

// Widen writes the matrix in fp32 into dst (N, K) (row-major, the layout of
// the fp32 weight it was made from).
func (m *BF16Matrix) Widen(dst *Tensor) {
	host("BF16Matrix.Widen", dst)
	if dst.Rank() != 2 || dst.Dim(0) != m.n || dst.Dim(1) != m.k {
		panicf("BF16Matrix.Widen", "dst %v: want [%d %d]", shp(dst), m.n, m.k)
	}
	panels := ceilDiv(m.n, asm.PanelBF16)
	Parallel(panels, max(1, elemGrain/(asm.PanelBF16*m.k+1)), func(lo, hi int) {
		tmp := getScratch(asm.PanelBF16 * asm.BlockBF16 * m.kb)
		defer putScratch(tmp)
		for p := lo; p < hi; p++ {
			m.widenPanel(*tmp, p, dst.Data[p*asm.PanelBF16*m.k:], m.k)
		}
	})
}

// widenPanel writes panel p's rows (those below N, K columns each) to dst
// with row stride ld, staging through tmp (4·16·kb floats) when the panel
// is padded.
func (m *BF16Matrix) widenPanel(tmp []float32, p int, dst []float32, ld int) {
	rows := min(asm.PanelBF16, m.n-p*asm.PanelBF16)
	k16 := asm.BlockBF16 * m.kb
	if rows == asm.PanelBF16 && k16 == m.k && ld >= k16 {
		asm.WidenPanelBF16(m.kb, m.panel(p), dst, ld)
		return
	}
	asm.WidenPanelBF16(m.kb, m.panel(p), tmp, k16)
	for r := 0; r < rows; r++ {
		copy(dst[r*ld:r*ld+m.k], tmp[r*k16:])
	}
}

// BF16Linear is implemented by backends that compute Linear with
// bfloat16-stored weights (the CPU backend). Model code checks for it
// before offering bf16 weight storage.
type BF16Linear interface {
	// LinearBF16 computes dst = x·wᵀ + bias like Linear, with w (N, K) a
	// BF16Matrix: x (..., K), bias (N) or nil, dst (..., N).
	LinearBF16(dst, x *Tensor, w *BF16Matrix, bias *Tensor)
}

// bf16GemvMaxM is the most rows of x that LinearBF16 multiplies panel by
// panel (each panel read once from memory, the x rows from cache); more
// rows widen blocks of panels and run the fp32 GEMM on them.
const bf16GemvMaxM = 4

// bf16ChunkPanels is the number of panels (4 rows each) LinearBF16 widens
// per GEMM call when x has many rows: 128 rows, 384 KiB of fp32 at K = 768.
const bf16ChunkPanels = 32

// LinearBF16 implements BF16Linear on the CPU: for up to 4 rows of x, a
// matrix-vector product over the weight panels split among GOMAXPROCS
// goroutines (asm.DotPanelBF16: AVX-512 or AVX2, fp32 accumulation);
// for more rows, blocks of 128 weight rows widened to fp32 and multiplied
// with the SGEMM kernels.
func (cb cpuBackend) LinearBF16(dst, x *Tensor, w *BF16Matrix, bias *Tensor) {
	host("LinearBF16", dst, x, bias)
	if w == nil || x.Rank() < 1 || dst.Rank() != x.Rank() || x.Dim(-1) != w.k || dst.Dim(-1) != w.n ||
		!EqualShape(x.shape[:x.Rank()-1], dst.shape[:dst.Rank()-1]) || (bias != nil && (bias.Rank() != 1 || bias.Dim(0) != w.n)) {
		wshape := "nil"
		if w != nil {
			wshape = fmt.Sprint([]int{w.n, w.k})
		}
		panicf("LinearBF16", "x %v, w %s, bias %v, dst %v: want x (..., K), w (N, K), bias (N), dst (..., N)", shp(x), wshape, shp(bias), shp(dst))
	}
	n, k := w.n, w.k
	m := dst.Len() / max(n, 1)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(dst.Data)
	} else if m <= bf16GemvMaxM {
		cb.gemvBF16(dst.Data, x.Data, w, m)
	} else {
		cb.gemmBF16(dst.Data, x.Data, w, m)
	}
	if bias != nil {
		cb.addRowBias(dst.Data, bias.Data, m, n)
	}
}

// gemvBF16 computes the m ≤ bf16GemvMaxM rows of dst = x·wᵀ.
func (cb cpuBackend) gemvBF16(dst, x []float32, w *BF16Matrix, m int) {
	n, k, k16 := w.n, w.k, asm.BlockBF16*w.kb
	xs := x
	var pad *[]float32
	if k16 != k { // the kernels read whole blocks: zero-pad x's rows
		pad = getScratch(m * k16)
		defer putScratch(pad)
		xs = *pad
		for i := range m {
			row := xs[i*k16 : (i+1)*k16]
			copy(row, x[i*k:(i+1)*k])
			clear(row[k:])
		}
	}
	panels := ceilDiv(n, asm.PanelBF16)
	run := func(lo, hi int) {
		var out [4]float32
		for p := lo; p < hi; p++ {
			wp := w.panel(p)
			j0 := p * asm.PanelBF16
			for i := range m {
				asm.DotPanelBF16(w.kb, xs[i*k16:], wp, &out)
				row := dst[i*n : (i+1)*n]
				if j0+asm.PanelBF16 <= n {
					copy(row[j0:j0+asm.PanelBF16], out[:])
				} else {
					copy(row[j0:], out[:n-j0])
				}
			}
		}
	}
	// At least 64 KiB of weights per goroutine: below that the fork and
	// join cost more than the stream.
	panelBytes := 2 * asm.PanelBF16 * k16
	workers := min(runtime.GOMAXPROCS(0), panels*panelBytes/(64<<10))
	if cb.serial || workers <= 1 {
		run(0, panels)
		return
	}
	shareChunks(panels, max(1, (16<<10)/panelBytes), workers, run)
}

// gemmBF16 computes dst = x·wᵀ for m rows of x by widening bf16ChunkPanels
// panels at a time and running the single-goroutine SGEMM on them, chunks
// spread over GOMAXPROCS goroutines.
func (cb cpuBackend) gemmBF16(dst, x []float32, w *BF16Matrix, m int) {
	n, k, k16 := w.n, w.k, asm.BlockBF16*w.kb
	panels := ceilDiv(n, asm.PanelBF16)
	chunks := ceilDiv(panels, bf16ChunkPanels)
	serial := cpuBackend{serial: true}
	cb.par(chunks, 1, func(lo, hi int) {
		buf := getScratch(bf16ChunkPanels * asm.PanelBF16 * k16)
		defer putScratch(buf)
		tmp := getScratch(asm.PanelBF16 * k16)
		defer putScratch(tmp)
		for c := lo; c < hi; c++ {
			p0, p1 := c*bf16ChunkPanels, min((c+1)*bf16ChunkPanels, panels)
			for p := p0; p < p1; p++ {
				w.widenPanel(*tmp, p, (*buf)[(p-p0)*asm.PanelBF16*k16:], k16)
			}
			j0, j1 := p0*asm.PanelBF16, min(p1*asm.PanelBF16, n)
			serial.sgemm(false, true, m, j1-j0, k, 1, x, k, *buf, k16, 0, dst[j0:], n)
		}
	})
}
