package tokenizer

import "container/heap"

// merge is one BPE merge rule: the pair's rank and the merged token's id.
type merge struct {
	rank int32
	id   int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// symbol is a node of the doubly linked list a word is merged in.
type symbol struct {
	id         int32
	prev, next int32 // -1 at the ends
	dead       bool
}

// candidate is a possible merge at a symbol position.
type candidate struct {
	pos  int32
	rank int32
	id   int32
}

// candidates is a min-heap by (rank, pos) — the order of Hugging Face's
// BPE (word.rs merge_all), which this reproduces step for step.
type candidates []candidate

func (h candidates) Len() int { return len(h) }
func (h candidates) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candidates) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candidates) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidates) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// bpe merges the symbol ids of one word and appends the result to dst.
// Each step applies the lowest-ranked mergeable adjacent pair (leftmost on
// ties); stale heap entries are skipped, so a word of n symbols costs
// O(n log n).
func (t *Tokenizer) bpe(dst []int, ids []int32) []int {
	if len(ids) == 1 {
		return append(dst, int(ids[0]))
	}
	syms := make([]symbol, len(ids))
	for i, id := range ids {
		syms[i] = symbol{id: id, prev: int32(i - 1), next: int32(i + 1)}
	}
	syms[len(syms)-1].next = -1
	h := make(candidates, 0, len(ids))
	for i := 0; i+1 < len(ids); i++ {
		if m, ok := t.merges[pairKey(ids[i], ids[i+1])]; ok {
			h = append(h, candidate{pos: int32(i), rank: m.rank, id: m.id})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(candidate)
		s := &syms[c.pos]
		if s.dead || s.next < 0 {
			continue
		}
		right := &syms[s.next]
		// Skip entries made stale by an earlier merge at this position.
		if m, ok := t.merges[pairKey(s.id, right.id)]; !ok || m.id != c.id {
			continue
		}
		s.id = c.id
		right.dead = true
		s.next = right.next
		if s.next >= 0 {
			syms[s.next].prev = c.pos
		}
		if s.prev >= 0 {
			if m, ok := t.merges[pairKey(syms[s.prev].id, s.id)]; ok {
				heap.Push(&h, candidate{pos: s.prev, rank: m.rank, id: m.id})
			}
		}
		if s.next >= 0 {
			if m, ok := t.merges[pairKey(s.id, syms[s.next].id)]; ok {
				heap.Push(&h, candidate{pos: c.pos, rank: m.rank, id: m.id})
			}
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		dst = append(dst, int(syms[i].id))
	}
	return dst
}
