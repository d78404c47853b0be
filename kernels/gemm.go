package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb and ldc
// are the row strides of A, B and C as stored. With beta == 0, C is not read
// (NaNs in C do not propagate).
//
// This is the entry point every linear layer uses (x·Wᵀ is transB = true).
// It packs A and B into panels and runs a register-blocked micro-kernel
// (AVX2+FMA 6×16 from kernels/internal/asm when the CPU has it and
// GOMAMBA_NOASM is unset, AVX-512 6×32 over pairs of B panels where the CPU
// has AVX-512F and GOMAMBA_AVX512 is not 0, a pure-Go kernel otherwise), splitting C into
// blocks over up to GOMAXPROCS goroutines. With transB and m ≤ 2 (token by
// token decoding) it takes a matrix-vector path that reads B once. On one
// AVX2 core (Zen 3, 2-core VM) the vim-tiny shapes run at 85–90 GFLOP/s,
// level with OpenBLAS in the same run (kernels/gemm_bench_test.go). On the
// device machine's AVX-512 Xeon, beside OpenBLAS's SkylakeX kernel in the
// same run (`gomamba bench gemm --anchor`), the five standard shapes ran at
// 150–161 GFLOP/s on 1 thread (0.99–1.39× OpenBLAS) and 204–305 GFLOP/s
// on 2 (0.97–1.42×).
//
// Sgemm is safe for concurrent use as long as the calls write disjoint C.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if m*n*k <= gemmTiny {
		sgemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if !transA && transB && m <= gemvMaxM {
		sgemvNT(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	pm, pn := gemmGrid(m, n, k, runtime.GOMAXPROCS(0))
	if pm*pn == 1 {
		sgemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parallelTiles(m, n, pm, pn, func(i0, i1, j0, j1 int) {
		sgemmPacked(transA, transB, i1-i0, j1-j0, k, alpha,
			a[rowOff(transA, i0, lda):], lda, b[colOff(transB, j0, ldb):], ldb,
			beta, c[i0*ldc+j0:], ldc)
	})
}

// parallelTiles splits the m×n output into a pm×pn grid of tiles whose
// edges fall on micro-tile boundaries (multiples of asm.MR rows and asm.NR
// columns) and calls tile for each non-empty one, the tiles spread over
// Parallel's goroutines. Sgemm and the prepacked-A GEMM share it.
func parallelTiles(m, n, pm, pn int, tile func(i0, i1, j0, j1 int)) {
	mt, nt := ceilDiv(m, asm.MR), ceilDiv(n, asm.NR)
	Parallel(pm*pn, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			ti, tj := t/pn, t%pn
			i0, i1 := min(ti*mt/pm*asm.MR, m), min((ti+1)*mt/pm*asm.MR, m)
			j0, j1 := min(tj*nt/pn*asm.NR, n), min((tj+1)*nt/pn*asm.NR, n)
			if i0 < i1 && j0 < j1 {
				tile(i0, i1, j0, j1)
			}
		}
	})
}

// Blocking of the packed SGEMM (GotoBLAS loop order jc → pc → ic → jr → ir):
// a kc×NR panel of B (16 KiB at kc = 256) stays in L1 while MR×kc panels of
// A stream from an mc×kc block (≤ 144 KiB) held in L2; the kc×nc block of B
// lives in L3.
const (
	gemmMC = 144  // rows of A per packed block, a multiple of asm.MR
	gemmKC = 256  // largest depth of a packed block
	gemmNC = 3072 // columns of B per packed block, a multiple of asm.NR
	// gemmTiny is the m·n·k at or below which the reference loop is
	// cheaper than packing.
	gemmTiny = 512
	// gemmMinFlops is the least work (2·m·n·k) given to one goroutine.
	gemmMinFlops = 1 << 20
)

// gemmGrid splits C into pm×pn blocks, one per goroutine: as many as
// GOMAXPROCS and the work allow, shaped to minimise the busiest block's
// tiles plus its packing (each block packs its own rows of A and columns of
// B).
func gemmGrid(m, n, k, procs int) (pm, pn int) { return gemmGridCost(m, n, k, procs, 5) }

