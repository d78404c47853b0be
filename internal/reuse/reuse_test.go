package reuse

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPoolKeepsItemsAcrossGC(t *testing.T) {
	var p Pool[*int]
	_, ok := p.Get()
	require.False(t, ok, "empty pool")
	a, b := new(int), new(int)
	p.Put(a)
	p.Put(b)
	runtime.GC()
	runtime.GC() // sync.Pool would be empty now
	require.Equal(t, 2, p.Len())
	got, ok := p.Get()
	require.True(t, ok)
	require.Same(t, b, got, "last in, first out")
	got, ok = p.Get()
	require.True(t, ok)
	require.Same(t, a, got)
	_, ok = p.Get()
	require.False(t, ok)
}

func TestPoolConcurrentCallersBoundSize(t *testing.T) {
	var p Pool[*int]
	var made int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				x, ok := p.Get()
				if !ok {
					mu.Lock()
					made++
					mu.Unlock()
					x = new(int)
				}
				*x++
				p.Put(x)
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, p.Len(), 8)
	require.Equal(t, made, p.Len(), "every item made comes back")
}
