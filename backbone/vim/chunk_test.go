package vim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
)

// TestChunkedForwardMatchesWhole runs batches through Forward with an
// activation budget small enough to split them and compares features and
// logits with one whole-batch pass.
func TestChunkedForwardMatchesWhole(t *testing.T) {
	be := kernels.CPU()
	m, err := NewRandom(small(ClsMiddle), be, 5)
	require.NoError(t, err)
	per := m.activationBytes(4*5 + 1) // one 32×40 image (4×5 patches + cls)
	for _, tc := range []struct {
		name      string
		bt        int
		budget    int64
		wantChunk int
	}{
		{"fits", 5, 5 * per, 5},
		{"two per pass", 5, 2 * per, 2}, // 2+2+1
		{"one per pass", 3, per / 2, 1}, // below one image: still 1
		{"equal split", 7, 5 * per, 4},  // 4+3, not 5+2
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := randInput(uint64(tc.bt), tc.bt, 3, 32, 40)
			m.SetChunkBytes(0)
			wantF, wantL, err := m.Forward(context.Background(), x)
			require.NoError(t, err)
			m.SetChunkBytes(tc.budget)
			defer m.SetChunkBytes(0)
			n, err := m.chunkSize(x)
			require.NoError(t, err)
			require.Equal(t, tc.wantChunk, n)
			gotF, gotL, err := m.Forward(context.Background(), x)
			require.NoError(t, err)
			require.Equal(t, wantF.Shape(), gotF.Shape())
			require.Equal(t, wantL.Shape(), gotL.Shape())
			require.InDeltaSlice(t, wantF.Data, gotF.Data, 1e-5)
			require.InDeltaSlice(t, wantL.Data, gotL.Data, 1e-5)
		})
	}
}
