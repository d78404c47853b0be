package asm

import "fmt"

// Register-tile and packing geometry of the SGEMM micro-kernel.
const (
	// MR is the number of rows of C that Kernel computes (the height of a
	// packed A panel).
	MR = 6
	// NR is the number of columns of C that Kernel computes (the width of a
	// packed B panel).
	NR = 16
	// bnGroup is how many full B panels PackB packs in one sweep along
	// the rows of an untransposed B (AVX2): 4 measured 5–23% faster than
	// one panel at a time (and than 8) on vmamba- and vim-shaped blocks.
	bnGroup = 4
	// atGroup is how many full A panels PackA packs in one sweep along the
	// stored rows of a transposed A (AVX2, packAT48AVX2).
	atGroup = 8
)

// Kernel computes the MR×NR tile c[i*ldc+j] = alpha·Σ_p a[p*MR+i]·b[p*NR+j]
// + beta·c[i*ldc+j] for i < MR, j < NR, p < kc, where a is a packed A panel
// and b a packed B panel. With beta == 0, c is not read. The sum is
// accumulated in p order with fused multiply-adds.
func Kernel(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	if kc < 0 || len(a) < kc*MR || len(b) < kc*NR || ldc < NR || len(c) < (MR-1)*ldc+NR {
		panic(fmt.Sprintf("asm: Kernel bad operands: kc=%d len(a)=%d len(b)=%d ldc=%d len(c)=%d", kc, len(a), len(b), ldc, len(c)))
	}
	kernel(kc, a, b, c, ldc, alpha, beta)
}

// Kernel2 computes the MR×2NR tile of two adjacent Kernel calls: b holds two
// packed B panels one after the other (b[:kc*NR] for columns 0..NR−1 of the
// tile, b[kc*NR:2*kc*NR] for columns NR..2NR−1), ldc ≥ 2NR. With the AVX-512
// kernels it is one 6×32 register tile (twelve 16-lane accumulators, the A
// panel read once for both B panels); otherwise it is the two Kernel calls.
// Its twin is Kernel2Go. Callers should prefer it where two full B panels
// are adjacent and Kernel2Fast reports true.
func Kernel2(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	if kc < 0 || len(a) < kc*MR || len(b) < 2*kc*NR || ldc < 2*NR || len(c) < (MR-1)*ldc+2*NR {
		panic(fmt.Sprintf("asm: Kernel2 bad operands: kc=%d len(a)=%d len(b)=%d ldc=%d len(c)=%d", kc, len(a), len(b), ldc, len(c)))
	}
	kernel2(kc, a, b, c, ldc, alpha, beta)
}

// Kernel2Go is the pure-Go twin of Kernel2 and its definition.
func Kernel2Go(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	KernelGo(kc, a, b[:kc*NR], c, ldc, alpha, beta)
	KernelGo(kc, a, b[kc*NR:], c[NR:], ldc, alpha, beta)
}

// Kernel2Fast reports whether Kernel2 is a single wider register tile (the
// AVX-512 kernels are in use) rather than two Kernel calls; blocked loops
// use it to decide whether to walk B panels in pairs.
func Kernel2Fast() bool { return AVX512() }

// KernelGo is the pure-Go twin of Kernel and its definition.
func KernelGo(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	var acc [MR * NR]float32
	for p := 0; p < kc; p++ {
		ap := a[p*MR : p*MR+MR : p*MR+MR]
		bp := b[p*NR : p*NR+NR : p*NR+NR]
		for i, av := range ap {
			row := acc[i*NR : i*NR+NR : i*NR+NR]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < MR; i++ {
		row := c[i*ldc : i*ldc+NR : i*ldc+NR]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * acc[i*NR+j]
			} else {
				row[j] = alpha*acc[i*NR+j] + beta*row[j]
			}
		}
	}
}

// PackA packs rows×kc of op(A) into consecutive MR-row panels of dst: panel
// q holds dst[q*MR*kc + p*MR + i] = op(A)(q*MR+i, p), zero for rows past the
// end. op(A)(i, p) is a[i*lda+p], or a[p*lda+i] when trans is set. dst needs
// ceil(rows/MR)*MR*kc floats; nothing past them is written (so goroutines
// may pack adjacent panel ranges of one buffer).
func PackA(dst, a []float32, lda int, trans bool, rows, kc int) {
	panels := (rows + MR - 1) / MR
	if len(dst) < panels*MR*kc {
		panic(fmt.Sprintf("asm: PackA dst too short: %d < %d", len(dst), panels*MR*kc))
	}
	q := 0
	if trans {
		q = packATGroups(dst, a, lda, rows/MR, kc)
	}
	for ; q < panels; q++ {
		r := min(MR, rows-q*MR)
		d := dst[q*MR*kc:]
		if trans {
			packAT(d, a[q*MR:], lda, r, kc)
		} else {
			packAN(d, a[q*MR*lda:], lda, r, kc, q == panels-1)
		}
	}
}

