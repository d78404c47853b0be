package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

// The swapped product. A prepacked weight W (M×K) times an activation X
// (K×N) with few columns N — VMamba's stage-3 and stage-4 maps have N = 196
// and 49 pixels at 224² — wastes most of the last NR- (or 2·NR-) column
// panel of every MR-row panel: at N = 49 the micro-kernel computes 64
// columns per row panel, one call of them for a single column. Computing
// Cᵀ = Xᵀ·Wᵀ instead puts the pixels on the MR side (49 = 8·6 + 1) and the
// channels on the wide side (a multiple of 32), and each element is the
// same sum of the same products in the same order, so C is bit for bit the
// direct product's. The blocks of Cᵀ are transposed into C (8×8 register
// tiles) on the goroutine that computed them, with the epilogue.

// packedBT is a weight W (M×K) packed as the right operand Wᵀ (K×M) of the
// swapped product: per depth block (the kcStep of its packedA), NR-column
// panels as asm.PackB lays them out.
type packedBT struct {
	m, k, kcStep int
	blocks       [][]float32 // per depth block, ceil(M/NR)·NR·kc floats
}

// packMatrixBT packs the m×k row-major matrix a as packedBT.
func packMatrixBT(a []float32, m, k, kcStep int) *packedBT {
	return &packedBT{m: m, k: k, kcStep: kcStep, blocks: packDepthBlocks(a, m, k, kcStep, asm.NR, asm.PackB, true)}
}

// btFor returns e's swapped packing of the rank-2 weight w (m×k), making
// it on first use (it costs as much memory as w).
func (e *prepackEntry) btFor(w []float32) *packedBT {
	e.btOnce.Do(func() {
		pa := e.mats[0]
		e.bt = packMatrixBT(w[:pa.m*pa.k], pa.m, pa.k, pa.kcStep)
	})
	return e.bt
}

// productCost estimates the micro-kernel time of an m×n product (per unit
// of depth, in thirds of an MR×NR tile): AVX-512 pairs of NR columns cost
// 6, a single NR-column panel 4 (six accumulators cannot hide the FMA
// latency) and any partial row panel goes through single panels; the AVX2
// and pure-Go kernels cost 3 per MR×NR tile.
func productCost(m, n int) int {
	full, part := m/asm.MR, m%asm.MR > 0
	singles := ceilDiv(n, asm.NR)
	if !asm.Kernel2Fast() {
		cost := full * 3 * singles
		if part {
			cost += 3 * singles
		}
		return cost
	}
	pairs := n / (2 * asm.NR)
	rest := ceilDiv(n-2*asm.NR*pairs, asm.NR)
	cost := full * (6*pairs + 4*rest)
	if part {
		cost += 4 * singles
	}
	return cost
}

// swapWins reports whether the swapped product of an m×k weight and a k×n
// activation costs at least 1/16 less than the direct one, counting a
// transpose of C at about one tile's third per 64 elements.
func swapWins(m, n, k int) bool {
	direct, swapped := productCost(m, n)*k, productCost(n, m)*k+m*n/64
	return 16*swapped <= 15*direct
}

// sgemmSwapped computes C = W·X + beta·C (beta 0 or 1) for the prepacked
// W (m×k, its entry e and data w) and X (k×n, row stride ldx), C (m×n, row
// stride ldc), as Cᵀ = Xᵀ·Wᵀ in blocks over up to procs goroutines, then
// epi (nil for none) on each block of C.
func sgemmSwapped(procs int, e *prepackEntry, w []float32, x []float32, ldx, n int, beta float32, c []float32, ldc int, epi *gemmEpi) {
	bt := e.btFor(w)
	m, k := bt.m, bt.k
	if m == 0 || n == 0 {
		return
	}
	if ldx < n || ldc < n || (k > 0 && (k-1)*ldx+n > len(x)) || (m-1)*ldc+n > len(c) {
		panicf("sgemmSwapped", "X %d floats (ldx %d), C %d floats (ldc %d): want X %d×%d, C %d×%d", len(x), ldx, len(c), ldc, k, n, m, n)
	}
	pm, pn := gemmGrid(n, m, k, procs) // Xᵀ is packed per call, as A in Sgemm
	if pm*pn <= 1 {
		swapBlock(bt, x, ldx, 0, n, 0, m, beta, c, ldc, epi)
		return
	}
	parallelTiles(n, m, pm, pn, func(i0, i1, j0, j1 int) {
		swapBlock(bt, x, ldx, i0, i1, j0, j1, beta, c, ldc, epi)
	})
}

// swapBlock computes pixels [i0, i1) (i0 a multiple of MR) of channels
// [j0, j1) (j0 a multiple of NR) of the swapped product on one goroutine:
// the block of Cᵀ with sgemmPacked's loops (pc → ic → jr → ir) into
// dense scratch, its transpose, then C = T + beta·C and epi row by row.
func swapBlock(bt *packedBT, x []float32, ldx, i0, i1, j0, j1 int, beta float32, c []float32, ldc int, epi *gemmEpi) {
	const mr = asm.MR
	mb, nb, k := i1-i0, j1-j0, bt.k
	buf := gemmPool.Get().(*gemmBuf)
	defer gemmPool.Put(buf)
	kcStep := bt.kcStep
	ap := aligned(&buf.a, min(gemmMC, ceilDiv(mb, mr)*mr)*min(kcStep, k))
	ct := aligned(&buf.ct, mb*nb)
	ctT := aligned(&buf.ctT, mb*nb)
	tile := buf.tile[:]
	pairs := asm.Kernel2Fast()
	for bi, pc := 0, 0; pc < k; bi, pc = bi+1, pc+kcStep {
		kc := min(kcStep, k-pc)
		bp := bt.blocks[bi][j0*kc:]
		var be float32
		if pc > 0 {
			be = 1
		}
		for ic := 0; ic < mb; ic += gemmMC {
			mc := min(gemmMC, mb-ic)
			asm.PackA(ap, x[pc*ldx+i0+ic:], ldx, true, mc, kc)
			macroTile(mc, nb, kc, ap, bp, ct[ic*nb:], nb, 1, be, tile, pairs, nil, 0)
		}
	}
	asm.Transpose(ctT, ct, mb, nb) // (channels nb) × (pixels mb)
	for r := range nb {
		row := c[(j0+r)*ldc+i0 : (j0+r)*ldc+i1]
		t := ctT[r*mb : (r+1)*mb]
		if beta == 0 {
			copy(row, t)
		} else {
			addRow(row, row, t)
		}
	}
	if epi != nil {
		epi.apply(c[j0*ldc+i0:], ldc, nb, j0, 0, mb)
	}
}
