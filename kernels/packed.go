package kernels

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// PackedMatrix is an (N, K) weight matrix in a compact storage for CPU
// inference: *BF16Matrix (bfloat16) or *Int8Matrix (int8 with fp32
// scales). Both keep the weights in panels of four rows (blocks of 16
// columns of each row in turn, padded with zeros to a multiple of 4 rows
// and 16 columns), so that a matrix-vector product reads one sequential
// stream, and widen them to fp32 in registers. Implementations are
// immutable and safe for concurrent use; the interface is sealed.
type PackedMatrix interface {
	// Dims returns the matrix's shape (N, K).
	Dims() (n, k int)
	// Bytes is the memory the weights take (padding and scales included).
	Bytes() int64
	// At returns element (i, j) in fp32.
	At(i, j int) float32
	// Row writes row i in fp32 into dst (length ≥ K), e.g. an embedding
	// lookup.
	Row(dst []float32, i int)
	// Widen writes the matrix in fp32 into dst (N, K), row-major.
	Widen(dst *Tensor)

	layout() *panelLayout
	// dotPanel computes the dot products of x (16·kb floats, K padded
	// with zeros) with the four rows of panel p.
	dotPanel(p int, x []float32, out *[4]float32)
	// widenRaw writes the four rows of panel p (all 16·kb columns) in fp32
	// to dst with row stride ld.
	widenRaw(p int, dst []float32, ld int)
}

// PackedLinear is implemented by backends that compute Linear with
// PackedMatrix weights (the CPU backend). Model code checks for it before
// offering bf16 or int8 weight storage.
type PackedLinear interface {
	// LinearPacked computes dst = x·wᵀ + bias like Linear, with w (N, K)
	// a PackedMatrix: x (..., K), bias (N) or nil, dst (..., N).
	LinearPacked(dst, x *Tensor, w PackedMatrix, bias *Tensor)
}

// panelLayout is the shape of a matrix stored in panels of asm.PanelBF16
// rows by blocks of asm.BlockBF16 columns.
type panelLayout struct {
	n, k, kb int // rows, columns, blocks of 16 columns (k padded)
}

// newPanelLayout checks that w is a rank-2 host tensor and returns its
// layout.
func newPanelLayout(op string, w *Tensor) panelLayout {
	host(op, w)
	if w.Rank() != 2 {
		panicf(op, "w %v: want (N, K)", shp(w))
	}
	return panelLayout{n: w.Dim(0), k: w.Dim(1), kb: ceilDiv(w.Dim(1), asm.BlockBF16)}
}

func (l *panelLayout) layout() *panelLayout { return l }

// Dims returns the matrix's shape (N, K).
func (l *panelLayout) Dims() (n, k int) { return l.n, l.k }

// panels is the number of panels, ⌈N/4⌉.
func (l *panelLayout) panels() int { return ceilDiv(l.n, asm.PanelBF16) }

// panelSize is the number of weights of one panel, padding included.
func (l *panelLayout) panelSize() int { return asm.PanelBF16 * asm.BlockBF16 * l.kb }

// index is the position of element (i, j) in the panel layout.
func (l *panelLayout) index(i, j int) int {
	p, r := i/asm.PanelBF16, i%asm.PanelBF16
	b, c := j/asm.BlockBF16, j%asm.BlockBF16
	return ((p*l.kb+b)*asm.PanelBF16+r)*asm.BlockBF16 + c
}

// check panics unless (i, j) is inside the matrix.
func (l *panelLayout) check(op string, i, j int) {
	if i < 0 || i >= l.n || j < 0 || j >= l.k {
		panicf(op, "(%d, %d) outside (%d, %d)", i, j, l.n, l.k)
	}
}

// checkRow panics unless row i exists and dst holds K floats.
func (l *panelLayout) checkRow(op string, dst []float32, i int) {
	if i < 0 || i >= l.n || len(dst) < l.k {
		panicf(op, "row %d of (%d, %d) into %d floats", i, l.n, l.k, len(dst))
	}
}

// widenPacked writes w in fp32 into dst (N, K), row-major.
func widenPacked(op string, w PackedMatrix, dst *Tensor) {
	l := w.layout()
	host(op, dst)
	if dst.Rank() != 2 || dst.Dim(0) != l.n || dst.Dim(1) != l.k {
		panicf(op, "dst %v: want [%d %d]", shp(dst), l.n, l.k)
	}
	Parallel(l.panels(), max(1, elemGrain/(asm.PanelBF16*l.k+1)), func(lo, hi int) {
		tmp := getScratch(l.panelSize())
		defer putScratch(tmp)
		for p := lo; p < hi; p++ {
			widenPanel(w, *tmp, p, dst.Data[p*asm.PanelBF16*l.k:], l.k)
		}
	})
}

// widenPanel writes panel p's rows (those below N, K columns each) to dst
// with row stride ld, staging through tmp (4·16·kb floats) when the panel
// is padded.
func widenPanel(w PackedMatrix, tmp []float32, p int, dst []float32, ld int) {
	l := w.layout()
	rows := min(asm.PanelBF16, l.n-p*asm.PanelBF16)
	k16 := asm.BlockBF16 * l.kb
	if rows == asm.PanelBF16 && k16 == l.k && ld >= k16 {
		w.widenRaw(p, dst, ld)
		return
	}
	w.widenRaw(p, tmp, k16)
	for r := 0; r < rows; r++ {
		copy(dst[r*ld:r*ld+l.k], tmp[r*k16:])
	}
}

