package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// Prepacker is implemented by backends that can arrange a constant matrix
// once for their GEMMs instead of on every call (the CPU backend). Model
// code calls Prepack (the function) on its weights after upload.
type Prepacker interface {
	// Prepack arranges w for use as the left, untransposed factor of
	// MatMul (rank 2, or rank 3 batched per matrix) and as the weight of
	// Conv2d. w must not change afterwards. Safe for concurrent use.
	Prepack(w *Tensor)
}

// Prepack calls be's Prepack on every non-nil tensor when be is a
// Prepacker, and does nothing otherwise (device backends).
func Prepack(be Backend, ws ...*Tensor) {
	p, ok := be.(Prepacker)
	if !ok {
		return
	}
	for _, w := range ws {
		if w != nil {
			p.Prepack(w)
		}
	}
}

// packedA is one matrix (M×K, row-major, untransposed) as sgemmPacked's
// PackA lays it out: for each depth block of kcStep columns, all M rows as
// MR-row panels (a row block of gemmMC rows is a run of consecutive panels,
// so sgemmPacked's per-block packing is a sub-slice of it).
type packedA struct {
	m, k, kcStep int
	blocks       [][]float32 // per depth block, ceil(M/MR)·MR·kc floats
}

// prepackedShapes holds the (M, K) of every prepacked matrix (copy on
// write), so that lookups for operands of other shapes (activations) skip
// the weak-pointer map.
var (
	prepackMu       sync.Mutex
	prepackedShapes atomic.Pointer[map[[2]int]bool]
)

func notePrepackedShape(m, k int) {
	prepackMu.Lock()
	defer prepackMu.Unlock()
	old := prepackedShapes.Load()
	if old != nil && (*old)[[2]int{m, k}] {
		return
	}
	next := map[[2]int]bool{{m, k}: true}
	if old != nil {
		for key := range *old {
			next[key] = true
		}
	}
	prepackedShapes.Store(&next)
}

// prepacked maps a weight (weakly: a collected tensor drops its entry) to
// its packed matrices, one per batch slice (one for a rank-2 weight).
var prepacked sync.Map // weak.Pointer[Tensor] → *prepackEntry

type prepackEntry struct {
	data0 *float32 // &Data[0] when packed: a replaced Data slice is not used
	n     int      // len(Data) when packed
	mats  []*packedA
	// bt is the matrix (rank-2 or conv weights only) packed as the right
	// operand of the swapped product (packedBT), made on first use.
	btOnce sync.Once
	bt     *packedBT
}

// Prepack packs w (see Prepacker). The packed copy costs as much memory as
// w (vim-tiny +19 MB, vmamba-tiny +110 MB of peak RSS) and saves the
// per-call packing of the left GEMM operand (packAN: 2.4% of vim-tiny's and
// 7.7% of vmamba-tiny's CPU time on the Zen 3 here; vmamba-tiny measured
// about 4% less CPU time in an interleaved A/B in one process).
func (cpuBackend) Prepack(w *Tensor) {
	host("Prepack", w)
	if w.Len() == 0 || w.Rank() < 2 {
		return
	}
	k := w.Dim(-1)
	var batch, m int
	switch w.Rank() {
	case 2:
		batch, m = 1, w.Dim(0)
	case 3:
		batch, m = w.Dim(0), w.Dim(1)
	default: // Conv2d weight (Cout, Cin/G, KH, KW): one matrix per group is unknown here; pack as (Cout, rest)
		batch, m, k = 1, w.Dim(0), w.Len()/w.Dim(0)
	}
	if m == 0 || k == 0 {
		return
	}
	notePrepackedShape(m, k)
	e := &prepackEntry{data0: &w.Data[0], n: len(w.Data)}
	for i := range batch {
		e.mats = append(e.mats, packMatrix(w.Data[i*m*k:(i+1)*m*k], m, k))
	}
	key := weak.Make(w)
	if _, loaded := prepacked.LoadOrStore(key, e); !loaded {
		runtime.AddCleanup(w, func(k weak.Pointer[Tensor]) { prepacked.Delete(k) }, key)
	}
}

// packMatrix packs the m×k row-major matrix a.
func packMatrix(a []float32, m, k int) *packedA {
	kcStep := ceilDiv(ceilDiv(k, ceilDiv(k, gemmKC)), 8) * 8
	return &packedA{m: m, k: k, kcStep: kcStep, blocks: packDepthBlocks(a, m, k, kcStep, asm.MR, asm.PackA, false)}
}

