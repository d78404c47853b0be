package kernels

import "runtime"

func (cb cpuBackend) Linear(dst, x, w, bias *Tensor) {
	host("Linear", dst, x, w, bias)
	if x.Rank() < 1 || w.Rank() != 2 || dst.Rank() != x.Rank() {
		panicf("Linear", "x %v, w %v, dst %v: want x (..., K), w (N, K), dst (..., N)", shp(x), shp(w), shp(dst))
	}
	n, k := w.Dim(0), w.Dim(1)
	ok := x.Dim(-1) == k && dst.Dim(-1) == n && EqualShape(x.shape[:x.Rank()-1], dst.shape[:dst.Rank()-1])
	if bias != nil && (bias.Rank() != 1 || bias.Dim(0) != n) {
		ok = false
	}
	if !ok {
		panicf("Linear", "x %v, w %v, bias %v, dst %v: want x (..., K), w (N, K), bias (N), dst (..., N)", shp(x), shp(w), shp(bias), shp(dst))
	}
	m := 1
	if k > 0 {
		m = x.Len() / k
	} else {
		m = dst.Len() / max(n, 1)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(dst.Data)
	} else {
		cb.sgemm(false, true, m, n, k, 1, x.Data, k, w.Data, k, 0, dst.Data, n)
	}
	if bias != nil {
		cb.addRowBias(dst.Data, bias.Data, m, n)
	}
}

// addRowBias adds bias (n) to every row of the m×n matrix c.
func (cb cpuBackend) addRowBias(c, bias []float32, m, n int) {
	cb.par(m, rowGrain(n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := c[i*n : i*n+n]
			for j, b := range bias[:n] {
				row[j] += b
			}
		}
	})
}

func (cb cpuBackend) MatMul(dst, a, b *Tensor, transA, transB bool) {
	host("MatMul", dst, a, b)
	bad := func() {
		panicf("MatMul", "a %v (transA %v), b %v (transB %v), dst %v", shp(a), transA, shp(b), transB, shp(dst))
	}
	if a.Rank() < 2 || a.Rank() > 3 || b.Rank() < 2 || b.Rank() > 3 || dst.Rank() < 2 || dst.Rank() > 3 {
		bad()
	}
	batch := 1
	if dst.Rank() == 3 {
		batch = dst.Dim(0)
	}
	for _, t := range []*Tensor{a, b} {
		if t.Rank() == 3 && (dst.Rank() != 3 || t.Dim(0) != batch) {
			bad()
		}
	}
	ar, ac := a.Dim(-2), a.Dim(-1)
	br, bc := b.Dim(-2), b.Dim(-1)
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	if kb != k || dst.Dim(-2) != m || dst.Dim(-1) != n {
		bad()
	}
	aStride, bStride := 0, 0
	if a.Rank() == 3 {
		aStride = ar * ac
	}
	if b.Rank() == 3 {
		bStride = br * bc
	}
	if m == 0 || n == 0 {
		return
	}
	var packs []*packedA
	if !transA && usePacked(transB, m, n, k) {
		if packs = packedFor(a, m, k); packs != nil && ((a.Rank() == 3) != (len(packs) > 1) || (a.Rank() == 3 && len(packs) != a.Dim(0))) {
			packs = nil
		}
	}
	item := func(cb cpuBackend, i int) {
		c := dst.Data[i*m*n : (i+1)*m*n]
		if k == 0 {
			clear(c)
			return
		}
		bi := b.Data[i*bStride : i*bStride+br*bc]
		if packs != nil {
			pa := packs[0]
			if aStride > 0 { // one packed matrix per batch slice of a
				pa = packs[i]
			}
			cb.sgemmA(pa, transB, n, bi, bc, c, n)
			return
		}
		cb.sgemm(transA, transB, m, n, k, 1, a.Data[i*aStride:i*aStride+ar*ac], ac, bi, bc, 0, c, n)
	}
	if k > 0 && batchSplit(batch, cb.procs()) { // cb.procs() is 1 for the serial backend
		// Whole batch items per goroutine, each computed serially (the
		// same elements as a split of it): one goroutine start for the
		// call instead of one per item. vmamba-tiny's dt_proj (K 6-48)
		// and x_proj, batch 2, gained nothing or lost from splitting
		// each item over 2 threads (BenchmarkGemmVMamba).
		serial := cpuBackend{serial: true}
		Parallel(batch, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				item(serial, i)
			}
		})
		return
	}
	for i := range batch {
		item(cb, i)
	}
}

// batchSplit reports whether a batched product of batch items runs whole
// items per goroutine on procs threads: when they spread evenly (or
// nearly so: at least two items per thread).
func batchSplit(batch, procs int) bool {
	return procs > 1 && batch > 1 && (batch%procs == 0 || batch >= 2*procs)
}

// usePacked reports whether Sgemm would take its packed path for an
// untransposed A (so a prepacked A gives the same result).
func usePacked(transB bool, m, n, k int) bool {
	return k > 0 && m*n*k > gemmTiny && !(transB && m <= gemvMaxM)
}

// procs is the number of goroutines the backend's matrix products may use:
// GOMAXPROCS, or one for the serial backend.
func (cb cpuBackend) procs() int {
	if cb.serial {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// sgemmA is sgemmA on GOMAXPROCS goroutines, or one for the serial backend.
func (cb cpuBackend) sgemmA(pa *packedA, transB bool, n int, b []float32, ldb int, c []float32, ldc int) {
	sgemmA(cb.procs(), pa, transB, n, b, ldb, c, ldc)
}

// sgemm is Sgemm, or for the serial backend Sgemm's single-goroutine
// dispatch (the same paths with one block: reference loop for tiny
// products, matrix-vector rows, packed kernel).
func (cb cpuBackend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !cb.serial {
		Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	switch {
	case k == 0 || alpha == 0:
		scaleC(m, n, beta, c, ldc)
	case m*n*k <= gemmTiny:
		sgemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	case !transA && transB && m <= gemvMaxM:
		sgemvCols(m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	default:
		sgemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}
