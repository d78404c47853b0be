package scan2d

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
)

// TestPairMatchesFour checks CrossScanPair against directions 0 and 1 of
// CrossScan, and CrossMergePair(ys0|ys1, flip(ys2)|flip(ys3)) and
// CrossMergeSum of their sum against CrossMerge(ys), bit for bit.
func TestPairMatchesFour(t *testing.T) {
	be := kernels.CPU()
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			l := s.h * s.w
			ws := NewWorkspace(be)
			x := random(r, s.bt, s.c, s.h, s.w)
			four := kernels.New(s.bt, Directions, s.c, l)
			ws.CrossScan(four, x)
			pair := kernels.New(s.bt, 2, s.c, l)
			ws.CrossScanPair(pair, x)
			want := kernels.New(s.bt, 2, s.c, l)
			be.CopyBox(want, []int{0, 0, 0, 0}, four, []int{0, 0, 0, 0}, want.Shape())
			require.Equal(t, want.Data, pair.Data)
			if s.bt == 1 { // x already in dst's first slab
				inPlace := kernels.New(1, 2, s.c, l)
				first := inPlace.Reshape(2, s.c, s.h, s.w).Narrow0(0, 1)
				copy(first.Data, x.Data)
				ws.CrossScanPair(inPlace, first)
				require.Equal(t, want.Data, inPlace.Data)
			}

			ys := random(r, s.bt, Directions, s.c, l)
			merged := kernels.New(s.bt, s.c, s.h, s.w)
			ws.CrossMerge(merged, ys)
			fwd, rev := kernels.New(s.bt, 2, s.c, l), kernels.New(s.bt, 2, s.c, l)
			be.CopyBox(fwd, []int{0, 0, 0, 0}, ys, []int{0, 0, 0, 0}, fwd.Shape())
			tail := kernels.New(s.bt, 2, s.c, l)
			be.CopyBox(tail, []int{0, 0, 0, 0}, ys, []int{0, 2, 0, 0}, tail.Shape())
			be.Flip(rev, tail, 3)
			sum := kernels.New(s.bt, 2, s.c, l)
			be.Add(sum, fwd, rev)
			got := kernels.New(s.bt, s.c, s.h, s.w)
			ws.CrossMergePair(got, fwd, rev)
			require.Equal(t, merged.Data, got.Data)
			// CrossMergeSum from the pair sums made elsewhere.
			fromSum := kernels.New(s.bt, s.c, s.h, s.w)
			ws.CrossMergeSum(fromSum, sum)
			require.Equal(t, merged.Data, fromSum.Data)
		})
	}
	require.Panics(t, func() {
		NewWorkspace(be).CrossMergePair(kernels.New(1, 2, 2, 2), kernels.New(1, 2, 2, 4), kernels.New(1, 2, 2, 3))
	})
	require.Panics(t, func() {
		NewWorkspace(be).CrossMergeSum(kernels.New(1, 2, 2, 2), kernels.New(1, 2, 2, 3))
	})
}
