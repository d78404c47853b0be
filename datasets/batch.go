package datasets

import (
	"fmt"
	"math/rand/v2"
)

// Batches yields the indices 0..N−1 in mini-batches, optionally shuffled
// with a seeded PCG generator so that a (Seed, epoch) pair always gives the
// same order. A Batches is not safe for concurrent use.
type Batches struct {
	n, size  int
	shuffle  bool
	dropLast bool
	seed     uint64
	epoch    uint64
	perm     []int
	pos      int
}

// NewBatches returns an iterator over n items in batches of size (the last
// one smaller unless dropLast), positioned at epoch 0.
func NewBatches(n, size int, shuffle, dropLast bool, seed uint64) (*Batches, error) {
	if n < 0 || size <= 0 {
		return nil, fmt.Errorf("datasets: batches of %d over %d items", size, n)
	}
	b := &Batches{n: n, size: size, shuffle: shuffle, dropLast: dropLast, seed: seed, perm: make([]int, n)}
	b.SetEpoch(0)
	return b, nil
}

// SetEpoch restarts iteration with epoch's order.
func (b *Batches) SetEpoch(epoch uint64) {
	b.epoch, b.pos = epoch, 0
	for i := range b.perm {
		b.perm[i] = i
	}
	if b.shuffle {
		r := rand.New(rand.NewPCG(b.seed, epoch))
		r.Shuffle(len(b.perm), func(i, j int) { b.perm[i], b.perm[j] = b.perm[j], b.perm[i] })
	}
}

// Epoch returns the current epoch.
func (b *Batches) Epoch() uint64 { return b.epoch }

// Len returns the number of batches per epoch.
func (b *Batches) Len() int {
	if b.dropLast {
		return b.n / b.size
	}
	return (b.n + b.size - 1) / b.size
}

// Next returns the next batch's indices (a slice valid until the next
// SetEpoch) and false when the epoch is exhausted.
func (b *Batches) Next() ([]int, bool) {
	rest := b.n - b.pos
	if rest <= 0 || (b.dropLast && rest < b.size) {
		return nil, false
	}
	k := min(b.size, rest)
	out := b.perm[b.pos : b.pos+k : b.pos+k]
	b.pos += k
	return out, true
}
