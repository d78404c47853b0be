package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel splits [0, n) into contiguous chunks of at least grain items and
// runs fn on them with at most GOMAXPROCS goroutines; it runs fn(0, n)
// inline when the work is small or only one processor is available.
//
// While a HoldWorkers is in force, the chunks go to helper goroutines that
// keep spinning for parallelSpin after their last chunk, and the caller
// takes chunks too: whoever is free claims the next one. Otherwise every
// chunk gets a new goroutine and the caller only waits: running a chunk on
// the caller was tried and lost, as the one goroutine started at 2 workers
// then sits in the caller's runnext slot, which an idle P steals only after
// a back-off (vim-tiny lost 7% on the device Xeon at 2 threads). The chunk
// boundaries are the same either way, so results do not depend on it.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := parallelWorkers(n, grain)
	if workers <= 1 {
		fn(0, n)
		return
	}
	step := (n + workers - 1) / workers
	chunks := (n + step - 1) / step
	j := &parJob{fn: fn, n: n, step: step, chunks: int32(chunks)}
	j.left.Store(int32(chunks))
	if !runHeld(j, workers) {
		// No HoldWorkers in force, or another Parallel (a concurrent
		// caller, or fn nested in a chunk) holds the helpers: one
		// goroutine per chunk, the caller only waits.
		spawnChunks(j)
	}
}

// runHeld offers j's chunks to the held helpers (at most workers−1 of
// them) and claims chunks on the caller too, returning once all are done.
// It runs nothing and reports false when no HoldWorkers is in force or
// another job holds the helpers.
func runHeld(j *parJob, workers int) bool {
	if pool.holders.Load() == 0 || !pool.cur.CompareAndSwap(nil, j) {
		return false
	}
	pool.ensure(workers - 1)
	if pool.sleeping.Load() > 0 {
		for range workers - 1 {
			select {
			case pool.wake <- struct{}{}:
			default:
			}
		}
	}
	j.work()
	for j.left.Load() > 0 {
		runtime.Gosched()
	}
	pool.cur.Store(nil)
	return true
}

// HoldWorkers makes Parallel hand its chunks to helper goroutines that
// stay running (polling for work) for a short while between calls, until
// the returned release is called; holds nest and may overlap. It suits a
// forward pass made of many short parallel ops: starting goroutines on
// every call paid the wake-up of an idle thread each time, tens of µs on
// the 2-core VM here, so vmamba-tiny's 0.1–0.6 ms stage-3/4 GEMMs gained
// only 1.2–1.6× from a second thread and its small batched ones lost.
// While a hold is in force, goroutines that other code starts itself may
// start late (the spinning helper's thread does not steal them): vim-tiny,
// which runs its two directions on its own goroutines, got 8% slower with
// helpers always on, so they are opt-in. Safe for concurrent use.
func HoldWorkers() (release func()) {
	pool.holders.Add(1)
	var once sync.Once
	return func() { once.Do(func() { pool.holders.Add(-1) }) }
}

// parallelSpin is how long a helper keeps polling for the next chunk
// after its last one before it parks.
const parallelSpin = 200 * time.Microsecond

// parJob is one Parallel call's chunks, claimed by counting.
type parJob struct {
	fn     func(lo, hi int)
	n      int
	step   int
	chunks int32
	next   atomic.Int32 // chunks claimed
	left   atomic.Int32 // chunks not finished
	// finished, when not nil, is closed by whoever finishes the last
	// chunk (shareChunks waits on it).
	finished chan struct{}
}

// work runs chunks of j until none is left to claim.
func (j *parJob) work() {
	for {
		c := int(j.next.Add(1)) - 1
		if c >= int(j.chunks) {
			return
		}
		lo := c * j.step
		j.fn(lo, min(lo+j.step, j.n))
		if j.left.Add(-1) == 0 && j.finished != nil {
			close(j.finished)
		}
	}
}

// shareChunks runs fn over [0, n) in chunks of the given size, claimed
// from a parJob by the calling goroutine and workers−1 goroutines started
// for the call, and returns once every chunk is done without waiting for
// helpers that never got one. A fixed split waits for its slowest worker:
// on the device machine's Xeon (2 threads) it ran a 3072×768 bf16
// matrix-vector product in 390 µs against 445 µs on one thread, and the
// fp32 one in 655 against 866 µs, as if the helper started 170–220 µs late,
// while the 77 MB LM head reached 1.8× one thread. Here the caller streams
// from the start and a late helper takes what is left, so a call never
// takes longer than on one thread (plus a goroutine start); a helper that
// finds no chunk exits. While a HoldWorkers is in force the chunks go to
// the spinning helpers instead (runHeld), which start at once.
func shareChunks(n, chunk, workers int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	chunks := (n + chunk - 1) / chunk
	j := &parJob{fn: fn, n: n, step: chunk, chunks: int32(chunks), finished: make(chan struct{})}
	j.left.Store(int32(chunks))
	if runHeld(j, workers) {
		return
	}
	for range workers - 1 {
		go j.work()
	}
	j.work()
	<-j.finished
}

func spawnChunks(j *parJob) {
	var wg sync.WaitGroup
	for lo := 0; lo < j.n; lo += j.step {
		hi := min(lo+j.step, j.n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.fn(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelPool is Parallel's set of helper goroutines (started on demand,
// never stopped; a parked one costs nothing).
type parallelPool struct {
	cur      atomic.Pointer[parJob] // the job on offer, nil when none
	holders  atomic.Int32           // HoldWorkers in force
	sleeping atomic.Int32           // helpers parked on wake
	wake     chan struct{}
	mu       sync.Mutex   // serialises starting helpers
	started  atomic.Int32 // helpers started
}

var pool = parallelPool{wake: make(chan struct{}, 1024)}

// ensure starts helpers until there are at least h.
func (p *parallelPool) ensure(h int) {
	if p.started.Load() >= int32(h) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.started.Load() < int32(h) {
		p.started.Add(1)
		go p.helper()
	}
}

// helper claims chunks of the job on offer, polls for parallelSpin after
// its last one, then parks until a Parallel call wakes it.
func (p *parallelPool) helper() {
	last := time.Now()
	for {
		if j := p.cur.Load(); j != nil && j.next.Load() < j.chunks {
			j.work()
			last = time.Now()
			continue
		}
		if p.holders.Load() > 0 && time.Since(last) < parallelSpin {
			runtime.Gosched()
			continue
		}
		p.sleeping.Add(1)
		if j := p.cur.Load(); j == nil || j.next.Load() >= j.chunks {
			<-p.wake
		}
		p.sleeping.Add(-1)
		last = time.Now()
	}
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
