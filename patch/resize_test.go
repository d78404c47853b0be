package patch

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/safetensors"
	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/internal/golden"
)

// readF32 reads one F32 tensor from a safetensors file (test helper).
func readF32(t *testing.T, path, name string) ([]float32, []int) {
	t.Helper()
	buf, err := os.ReadFile(path)
	require.NoError(t, err)
	st, err := safetensors.Deserialize(buf)
	require.NoError(t, err)
	v, ok := st.Tensor(name)
	require.True(t, ok, "tensor %s in %s", name, path)
	require.Equal(t, safetensors.F32, v.DType())
	raw := v.Data()
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	var shape []int
	for _, d := range v.Shape() {
		shape = append(shape, int(d))
	}
	return out, shape
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// TestResizeVimGolden reproduces pos_embed_alt of the Vim fixture: the
// official fine-tune interpolation of the checkpoint's pos_embed to the grid
// of x_alt.
func TestResizeVimGolden(t *testing.T) {
	dir := golden.Dir(t, "vim")
	pos, ps := readF32(t, filepath.Join(dir, "vim_model.safetensors"), "pos_embed")
	want, ws := readF32(t, filepath.Join(dir, "io.safetensors"), "pos_embed_alt")
	_, xs := readF32(t, filepath.Join(dir, "io.safetensors"), "x_alt")
	_, wshape := readF32(t, filepath.Join(dir, "vim_model.safetensors"), "patch_embed.proj.weight")
	patchSize := wshape[2] // stride = patch for this fixture (grid 4 from 64 px)
	gh, gw, err := GridSize(xs[2], xs[3], patchSize, patchSize)
	require.NoError(t, err)
	got, err := ResizeVim(pos, ps[1], ps[2], 1, gh, gw)
	require.NoError(t, err)
	require.Len(t, got, ws[1]*ws[2])
	d := maxAbsDiff(got, want)
	t.Logf("pos_embed_alt max abs diff %.3g", d)
	require.LessOrEqual(t, d, 1e-6)
}

func TestResizeGridIdentityAndConstant(t *testing.T) {
	for _, tc := range []struct{ h, w, c, oh, ow int }{
		{4, 4, 3, 4, 4}, {4, 4, 2, 6, 6}, {14, 14, 5, 27, 27}, {27, 27, 2, 14, 14}, {3, 5, 1, 7, 2}, {1, 1, 4, 3, 3},
	} {
		src := make([]float32, tc.h*tc.w*tc.c)
		for i := range src {
			src[i] = 2.5
		}
		for _, f := range []func([]float32, int, int, int, int, int) ([]float32, error){ResizeGrid, ResizeGridAA} {
			got, err := f(src, tc.h, tc.w, tc.c, tc.oh, tc.ow)
			require.NoError(t, err)
			require.Len(t, got, tc.oh*tc.ow*tc.c)
			for _, v := range got {
				require.InDelta(t, 2.5, v, 1e-5, "%+v", tc)
			}
		}
	}
}

// TestResizeGridKnown checks PyTorch values: F.interpolate of [[0,1],[2,3]]
// to 4x4 (bicubic, align_corners=False) has first row
// [-0.2109375, 0.0703125, 0.5, 0.78125]... computed by hand from the a=-0.75
// kernel: src x = (j+0.5)/2-0.5 = -0.25, 0.25, 0.75, 1.25.
func TestResizeGridKnown(t *testing.T) {
	src := []float32{0, 1, 2, 3}
	got, err := ResizeGrid(src, 2, 2, 1, 4, 4)
	require.NoError(t, err)
	// 1-D weights for t=0.75 (src −0.25 → i0=−1): taps -2,-1,0,1 clamped.
	ref := func(x float64, in []float64) float64 {
		i0 := math.Floor(x)
		tt := x - i0
		a := -0.75
		c1 := func(x float64) float64 { return ((a+2)*x-(a+3))*x*x + 1 }
		c2 := func(x float64) float64 { return ((a*x-5*a)*x+8*a)*x - 4*a }
		ws := []float64{c2(tt + 1), c1(tt), c1(1 - tt), c2(2 - tt)}
		s := 0.0
		for k := range 4 {
			j := min(max(int(i0)-1+k, 0), len(in)-1)
			s += ws[k] * in[j]
		}
		return s
	}
	for oy := range 4 {
		for ox := range 4 {
			sy := (float64(oy)+0.5)/2 - 0.5
			sx := (float64(ox)+0.5)/2 - 0.5
			r0 := ref(sx, []float64{0, 1})
			r1 := ref(sx, []float64{2, 3})
			want := ref(sy, []float64{r0, r1})
			require.InDelta(t, want, got[oy*4+ox], 1e-6)
		}
	}
}

func TestResizeErrors(t *testing.T) {
	_, err := ResizeVim(make([]float32, 18*4), 18, 4, 1, 3, 3) // 17 rows not square
	require.ErrorContains(t, err, "square")
	_, err = ResizeVim(make([]float32, 10), 17, 4, 1, 3, 3)
	require.Error(t, err)
	_, err = ResizeGrid(make([]float32, 4), 2, 2, 1, 0, 3)
	require.Error(t, err)
	_, _, err = GridSize(8, 64, 16, 16)
	require.ErrorContains(t, err, "smaller")
}

func TestCache(t *testing.T) {
	var c Cache[int]
	calls := 0
	for range 3 {
		v, err := c.Get(2, 3, func() (int, error) { calls++; return 6, nil })
		require.NoError(t, err)
		require.Equal(t, 6, v)
	}
	require.Equal(t, 1, calls)
	for i := range maxCacheEntries + 5 {
		_, _ = c.Get(i, i, func() (int, error) { return i, nil })
	}
	require.LessOrEqual(t, c.Len(), maxCacheEntries)
}

// TestResizeGridAAGolden reproduces timm's resample_abs_pos_embed
// (antialiased bicubic) on the DeiT fixture: pos_embed_alt = cls row +
// the 4×4 grid resized to the grid of x_alt.
func TestResizeGridAAGolden(t *testing.T) {
	dir := golden.Dir(t, "deit")
	pos, ps := readF32(t, filepath.Join(dir, "model.safetensors"), "pos_embed")
	want, ws := readF32(t, filepath.Join(dir, "io.safetensors"), "pos_embed_alt")
	_, xs := readF32(t, filepath.Join(dir, "io.safetensors"), "x_alt")
	_, wshape := readF32(t, filepath.Join(dir, "model.safetensors"), "patch_embed.proj.weight")
	p := wshape[2]
	c := ps[2]
	g := int(math.Sqrt(float64(ps[1] - 1)))
	require.Equal(t, ps[1]-1, g*g)
	gh, gw, err := GridSize(xs[2], xs[3], p, p)
	require.NoError(t, err)
	got, err := ResizeGridAA(pos[c:], g, g, c, gh, gw)
	require.NoError(t, err)
	require.Equal(t, ws[1]-1, gh*gw)
	d := maxAbsDiff(got, want[c:])
	t.Logf("deit pos_embed_alt (antialiased bicubic %d->%dx%d) max abs diff %.3g", g, gh, gw, d)
	require.LessOrEqual(t, d, 1e-6)
	require.Equal(t, want[:c], pos[:c]) // the cls row is kept
}

// BenchmarkResizeVim resizes a vim-tiny position table (14×14 grid, C=192)
// to the 64×64 grid of a 1024² input, the once-per-size cost of any
// resolution.
func BenchmarkResizeVim(b *testing.B) {
	const c, g, ng = 192, 14, 64
	pos := make([]float32, (1+g*g)*c)
	for i := range pos {
		pos[i] = float32(i%97) / 97
	}
	b.SetBytes(int64((1 + ng*ng) * c * 4))
	for b.Loop() {
		if _, err := ResizeVim(pos, 1+g*g, c, 1, ng, ng); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResizeGridAA is the antialiased twin, downsampling 64→14.
func BenchmarkResizeGridAA(b *testing.B) {
	const c, g, ng = 192, 64, 14
	src := make([]float32, g*g*c)
	b.SetBytes(int64(len(src) * 4))
	for b.Loop() {
		if _, err := ResizeGridAA(src, g, g, c, ng, ng); err != nil {
			b.Fatal(err)
		}
	}
}
