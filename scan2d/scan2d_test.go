package scan2d

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
)

var shapes = []struct {
	name        string
	bt, c, h, w int
}{
	{"square", 2, 3, 4, 4},
	{"odd wide", 2, 2, 3, 5},
	{"odd tall", 1, 3, 5, 3},
	{"row", 2, 2, 1, 7},
	{"column", 1, 2, 7, 1},
	{"single pixel", 3, 4, 1, 1},
	{"odd 7x9", 2, 5, 7, 9},
}

func random(r *rand.Rand, shape ...int) *kernels.Tensor {
	t := kernels.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t
}

// TestPositionSpec checks the index map against the formulas of
// ../shared/spec/vmamba.md §3.2 written independently.
func TestPositionSpec(t *testing.T) {
	for _, s := range shapes {
		h, w := s.h, s.w
		n := h * w
		for l := range n {
			spec := [Directions][2]int{
				{l / w, l % w},                     // k=0: l = h·W + w
				{l % h, l / h},                     // k=1: l = w·H + h
				{(n - 1 - l) / w, (n - 1 - l) % w}, // k=2: reverse of k=0
				{(n - 1 - l) % h, (n - 1 - l) / h}, // k=3: reverse of k=1
			}
			for k := range Directions {
				r, c := Position(k, l, h, w)
				require.Equal(t, spec[k], [2]int{r, c}, "%s k=%d l=%d", s.name, k, l)
			}
		}
	}
}

// TestPositionBijective checks that every direction visits every pixel once.
func TestPositionBijective(t *testing.T) {
	for _, s := range shapes {
		for k := range Directions {
			seen := make([]bool, s.h*s.w)
			for l := range s.h * s.w {
				r, c := Position(k, l, s.h, s.w)
				require.False(t, seen[r*s.w+c], "%s k=%d visits (%d,%d) twice", s.name, k, r, c)
				seen[r*s.w+c] = true
			}
		}
	}
}

func TestCrossScanMatchesIndexMap(t *testing.T) {
	be := kernels.CPU()
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			x := random(r, s.bt, s.c, s.h, s.w)
			l := s.h * s.w
			dst := random(r, s.bt, Directions, s.c, l) // garbage must be overwritten
			CrossScan(be, dst, x)
			for b := range s.bt {
				for k := range Directions {
					for c := range s.c {
						for i := range l {
							hh, ww := Position(k, i, s.h, s.w)
							want := x.Data[((b*s.c+c)*s.h+hh)*s.w+ww]
							got := dst.Data[((b*Directions+k)*s.c+c)*l+i]
							require.Equal(t, want, got, "b=%d k=%d c=%d l=%d", b, k, c, i)
						}
					}
				}
			}
		})
	}
}

func TestCrossMergeIsAdjoint(t *testing.T) {
	be := kernels.CPU()
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			l := s.h * s.w
			ys := random(r, s.bt, Directions, s.c, l)
			dst := random(r, s.bt, s.c, s.h, s.w)
			CrossMerge(be, dst, ys)
			for b := range s.bt {
				for c := range s.c {
					// The official order: (ys0 + flip(ys2)) + transposeBack(ys1 + flip(ys3)).
					at := func(k, i int) float32 { return ys.Data[((b*Directions+k)*s.c+c)*l+i] }
					for hh := range s.h {
						for ww := range s.w {
							rm := hh*s.w + ww
							cm := ww*s.h + hh
							want := (at(0, rm) + at(2, l-1-rm)) + (at(1, cm) + at(3, l-1-cm))
							got := dst.Data[((b*s.c+c)*s.h+hh)*s.w+ww]
							require.Equal(t, want, got, "b=%d c=%d (%d,%d)", b, c, hh, ww)
						}
					}
				}
			}
		})
	}
}

func TestMergeOfScanIsFourTimesIdentity(t *testing.T) {
	be := kernels.CPU()
	r := rand.New(rand.NewPCG(5, 6))
	ws := NewWorkspace(be)
	defer ws.Release()
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			x := random(r, s.bt, s.c, s.h, s.w)
			xs := kernels.New(s.bt, Directions, s.c, s.h*s.w)
			y := kernels.New(s.bt, s.c, s.h, s.w)
			for range 2 { // the second round reuses the workspace
				ws.CrossScan(xs, x)
				ws.CrossMerge(y, xs)
				for i, v := range x.Data {
					// x+x+x+x in fp32 equals 4x up to one rounding of 2x+x.
					require.InDelta(t, 4*v, y.Data[i], 1e-6*(1+4*float64(abs(v))), "element %d", i)
				}
			}
		})
	}
}

func TestShapeMismatchPanics(t *testing.T) {
	be := kernels.CPU()
	x := kernels.New(1, 2, 3, 5)
	require.Panics(t, func() { CrossScan(be, kernels.New(1, 4, 2, 14), x) })
	require.Panics(t, func() { CrossScan(be, kernels.New(1, 3, 2, 15), x) })
	require.Panics(t, func() { CrossMerge(be, x, kernels.New(1, 4, 2, 16)) })
}

func TestWorkspaceAllocs(t *testing.T) {
	be := kernels.CPU()
	ws := NewWorkspace(be)
	x := kernels.New(2, 64, 24, 40) // 491,520 bytes
	xs := kernels.New(2, Directions, 64, 24*40)
	ws.CrossScan(xs, x)
	ws.CrossMerge(x, xs)
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		ws.CrossScan(xs, x)
		ws.CrossMerge(x, xs)
	}
	runtime.ReadMemStats(&after)
	// Only views and small index slices are allocated, never tensor storage.
	perRun := float64(after.TotalAlloc-before.TotalAlloc) / runs
	require.Less(t, perRun, 16384.0, "bytes allocated per scan+merge")
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func BenchmarkCrossScanMerge(b *testing.B) {
	be := kernels.CPU()
	for _, s := range []struct {
		name    string
		c, h, w int
	}{{"tiny-stage0-56x56", 96, 56, 56}, {"tiny-stage0-256x256", 96, 256, 256}} {
		b.Run(s.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, 8))
			x := random(r, 1, s.c, s.h, s.w)
			xs := kernels.New(1, Directions, s.c, s.h*s.w)
			ws := NewWorkspace(be)
			b.SetBytes(int64(4 * s.c * s.h * s.w * 4 * 2))
			b.ResetTimer()
			for b.Loop() {
				ws.CrossScan(xs, x)
				ws.CrossMerge(x, xs)
			}
		})
	}
}
