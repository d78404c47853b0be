package kernels

import "fmt"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb and ldc
// are the row strides of A, B and C as stored. With beta == 0, C is not read
// (NaNs in C do not propagate).
//
// This is the entry point every linear layer uses (x·Wᵀ is transB = true).
// It parallelises over blocks of C and dispatches to the SIMD kernels of
// kernels/internal/asm when the CPU supports them.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	Parallel(m, max(1, 16384/max(n*k/64, 1)), func(lo, hi int) {
		sgemmRef(transA, transB, hi-lo, n, k, alpha, a[rowOff(transA, lo, lda):], lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
}

func rowOff(trans bool, row, ld int) int {
	if trans {
		return row // column `row` of the stored k×m matrix
	}
	return row * ld
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
// float32 in k order.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
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
