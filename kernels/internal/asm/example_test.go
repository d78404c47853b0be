package asm_test

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// Multiply a 6×2 matrix by a 2×16 matrix with one micro-kernel call: pack
// both operands into panels, then compute the 6×16 tile of C.
func Example() {
	const k = 2
	a := make([]float32, asm.MR*k) // row-major 6×2: row i is (i, 1)
	for i := 0; i < asm.MR; i++ {
		a[i*k], a[i*k+1] = float32(i), 1
	}
	b := make([]float32, asm.NR*k) // stored transposed, 16×2: row j is (1, j)
	for j := 0; j < asm.NR; j++ {
		b[j*k], b[j*k+1] = 1, float32(j)
	}
	ap := make([]float32, asm.MR*k)
	bp := make([]float32, asm.NR*k)
	asm.PackA(ap, a, k, false, asm.MR, k)
	asm.PackB(bp, b, k, true, asm.NR, k)
	c := make([]float32, asm.MR*asm.NR)
	asm.Kernel(k, ap, bp, c, asm.NR, 1, 0)
	fmt.Println(c[0*asm.NR+0], c[2*asm.NR+3], c[5*asm.NR+15]) // i + j
	// Output: 0 5 20
}