// gemmGridCost is gemmGrid with aCost, the time of packing one row of A in
// FMAs per unit of depth (0 when A is prepacked: only B is packed per call).
func gemmGridCost(m, n, k, procs, aCost int) (pm, pn int) {
	mt, nt := ceilDiv(m, asm.MR), ceilDiv(n, asm.NR)
	t := min(procs, max(1, 2*m*n*k/gemmMinFlops), mt*nt)
	pm, pn = 1, 1
	best := -1
	for t > 0 {
		for i := 1; i <= t; i++ {
			if t%i != 0 || i > mt || t/i > nt {
				continue
			}
			// Per unit of depth: MR·NR FMAs per tile of the busiest
			// block, and about 5 FMAs' time per packed row or column.
			cost := ceilDiv(mt, i)*ceilDiv(nt, t/i)*asm.MR*asm.NR + aCost*ceilDiv(m, i) + 5*ceilDiv(n, t/i)
			if best < 0 || cost < best {
				pm, pn, best = i, t/i, cost
			}
		}
		if pm*pn == t {
			return pm, pn
		}
		t-- // no factorisation fits (a prime t larger than mt and nt)
	}
	return pm, pn
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// gemmBuf holds one goroutine's pack buffers; they are reused through
// gemmPool, so steady-state calls do not allocate.
type gemmBuf struct {
	a, b []float32
	tile [asm.MR * asm.NR]float32
	// ct and ctT hold a block of the swapped product and its transpose
	// (sgemmSwapped).
	ct, ctT []float32
}

var gemmPool = sync.Pool{New: func() any { return new(gemmBuf) }}

// aligned returns a 64-byte aligned slice of n floats from *buf, growing it
// when needed.
func aligned(buf *[]float32, n int) []float32 {
	if cap(*buf) < n+16 {
		*buf = make([]float32, n+16)
	}
	s := (*buf)[:cap(*buf)]
	off := int(uintptr(unsafe.Pointer(&s[0])) % 64 / 4)
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n]
}

// sgemmPacked runs the blocked algorithm on one goroutine. A and B are
// packed into panels (kernels/internal/asm) and the micro-kernel computes
// MR×NR tiles of C; edge tiles go through a scratch tile.
func sgemmPacked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	const mr, nr = asm.MR, asm.NR
	buf := gemmPool.Get().(*gemmBuf)
	defer gemmPool.Put(buf)
	// Depth blocks of equal size (a multiple of 8 for the packers).
	kcStep := ceilDiv(ceilDiv(k, ceilDiv(k, gemmKC)), 8) * 8
	ncMax := min(gemmNC, ceilDiv(n, nr)*nr)
	mcMax := min(gemmMC, ceilDiv(m, mr)*mr)
	bp := aligned(&buf.b, ncMax*min(kcStep, k))
	ap := aligned(&buf.a, mcMax*min(kcStep, k))
	tile := buf.tile[:]
	pairs := asm.Kernel2Fast()
	packedBBlocks(transB, n, k, kcStep, b, ldb, bp, beta, func(jc, nc, _, pc, kc int, be float32) {
		for ic := 0; ic < m; ic += gemmMC {
			mc := min(gemmMC, m-ic)
			// Row ic of op(A) at depth pc (a column of op(A), colOff).
			asm.PackA(ap, a[rowOff(transA, ic, lda)+colOff(transA, pc, lda):], lda, transA, mc, kc)
			macroTile(mc, nc, kc, ap, bp, c[ic*ldc+jc:], ldc, alpha, be, tile, pairs, nil, 0)
		}
	})
}

// packedBBlocks is the outer two loops of the blocked GEMM (jc → pc) over
// op(B) of n columns and depth k: column blocks of gemmNC, depth blocks of
// kcStep (block bi starts at depth pc). Each kc×nc block is packed into bp
// and then handed to blk with the factor of C to apply: beta for the first
// depth block, 1 after it. sgemmPacked and sgemmAPart share it.
func packedBBlocks(transB bool, n, k, kcStep int, b []float32, ldb int, bp []float32, beta float32, blk func(jc, nc, bi, pc, kc int, be float32)) {
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for bi, pc := 0, 0; pc < k; bi, pc = bi+1, pc+kcStep {
			kc := min(kcStep, k-pc)
			// Column jc of op(B) at depth pc (a row of op(B), rowOff).
			asm.PackB(bp, b[rowOff(transB, pc, ldb)+colOff(transB, jc, ldb):], ldb, transB, nc, kc)
			be := beta
			if pc > 0 {
				be = 1
			}
			blk(jc, nc, bi, pc, kc, be)
		}
	}
}

