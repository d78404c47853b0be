package kernels

import (
	"runtime"
	"sync"
)

// Parallel splits [0, n) into contiguous chunks of at least grain items and
// runs fn on them with at most GOMAXPROCS goroutines; it runs fn(0, n)
// inline when the work is small or only one processor is available.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := parallelWorkers(n, grain)
	if workers <= 1 {
		fn(0, n)
		return
	}
	// The caller only waits. Running a chunk on it was tried: the one
	// goroutine started at 2 workers then sits in the caller's runnext
	// slot, which an idle P steals only after a back-off, so the second
	// half starts late (vim-tiny lost 7% on the device Xeon at 2 threads
	// with that change among others whose parts measured faster).
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelWorkers is the number of goroutines Parallel(n, grain, ·) uses.
func parallelWorkers(n, grain int) int {
	grain = max(grain, 1)
	return min(runtime.GOMAXPROCS(0), (n+grain-1)/grain)
}

// serialWork reports whether Parallel(n, grain, ·) would run inline. Hot
// ops test it first and call their loop directly, so that the closure handed
// to Parallel (which escapes to the heap) is only made on the parallel path:
// small calls then allocate nothing.
func serialWork(n, grain int) bool { return parallelWorkers(n, grain) <= 1 }