// packedGemvMaxM is the most rows of x that LinearPacked multiplies panel
// by panel (each panel read once from memory, the x rows from cache); more
// rows widen blocks of panels and run the fp32 GEMM on them.
const packedGemvMaxM = 4

// packedChunkPanels is the number of panels (4 rows each) LinearPacked
// widens per GEMM call when x has many rows: 128 rows, 384 KiB of fp32 at
// K = 768.
const packedChunkPanels = 32

// LinearPacked implements PackedLinear on the CPU: for up to 4 rows of x,
// a matrix-vector product over the weight panels split among GOMAXPROCS
// goroutines (asm.DotPanelBF16 or asm.DotPanelInt8: AVX-512 or AVX2, fp32
// accumulation); for more rows, blocks of 128 weight rows widened to fp32
// and multiplied with the SGEMM kernels.
func (cb cpuBackend) LinearPacked(dst, x *Tensor, w PackedMatrix, bias *Tensor) {
	cb.linearPacked("LinearPacked", dst, x, w, bias)
}

// linearPacked is LinearPacked, panicking as op on bad shapes.
func (cb cpuBackend) linearPacked(op string, dst, x *Tensor, w PackedMatrix, bias *Tensor) {
	host(op, dst, x, bias)
	var l *panelLayout
	if w != nil {
		l = w.layout()
	}
	if l == nil || x.Rank() < 1 || dst.Rank() != x.Rank() || x.Dim(-1) != l.k || dst.Dim(-1) != l.n ||
		!EqualShape(x.shape[:x.Rank()-1], dst.shape[:dst.Rank()-1]) || (bias != nil && (bias.Rank() != 1 || bias.Dim(0) != l.n)) {
		wshape := "nil"
		if l != nil {
			wshape = fmt.Sprint([]int{l.n, l.k})
		}
		panicf(op, "x %v, w %s, bias %v, dst %v: want x (..., K), w (N, K), bias (N), dst (..., N)", shp(x), wshape, shp(bias), shp(dst))
	}
	n, k := l.n, l.k
	m := dst.Len() / max(n, 1)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(dst.Data)
	} else if m <= packedGemvMaxM {
		cb.gemvPacked(dst.Data, x.Data, w, m)
	} else {
		cb.gemmPacked(dst.Data, x.Data, w, m)
	}
	if bias != nil {
		cb.addRowBias(dst.Data, bias.Data, m, n)
	}
}

// gemvPacked computes the m ≤ packedGemvMaxM rows of dst = x·wᵀ.
func (cb cpuBackend) gemvPacked(dst, x []float32, w PackedMatrix, m int) {
	l := w.layout()
	n, k, k16 := l.n, l.k, asm.BlockBF16*l.kb
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
	panels := l.panels()
	run := func(lo, hi int) {
		var out [4]float32
		for p := lo; p < hi; p++ {
			j0 := p * asm.PanelBF16
			for i := range m {
				w.dotPanel(p, xs[i*k16:], &out)
				row := dst[i*n : (i+1)*n]
				if j0+asm.PanelBF16 <= n {
					copy(row[j0:j0+asm.PanelBF16], out[:])
				} else {
					copy(row[j0:], out[:n-j0])
				}
			}
		}
	}
	// At least 64 KiB of weights per goroutine, 16 KiB while held helpers
	// take the chunks (no goroutine to start): below that the fork and
	// join cost more than the stream. Chunks of a quarter of a worker's
	// share, 16–64 KiB: on the device machine's Xeon (2 threads, int8
	// mamba-130m) the GEMVs of a decode step took 8.3 ms in 64 KiB chunks
	// against 9.5–10.0 in 16 KiB ones (one run each).
	total := int(w.Bytes())
	panelBytes := total / panels
	minShare := 64 << 10
	if pool.holders.Load() > 0 {
		minShare = 16 << 10
	}
	workers := min(cb.procs(), total/minShare)
	if workers <= 1 {
		run(0, panels)
		return
	}
	chunk := min(64<<10, max(16<<10, total/(4*workers)))
	shareChunks(panels, max(1, chunk/panelBytes), workers, run)
}

// gemmPacked computes dst = x·wᵀ for m rows of x by widening
// packedChunkPanels panels at a time and running the single-goroutine
// SGEMM on them, chunks spread over GOMAXPROCS goroutines.
func (cb cpuBackend) gemmPacked(dst, x []float32, w PackedMatrix, m int) {
	l := w.layout()
	n, k, k16 := l.n, l.k, asm.BlockBF16*l.kb
	panels := l.panels()
	chunks := ceilDiv(panels, packedChunkPanels)
	serial := cpuBackend{serial: true}
	cb.par(chunks, 1, func(lo, hi int) {
		buf := getScratch(packedChunkPanels * asm.PanelBF16 * k16)
		defer putScratch(buf)
		tmp := getScratch(asm.PanelBF16 * k16)
		defer putScratch(tmp)
		for c := lo; c < hi; c++ {
			p0, p1 := c*packedChunkPanels, min((c+1)*packedChunkPanels, panels)
			for p := p0; p < p1; p++ {
				widenPanel(w, *tmp, p, (*buf)[(p-p0)*asm.PanelBF16*k16:], k16)
			}
			j0, j1 := p0*asm.PanelBF16, min(p1*asm.PanelBF16, n)
			serial.sgemm(false, true, m, j1-j0, k, 1, x, k, *buf, k16, 0, dst[j0:], n)
		}
	})
}
