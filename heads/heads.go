package heads

import (
	"fmt"
	"math"
	"sort"

	"github.com/gomamba/gomamba/kernels"
)

// Linear is a classifier head, logits = x·Wᵀ + b (PyTorch nn.Linear).
type Linear struct {
	Weight *kernels.Tensor // (classes, dim)
	Bias   *kernels.Tensor // (classes) or nil
}

// Classes returns the number of outputs.
func (h *Linear) Classes() int { return h.Weight.Dim(0) }

// Check verifies that the head's tensors agree with an input width dim.
func (h *Linear) Check(dim int) error {
	if h.Weight == nil || h.Weight.Rank() != 2 || h.Weight.Dim(1) != dim {
		var s []int
		if h.Weight != nil {
			s = h.Weight.Shape()
		}
		return fmt.Errorf("heads: head.weight has shape %v, want (classes, %d)", s, dim)
	}
	if h.Bias != nil && !kernels.EqualShape(h.Bias.Shape(), []int{h.Weight.Dim(0)}) {
		return fmt.Errorf("heads: head.bias has shape %v, want [%d]", h.Bias.Shape(), h.Weight.Dim(0))
	}
	return nil
}

// Forward writes the logits of x (Bt, dim) into dst (Bt, classes).
func (h *Linear) Forward(be kernels.Backend, dst, x *kernels.Tensor) {
	be.Linear(dst, x, h.Weight, h.Bias)
}

// PoolKind says how a token sequence becomes one feature vector.
type PoolKind int

// Pooling kinds.
const (
	// PoolTokens averages the tokens at Pooling.Index (one index: that
	// token, e.g. Vim's middle cls token at M/2; two: the mean of the two,
	// Vim's double cls tokens).
	PoolTokens PoolKind = iota
	// PoolMean averages all tokens (Vim final_pool_type 'mean' without a cls
	// token).
	PoolMean
	// PoolLast takes the last token (Vim final_pool_type 'none').
	PoolLast
)

// String names the kind.
func (k PoolKind) String() string {
	switch k {
	case PoolTokens:
		return "tokens"
	case PoolMean:
		return "mean"
	case PoolLast:
		return "last"
	}
	return fmt.Sprintf("PoolKind(%d)", int(k))
}

// Pooling selects the feature vector of a (Bt, L, C) token sequence.
type Pooling struct {
	Kind  PoolKind
	Index []int // token indices for PoolTokens
}

// Pool writes the pooled features of x (Bt, L, C) into dst (Bt, C).
// It returns an error (and leaves dst unspecified) when an index is out of
// range.
func Pool(be kernels.Backend, dst, x *kernels.Tensor, p Pooling) error {
	bt, l, c := x.Dim(0), x.Dim(1), x.Dim(2)
	d3 := dst.Reshape(bt, 1, c)
	switch p.Kind {
	case PoolMean:
		be.Mean(dst, x, 1)
	case PoolLast:
		be.CopyBox(d3, []int{0, 0, 0}, x, []int{0, l - 1, 0}, []int{bt, 1, c})
	case PoolTokens:
		if len(p.Index) == 0 {
			return fmt.Errorf("heads: token pooling without an index")
		}
		for _, i := range p.Index {
			if i < 0 || i >= l {
				return fmt.Errorf("heads: pooling token %d of a %d-token sequence", i, l)
			}
		}
		be.CopyBox(d3, []int{0, 0, 0}, x, []int{0, p.Index[0], 0}, []int{bt, 1, c})
		if len(p.Index) > 1 {
			tmp := be.New(bt, 1, c)
			for _, i := range p.Index[1:] {
				be.CopyBox(tmp, []int{0, 0, 0}, x, []int{0, i, 0}, []int{bt, 1, c})
				be.Add(d3, d3, tmp)
			}
			be.Free(tmp)
			be.Scale(d3, d3, 1/float32(len(p.Index)))
		}
	default:
		return fmt.Errorf("heads: unknown pooling %v", p.Kind)
	}
	return nil
}

// Prediction is one entry of a top-k list.
type Prediction struct {
	Index int     `json:"index"`           // class index
	Label string  `json:"label,omitempty"` // class name, when labels are known
	Prob  float32 `json:"prob"`            // softmax probability
}

// Softmax writes the softmax of x into dst (same length; dst may alias x),
// computed in float64 with the maximum subtracted.
func Softmax(dst, x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		dst[i] = float32(e)
		sum += e
	}
	for i := range dst[:len(x)] {
		dst[i] = float32(float64(dst[i]) / sum)
	}
}

// TopK returns the k most probable classes of one row of logits (softmax
// applied here), most probable first; ties keep the lower index first. Labels
// are attached when labels has an entry for the index. k is clipped to
// [0, len(logits)].
func TopK(logits []float32, k int, labels []string) []Prediction {
	k = min(max(k, 0), len(logits))
	if k == 0 {
		return []Prediction{}
	}
	probs := make([]float32, len(logits))
	Softmax(probs, logits)
	var idx []int
	if k <= 64 {
		// Insertion into a short sorted list: O(n·k) without sorting all n.
		idx = make([]int, 0, k+1)
		for i, p := range probs {
			if len(idx) == k && p <= probs[idx[k-1]] {
				continue
			}
			j := len(idx)
			for j > 0 && probs[idx[j-1]] < p {
				j--
			}
			idx = append(idx, 0)
			copy(idx[j+1:], idx[j:])
			idx[j] = i
			if len(idx) > k {
				idx = idx[:k]
			}
		}
	} else {
		idx = make([]int, len(probs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	}
	out := make([]Prediction, k)
	for i := range k {
		j := idx[i]
		out[i] = Prediction{Index: j, Prob: probs[j]}
		if j < len(labels) {
			out[i].Label = labels[j]
		}
	}
	return out
}