// macroTile multiplies one packed mc×kc block of A (ap, MR-row panels) by
// one packed kc×nc block of B (bp, NR-column panels) into the mc×nc block
// of C starting at c[0]: C = alpha·A·B + be·C. Full tiles go straight to C
// (two B panels at once through asm.Kernel2 when pairs, the AVX-512 2·NR
// tile); edge tiles go through tile (MR·NR floats) and are copied out. A
// non-nil epi is applied to the finished block (the caller passes it with
// the last depth block only), a band of columns at a time while the band is
// still in cache; row0 is the row of C that c[0] lies in (epi's bias index).
func macroTile(mc, nc, kc int, ap, bp, c []float32, ldc int, alpha, be float32, tile []float32, pairs bool, epi *gemmEpi, row0 int) {
	const mr, nr = asm.MR, asm.NR
	epiFrom := 0 // first column the epilogue has not reached
	for jr := 0; jr < nc; {
		span := nr
		if pairs && jr+2*nr <= nc {
			span = 2 * nr
		}
		for ir := 0; ir < mc; ir += mr {
			h := min(mr, mc-ir)
			apan := ap[ir*kc : (ir+mr)*kc]
			if h == mr && span == 2*nr {
				asm.Kernel2(kc, apan, bp[jr*kc:(jr+span)*kc], c[ir*ldc+jr:], ldc, alpha, be)
				continue
			}
			for q := jr; q < jr+span; q += nr {
				w := min(nr, nc-q)
				bpan := bp[q*kc : (q+nr)*kc]
				ci := ir*ldc + q
				if h == mr && w == nr {
					asm.Kernel(kc, apan, bpan, c[ci:], ldc, alpha, be)
					continue
				}
				asm.Kernel(kc, apan, bpan, tile, nr, alpha, 0)
				for i := 0; i < h; i++ {
					row := c[ci+i*ldc : ci+i*ldc+w]
					t := tile[i*nr : i*nr+w]
					if be == 0 {
						copy(row, t)
						continue
					}
					for j, v := range t {
						row[j] = v + be*row[j]
					}
				}
			}
		}
		jr += span
		if epi != nil && (jr-epiFrom >= gemmEpiCols || jr >= nc) {
			epi.apply(c, ldc, mc, row0, epiFrom, min(jr, nc))
			epiFrom = jr
		}
	}
}

// gemvMaxM is the most rows of A that take the matrix-vector path (token
// by token decoding): packing B would cost as much as the product itself.
const gemvMaxM = 2

// sgemvNT computes C = alpha·A·Bᵀ + beta·C for m ≤ gemvMaxM rows straight
// from B's rows, four dot products at a time (asm.Dot4), in parallel over
// groups of columns.
func sgemvNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	groups := ceilDiv(n, 4)
	grain := max(1, gemmMinFlops/(8*m*k)) // groups per goroutine
	if serialWork(groups, grain) {
		sgemvCols(m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	Parallel(groups, grain, func(lo, hi int) {
		sgemvCols(m, 4*lo, min(4*hi, n), k, alpha, a, lda, b, ldb, beta, c, ldc)
	})
}

func sgemvCols(m, j0, j1, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	var out [4]float32
	store := func(dst *float32, v float32) {
		if beta == 0 {
			*dst = alpha * v
		} else {
			*dst = alpha*v + beta**dst
		}
	}
	for i := 0; i < m; i++ {
		x := a[i*lda : i*lda+k]
		crow := c[i*ldc : i*ldc+j1]
		j := j0
		for ; j+4 <= j1; j += 4 {
			asm.Dot4(k, x, b[j*ldb:], ldb, &out)
			for r, v := range out {
				store(&crow[j+r], v)
			}
		}
		for ; j < j1; j++ {
			row := b[j*ldb : j*ldb+k]
			var s float32
			for p, v := range x {
				s += v * row[p]
			}
			store(&crow[j], s)
		}
	}
}

// scaleC computes C = beta·C (C = 0 when beta is 0, NaNs included).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

func rowOff(trans bool, row, ld int) int {
	if trans {
		return row // column `row` of the stored k×m matrix
	}
	return row * ld
}

func colOff(trans bool, col, ld int) int {
	if trans {
		return col * ld // row `col` of the stored n×k matrix
	}
	return col
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < ac || ldb < bc || ldc < n || (ar > 0 && la < (ar-1)*lda+ac) || (br > 0 && lb < (br-1)*ldb+bc) || lc < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernels: Sgemm bad operands: m=%d n=%d k=%d lda=%d ldb=%d ldc=%d len(a)=%d len(b)=%d len(c)=%d", m, n, k, lda, ldb, ldc, la, lb, lc))
	}
}

// sgemmRef is the definition of Sgemm: a plain triple loop, accumulating in
// float32 in k order (gemmRef at float32).
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmRef is the triple loop behind sgemmRef and the float64 path of Gemm,
// accumulating in T in k order.
func gemmRef[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
