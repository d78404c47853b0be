package heads

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
)

func TestTopK(t *testing.T) {
	logits := []float32{1, 3, 2, 3, -1}
	got := TopK(logits, 3, []string{"a", "b", "c"})
	require.Len(t, got, 3)
	require.Equal(t, []int{1, 3, 2}, []int{got[0].Index, got[1].Index, got[2].Index})
	require.Equal(t, "b", got[0].Label)
	require.Equal(t, "", got[1].Label) // no label for index 3
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v))
	}
	require.InDelta(t, math.Exp(3)/sum, got[0].Prob, 1e-6)
	require.Len(t, TopK(logits, 99, nil), 5)
	require.Empty(t, TopK(logits, -1, nil))
}

func TestSoftmaxStable(t *testing.T) {
	x := []float32{1000, 1000}
	Softmax(x, x)
	require.InDelta(t, 0.5, x[0], 1e-7)
	require.InDelta(t, 0.5, x[1], 1e-7)
}

func TestPool(t *testing.T) {
	be := kernels.CPU()
	// x (2, 3, 2): value = 100·b + 10·l + c.
	x := kernels.New(2, 3, 2)
	for b := range 2 {
		for l := range 3 {
			for c := range 2 {
				x.Data[(b*3+l)*2+c] = float32(100*b + 10*l + c)
			}
		}
	}
	for _, tc := range []struct {
		p    Pooling
		want []float32
	}{
		{Pooling{Kind: PoolTokens, Index: []int{1}}, []float32{10, 11, 110, 111}},
		{Pooling{Kind: PoolTokens, Index: []int{0, 2}}, []float32{10, 11, 110, 111}},
		{Pooling{Kind: PoolMean}, []float32{10, 11, 110, 111}},
		{Pooling{Kind: PoolLast}, []float32{20, 21, 120, 121}},
	} {
		t.Run(fmt.Sprint(tc.p.Kind, tc.p.Index), func(t *testing.T) {
			dst := kernels.New(2, 2)
			require.NoError(t, Pool(be, dst, x, tc.p))
			require.InDeltaSlice(t, tc.want, dst.Data, 1e-5)
		})
	}
	require.Error(t, Pool(be, kernels.New(2, 2), x, Pooling{Kind: PoolTokens, Index: []int{3}}))
	require.Error(t, Pool(be, kernels.New(2, 2), x, Pooling{Kind: PoolTokens}))
}

func TestLinear(t *testing.T) {
	be := kernels.CPU()
	h := &Linear{Weight: kernels.MustFromSlice([]float32{1, 0, 0, 1, 1, 1}, 3, 2), Bias: kernels.MustFromSlice([]float32{0, 1, 2}, 3)}
	require.NoError(t, h.Check(2))
	require.Error(t, h.Check(3))
	x := kernels.MustFromSlice([]float32{2, 3}, 1, 2)
	y := kernels.New(1, 3)
	h.Forward(be, y, x)
	require.Equal(t, []float32{2, 4, 7}, y.Data)
	require.Equal(t, 3, h.Classes())
}

func ExampleTopK() {
	top := TopK([]float32{0.1, 2.0, 0.5}, 2, []string{"cat", "dog", "fox"})
	for _, p := range top {
		fmt.Printf("%d %s %.3f\n", p.Index, p.Label, p.Prob)
	}
	// Output:
	// 1 dog 0.728
	// 2 fox 0.163
}

// BenchmarkTopK is softmax + top-5 over 1000 ImageNet logits.
func BenchmarkTopK(b *testing.B) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32((i*7919)%1000) / 100
	}
	b.SetBytes(int64(len(logits) * 4))
	for b.Loop() {
		TopK(logits, 5, nil)
	}
}

// TestTopKMatchesSort checks the selection path against a full stable sort.
func TestTopKMatchesSort(t *testing.T) {
	logits := make([]float32, 300)
	for i := range logits {
		logits[i] = float32((i*7919)%37) / 7 // many ties
	}
	full := TopK(logits, 300, nil) // sort path
	for _, k := range []int{1, 5, 64} {
		require.Equal(t, full[:k], TopK(logits, k, nil), "k=%d", k)
	}
}
