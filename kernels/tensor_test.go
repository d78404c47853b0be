package kernels

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeBuffer stands in for a device allocation.
type fakeBuffer struct{ id int }

func (*fakeBuffer) Free() {}

// TestNarrow0 checks host row views, device prefix views (the same buffer
// under a shorter shape) and the panics for other device rows and bad
// ranges.
func TestNarrow0(t *testing.T) {
	h := New(4, 2, 3)
	for i := range h.Data {
		h.Data[i] = float32(i)
	}
	v := h.Narrow0(1, 2)
	require.Equal(t, []int{2, 2, 3}, v.Shape())
	require.Equal(t, h.Data[6:18], v.Data)

	buf := &fakeBuffer{id: 7}
	d := NewDevice(buf, 4, 2, 3)
	p := d.Narrow0(0, 3)
	require.Equal(t, []int{3, 2, 3}, p.Shape())
	require.Same(t, buf, p.Dev.(*fakeBuffer))
	require.Nil(t, p.Data)

	require.Panics(t, func() { d.Narrow0(1, 2) }, "device rows past 0 are no view")
	require.Panics(t, func() { h.Narrow0(3, 2) }, "past the end")
	require.Panics(t, func() { d.Narrow0(0, 5) }, "past the end (device)")
	require.Panics(t, func() { h.Narrow0(-1, 1) }, "negative start")
}
