package patch

import "sync"

// maxCacheEntries bounds a Cache: beyond it the oldest grid is forgotten, so
// a server fed many distinct sizes keeps bounded memory.
const maxCacheEntries = 32

// Cache memoises one value per patch grid (gh, gw), typically a position
// embedding resized to that grid and uploaded to a backend. The zero value
// is ready to use; a Cache is safe for concurrent use, and the build function
// runs at most once per grid while that grid stays cached.
type Cache[T any] struct {
	mu    sync.Mutex
	m     map[[2]int]*cacheEntry[T]
	order [][2]int
}

type cacheEntry[T any] struct {
	once sync.Once
	v    T
	err  error
}

// Get returns the value cached for (gh, gw), building it with build on the
// first request. A failed build is not cached.
func (c *Cache[T]) Get(gh, gw int, build func() (T, error)) (T, error) {
	key := [2]int{gh, gw}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[[2]int]*cacheEntry[T])
	}
	e, ok := c.m[key]
	if !ok {
		e = &cacheEntry[T]{}
		c.m[key] = e
		c.order = append(c.order, key)
		if len(c.order) > maxCacheEntries {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.mu.Unlock()
	e.once.Do(func() { e.v, e.err = build() })
	if e.err != nil {
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key)
			for i, k := range c.order {
				if k == key {
					c.order = append(c.order[:i], c.order[i+1:]...)
					break
				}
			}
		}
		c.mu.Unlock()
	}
	return e.v, e.err
}

// Len reports how many grids are cached.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
