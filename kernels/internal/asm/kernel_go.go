package asm

// kernelGo is KernelGo restructured for speed without SIMD: the 6×16 tile
// is computed as twelve 2×4 blocks whose eight accumulators, two A values
// and four B values stay in registers. Each element is still summed in p
// order, so it matches KernelGo (bit for bit where the compiler fuses
// neither or both).
func kernelGo(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	a = a[:kc*MR]
	b = b[:kc*NR]
	for i0 := 0; i0 < MR; i0 += 2 {
		for j0 := 0; j0 < NR; j0 += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			for p := 0; p < kc; p++ {
				ap := a[p*MR+i0 : p*MR+i0+2 : p*MR+i0+2]
				bp := b[p*NR+j0 : p*NR+j0+4 : p*NR+j0+4]
				a0, a1 := ap[0], ap[1]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
			}
			r0 := c[i0*ldc+j0 : i0*ldc+j0+4 : i0*ldc+j0+4]
			r1 := c[(i0+1)*ldc+j0 : (i0+1)*ldc+j0+4 : (i0+1)*ldc+j0+4]
			if beta == 0 {
				r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
				r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
				continue
			}
			r0[0], r0[1], r0[2], r0[3] = alpha*c00+beta*r0[0], alpha*c01+beta*r0[1], alpha*c02+beta*r0[2], alpha*c03+beta*r0[3]
			r1[0], r1[1], r1[2], r1[3] = alpha*c10+beta*r1[0], alpha*c11+beta*r1[1], alpha*c12+beta*r1[2], alpha*c13+beta*r1[3]
		}
	}
}