// PackB packs kc×cols of op(B) into consecutive NR-column panels of dst:
// panel q holds dst[q*NR*kc + p*NR + j] = op(B)(p, q*NR+j), zero for columns
// past the end. op(B)(p, j) is b[p*ldb+j], or b[j*ldb+p] when trans is set.
// dst needs ceil(cols/NR)*NR*kc floats.
func PackB(dst, b []float32, ldb int, trans bool, cols, kc int) {
	panels := (cols + NR - 1) / NR
	if len(dst) < panels*NR*kc {
		panic(fmt.Sprintf("asm: PackB dst too short: %d < %d", len(dst), panels*NR*kc))
	}
	q := 0
	if !trans {
		q = packBNGroups(dst, b, ldb, cols/NR, kc)
	}
	for ; q < panels; q++ {
		c := min(NR, cols-q*NR)
		d := dst[q*NR*kc:]
		if trans {
			packBT(d, b[q*NR*ldb:], ldb, c, kc)
		} else {
			packBN(d, b[q*NR:], ldb, c, kc)
		}
	}
}

// PackAGo is the pure-Go twin of PackA.
func PackAGo(dst, a []float32, lda int, trans bool, rows, kc int) {
	panels := (rows + MR - 1) / MR
	for q := 0; q < panels; q++ {
		r := min(MR, rows-q*MR)
		if trans {
			packATGo(dst[q*MR*kc:], a[q*MR:], lda, r, kc)
		} else {
			packANGo(dst[q*MR*kc:], a[q*MR*lda:], lda, r, kc, 0)
		}
	}
}

// PackBGo is the pure-Go twin of PackB.
func PackBGo(dst, b []float32, ldb int, trans bool, cols, kc int) {
	panels := (cols + NR - 1) / NR
	for q := 0; q < panels; q++ {
		c := min(NR, cols-q*NR)
		if trans {
			packBTGo(dst[q*NR*kc:], b[q*NR*ldb:], ldb, c, kc, 0)
		} else {
			packBNGo(dst[q*NR*kc:], b[q*NR:], ldb, c, kc)
		}
	}
}

// packANGo packs columns p0..kc-1 of r ≤ MR rows (a[i*lda+p]).
func packANGo(dst, a []float32, lda, r, kc, p0 int) {
	for i := 0; i < MR; i++ {
		if i >= r {
			for p := p0; p < kc; p++ {
				dst[p*MR+i] = 0
			}
			continue
		}
		row := a[i*lda : i*lda+kc]
		for p := p0; p < kc; p++ {
			dst[p*MR+i] = row[p]
		}
	}
}

// packATGo packs r ≤ MR columns of the stored matrix (a[p*lda+i]).
func packATGo(dst, a []float32, lda, r, kc int) {
	if r == MR {
		for p := 0; p < kc; p++ {
			*(*[MR]float32)(dst[p*MR:]) = *(*[MR]float32)(a[p*lda:])
		}
		return
	}
	for p := 0; p < kc; p++ {
		d := dst[p*MR : p*MR+MR : p*MR+MR]
		copy(d, a[p*lda:p*lda+r])
		clear(d[r:])
	}
}

// packBTGo packs columns p0..kc-1 of c ≤ NR rows of the stored matrix
// (b[j*ldb+p]).
func packBTGo(dst, b []float32, ldb, c, kc, p0 int) {
	for j := 0; j < NR; j++ {
		if j >= c {
			for p := p0; p < kc; p++ {
				dst[p*NR+j] = 0
			}
			continue
		}
		row := b[j*ldb : j*ldb+kc]
		for p := p0; p < kc; p++ {
			dst[p*NR+j] = row[p]
		}
	}
}

// packBNGo packs c ≤ NR columns of kc rows (b[p*ldb+j]).
func packBNGo(dst, b []float32, ldb, c, kc int) {
	if c == NR {
		for p := 0; p < kc; p++ {
			*(*[NR]float32)(dst[p*NR:]) = *(*[NR]float32)(b[p*ldb:])
		}
		return
	}
	for p := 0; p < kc; p++ {
		d := dst[p*NR : p*NR+NR : p*NR+NR]
		copy(d, b[p*ldb:p*ldb+c])
		clear(d[c:])
	}
}

// Dot4 computes out[r] = Σ_{p<k} x[p]·b[r·ldb+p] for r < 4: four dot
// products of x with rows of b, the matrix-vector product of x·Bᵀ.
// Its twin Dot4Go is the definition; the SIMD version sums in a different
// order.
func Dot4(k int, x, b []float32, ldb int, out *[4]float32) {
	if k < 0 || len(x) < k || ldb < k || (k > 0 && len(b) < 3*ldb+k) {
		panic(fmt.Sprintf("asm: Dot4 bad operands: k=%d len(x)=%d len(b)=%d ldb=%d", k, len(x), len(b), ldb))
	}
	dot4(k, x, b, ldb, out)
}

// Dot4Go is the pure-Go twin of Dot4.
func Dot4Go(k int, x, b []float32, ldb int, out *[4]float32) {
	x = x[:k]
	for r := range out {
		row := b[r*ldb : r*ldb+k]
		var s float32
		for p, v := range x {
			s += v * row[p]
		}
		out[r] = s
	}
}
