package kernels

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestParallelCovers checks that Parallel hands every index of [0, n) to
// exactly one call, one call per worker, on 1 to 4 processors.
func TestParallelCovers(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 4} {
		for _, c := range [][2]int{{1, 1}, {2, 1}, {3, 1}, {7, 2}, {100, 1}, {100, 30}, {5, 10}, {1000, 7}} {
			n, grain := c[0], c[1]
			t.Run(fmt.Sprintf("procs=%d/n=%d/grain=%d", procs, n, grain), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				seen := make([]atomic.Int32, n)
				var calls atomic.Int32
				Parallel(n, grain, func(lo, hi int) {
					calls.Add(1)
					if hi <= lo {
						t.Errorf("empty chunk [%d, %d)", lo, hi)
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if v := seen[i].Load(); v != 1 {
						t.Fatalf("index %d handed out %d times", i, v)
					}
				}
				if w := int32(parallelWorkers(n, grain)); calls.Load() != w {
					t.Fatalf("%d calls, want %d workers", calls.Load(), w)
				}
			})
		}
	}
}

// BenchmarkParallel measures the fork/join cost of Parallel on 2
// processors with next to no work per chunk (ns per call).
func BenchmarkParallel(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var sink [2]atomic.Int64
	for b.Loop() {
		Parallel(2, 1, func(lo, hi int) { sink[lo].Add(1) })
	}
}
