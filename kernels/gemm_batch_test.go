package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestMatMulBatchSplitExact checks that a batched MatMul that runs whole
// items per goroutine (batchSplit) gives bit for bit what each item gives
// alone on one thread, for prepacked and plain A, odd shapes, batches that
// split evenly and not, on 1 to 3 processors.
func TestMatMulBatchSplitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, procs := range []int{1, 2, 3} {
		for _, c := range []struct{ batch, m, n, k int }{
			{2, 384, 196, 24}, {2, 13, 49, 7}, {4, 100, 49, 48}, {3, 37, 29, 65}, {5, 6, 17, 300}, {2, 2, 33, 9},
		} {
			for _, packed := range []bool{false, true} {
				t.Run(fmt.Sprintf("procs=%d/%dx%dx%dx%d/packed=%v", procs, c.batch, c.m, c.n, c.k, packed), func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					a, b := rndT(r, 1, c.batch, c.m, c.k), rndT(r, 1, c.batch, c.k, c.n)
					if packed {
						CPU().(Prepacker).Prepack(a)
					}
					got := New(c.batch, c.m, c.n)
					CPU().MatMul(got, a, b, false, false)
					for i := range c.batch {
						want := make([]float32, c.m*c.n)
						sgemmPackedOrRef(c.m, c.n, c.k, a.Data[i*c.m*c.k:], b.Data[i*c.k*c.n:], want)
						for j, w := range want {
							if g := got.Data[i*c.m*c.n+j]; g != w {
								t.Fatalf("item %d element %d: %v, want %v", i, j, g, w)
							}
						}
					}
				})
			}
		}
	}
}

// sgemmPackedOrRef is the serial backend's dispatch for C = A·B.
func sgemmPackedOrRef(m, n, k int, a, b, c []float32) {
	cpuBackend{serial: true}.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
}
