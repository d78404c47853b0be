// Package reuse keeps per-call scratch (workspaces holding activation
// buffers) for reuse by later calls.
//
// It exists because sync.Pool drops its items at garbage collection: for
// scratch that holds GPU memory that is wrong twice over. The dropped
// workspace's device buffers stay allocated until finalizers run after a
// later collection (the Go heap is tiny, so that can take many calls), and
// the next call allocates a whole new workspace meanwhile: peak device
// memory doubles or triples. A Pool here keeps what was Put until it is
// taken again; it holds at most as many items as there were concurrent
// callers.
//
//	var p reuse.Pool[*mamba.Workspace]
//	ws, ok := p.Get()
//	if !ok {
//		ws = mamba.NewWorkspace()
//	}
//	defer p.Put(ws)
package reuse

import "sync"

// Pool is a mutex-guarded free list. The zero value is empty and ready;
// it is safe for concurrent use.
type Pool[T any] struct {
	mu   sync.Mutex
	free []T
}

// Get takes the most recently Put item; ok is false when the pool is empty.
func (p *Pool[T]) Get() (item T, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		item = p.free[n-1]
		var zero T
		p.free[n-1] = zero
		p.free = p.free[:n-1]
		return item, true
	}
	return item, false
}

// Put gives an item back for a later Get.
func (p *Pool[T]) Put(item T) {
	p.mu.Lock()
	p.free = append(p.free, item)
	p.mu.Unlock()
}

// Len reports how many items the pool holds.
func (p *Pool[T]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
