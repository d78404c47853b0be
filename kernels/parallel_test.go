package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelCovers checks that Parallel hands every index of [0, n) to
// exactly one call, one call per worker, on 1 to 4 processors, with and
// without HoldWorkers.
func TestParallelCovers(t *testing.T) {
	release := HoldWorkers()
	testParallelCovers(t)
	release()
	release() // a second call does nothing
	testParallelCovers(t)
}

func testParallelCovers(t *testing.T) {
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

// TestParallelHeldNestedConcurrent runs held Parallel calls from several
// goroutines at once, each chunk with a nested Parallel (which then falls
// back to goroutines per chunk), and checks every index is covered once.
func TestParallelHeldNestedConcurrent(t *testing.T) {
	defer HoldWorkers()()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 200 {
				n := 1 + (g*7+it)%13
				seen := make([]atomic.Int32, n*5)
				Parallel(n, 1, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						Parallel(5, 1, func(a, b int) {
							for q := a; q < b; q++ {
								seen[i*5+q].Add(1)
							}
						})
					}
				})
				for i := range seen {
					if v := seen[i].Load(); v != 1 {
						t.Errorf("goroutine %d iteration %d: index %d handed out %d times", g, it, i, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkParallel measures the fork/join cost of Parallel on 2
// processors with next to no work per chunk (ns per call).
func BenchmarkParallel(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var sink [2]atomic.Int64
	for _, held := range []bool{false, true} {
		b.Run(fmt.Sprintf("held=%v", held), func(b *testing.B) {
			if held {
				defer HoldWorkers()()
			}
			for b.Loop() {
				Parallel(2, 1, func(lo, hi int) { sink[lo].Add(1) })
			}
		})
	}
}

// TestShareChunks checks that every index is handed out exactly once, for
// chunk sizes that do and do not divide n and more helpers than chunks.
func TestShareChunks(t *testing.T) {
	for _, held := range []bool{false, true} {
		release := func() {}
		if held { // the chunks go to the held helpers (runHeld)
			release = HoldWorkers()
		}
		for _, c := range []struct{ n, chunk, workers int }{{1, 1, 2}, {10, 3, 2}, {64, 16, 4}, {1000, 7, 3}, {5, 10, 8}} {
			hits := make([]atomic.Int32, c.n)
			shareChunks(c.n, c.chunk, c.workers, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("held %v, %+v: index %d run %d times", held, c, i, h)
				}
			}
		}
		release()
	}
}