// packDepthBlocks packs the m×k row-major matrix a one depth block of
// kcStep columns at a time with pack (asm.PackA, or asm.PackB with trans
// for its transpose), each block padded to whole panels of panel rows.
func packDepthBlocks(a []float32, m, k, kcStep, panel int, pack func(dst, src []float32, ld int, trans bool, rows, kc int), trans bool) [][]float32 {
	var blocks [][]float32
	rows := ceilDiv(m, panel) * panel
	for pc := 0; pc < k; pc += kcStep {
		kc := min(kcStep, k-pc)
		buf := make([]float32, rows*kc)
		pack(buf, a[pc:], k, trans, m, kc)
		blocks = append(blocks, buf)
	}
	return blocks
}

// packedFor returns the packed matrices of w (one per batch slice), or nil,
// for use as an m×k left operand.
func packedFor(w *Tensor, m, k int) []*packedA {
	if e := packedEntry(w, m, k); e != nil {
		return e.mats
	}
	return nil
}

// packedEntry returns w's prepack entry when its packed matrices serve an
// m×k left operand, or nil.
func packedEntry(w *Tensor, m, k int) *prepackEntry {
	if w == nil || len(w.Data) == 0 {
		return nil
	}
	if shapes := prepackedShapes.Load(); shapes == nil || !(*shapes)[[2]int{m, k}] {
		return nil
	}
	v, ok := prepacked.Load(weak.Make(w))
	if !ok {
		return nil
	}
	e := v.(*prepackEntry)
	if e.data0 != &w.Data[0] || e.n != len(w.Data) || e.mats[0].m != m || e.mats[0].k != k {
		return nil
	}
	return e
}

// sgemmA computes C = A·op(B) (alpha 1, beta 0) with A prepacked, over up
// to procs goroutines that split C into blocks as gemmGrid does, but with
// A's packing already paid: a block of rows reads its panels of A and packs
// its own columns of B. For vim-tiny's in_proj (768×197×192) on 2 threads
// that splits the rows, 64 panels each, where a split of the 13 column
// panels gives one goroutine 7 of them (device Xeon, same run: best 215–220
// against 197–208 GFLOP/s). Every element is computed exactly as
// sgemmPacked computes it (same depth blocks, kernels and order).
func sgemmA(procs int, pa *packedA, transB bool, n int, b []float32, ldb int, c []float32, ldc int) {
	sgemmAEpi(procs, pa, transB, n, b, ldb, 0, c, ldc, nil)
}

// sgemmAEpi is sgemmA computing C = A·op(B) + beta·C (beta is applied by
// the first depth block, as in Sgemm) and then epi (nil for none) on every
// finished block of C, on the goroutine that computed the block while it is
// in cache.
func sgemmAEpi(procs int, pa *packedA, transB bool, n int, b []float32, ldb int, beta float32, c []float32, ldc int, epi *gemmEpi) {
	m, k := pa.m, pa.k
	if m == 0 || n == 0 {
		return
	}
	checkGemm(false, transB, m, n, k, m*k, k, len(b), ldb, len(c), ldc)
	pm, pn := gemmGridCost(m, n, k, procs, 0)
	if pm*pn <= 1 {
		sgemmAPart(pa, transB, 0, m, 0, n, b, ldb, beta, c, ldc, epi)
		return
	}
	parallelTiles(m, n, pm, pn, func(i0, i1, j0, j1 int) {
		sgemmAPart(pa, transB, i0, i1, j0, j1, b, ldb, beta, c, ldc, epi)
	})
}

// sgemmAPart computes rows [i0, i1) (i0 a multiple of MR) and columns
// [j0, j1) of C = A·op(B) + beta·C, A taken from pa, on one goroutine
// with sgemmPacked's loops (jc → pc → ic → jr → ir), then epi (nil for
// none) on each finished block.
func sgemmAPart(pa *packedA, transB bool, i0, i1, j0, j1 int, b []float32, ldb int, beta float32, c []float32, ldc int, epi *gemmEpi) {
	const nr = asm.NR
	m, k := i1-i0, pa.k
	n := j1 - j0
	if transB {
		b = b[j0*ldb:]
	} else {
		b = b[j0:]
	}
	c = c[i0*ldc+j0:]
	buf := gemmPool.Get().(*gemmBuf)
	defer gemmPool.Put(buf)
	kcStep := pa.kcStep
	ncMax := min(gemmNC, ceilDiv(n, nr)*nr)
	bp := aligned(&buf.b, ncMax*min(kcStep, k))
	tile := buf.tile[:]
	pairs := asm.Kernel2Fast()
	packedBBlocks(transB, n, k, kcStep, b, ldb, bp, beta, func(jc, nc, bi, pc, kc int, be float32) {
		ablk := pa.blocks[bi][i0*kc:]
		var e *gemmEpi
		if pc+kc == k {
			e = epi
		}
		for ic := 0; ic < m; ic += gemmMC {
			mc := min(gemmMC, m-ic)
			macroTile(mc, nc, kc, ablk[ic*kc:], bp, c[ic*ldc+jc:], ldc, 1, be, tile, pairs, e, i0+ic)
		}
	})
}
