package patch

import (
	"fmt"
	"math"
)

// torchCubicA is the cubic-convolution coefficient of PyTorch's
// F.interpolate(mode='bicubic') without antialias.
const torchCubicA = -0.75

// cubicConv1 is PyTorch's cubic_convolution1: the kernel for |x| ≤ 1.
func cubicConv1(x, a float32) float32 { return ((a+2)*x-(a+3))*x*x + 1 }

// cubicConv2 is PyTorch's cubic_convolution2: the kernel for 1 < |x| < 2.
func cubicConv2(x, a float32) float32 { return ((a*x-5*a)*x+8*a)*x - 4*a }

// torchTaps returns, for each of the out positions along an axis of length
// in, the four source indices (clamped to [0, in−1]) and weights of PyTorch's
// bicubic upsampling with align_corners=False, computed in float32 as
// upsample_bicubic2d does: src = (j + 0.5)·(in/out) − 0.5, t = src − ⌊src⌋,
// weights W(t+1), W(t), W(1−t), W(2−t).
func torchTaps(in, out int) (idx [][4]int, w [][4]float32) {
	idx = make([][4]int, out)
	w = make([][4]float32, out)
	scale := float32(in) / float32(out)
	for j := range out {
		src := scale*(float32(j)+0.5) - 0.5
		i0 := int(math.Floor(float64(src)))
		t := src - float32(i0)
		w[j] = [4]float32{
			cubicConv2(t+1, torchCubicA),
			cubicConv1(t, torchCubicA),
			cubicConv1(1-t, torchCubicA),
			cubicConv2(1-t+1, torchCubicA),
		}
		for k := range 4 {
			idx[j][k] = min(max(i0-1+k, 0), in-1)
		}
	}
	return idx, w
}

// ResizeGrid resizes a channel-last grid src (h, w, c) to (oh, ow, c) with
// PyTorch's F.interpolate(mode='bicubic', align_corners=False) (a = −0.75,
// indices clamped at the edges, no antialias), in float32 and in the same
// order of operations as PyTorch (four horizontal interpolations, then one
// vertical). Equal sizes copy the input, as PyTorch does.
func ResizeGrid(src []float32, h, w, c, oh, ow int) ([]float32, error) {
	if err := checkGrid(src, h, w, c, oh, ow); err != nil {
		return nil, err
	}
	dst := make([]float32, oh*ow*c)
	if h == oh && w == ow {
		copy(dst, src)
		return dst, nil
	}
	yi, yw := torchTaps(h, oh)
	xi, xw := torchTaps(w, ow)
	// Per output pixel: four horizontal interpolations (rows[k]) then one
	// vertical, each over whole channel vectors; per element this is the
	// same arithmetic, in the same order, as PyTorch's per-channel loop.
	var rows [4][]float32
	for k := range rows {
		rows[k] = make([]float32, c)
	}
	for oy := range oh {
		for ox := range ow {
			wx := xw[ox]
			for k := range 4 {
				r := yi[oy][k] * w
				a0 := src[(r+xi[ox][0])*c:][:c]
				a1 := src[(r+xi[ox][1])*c:][:c]
				a2 := src[(r+xi[ox][2])*c:][:c]
				a3 := src[(r+xi[ox][3])*c:][:c]
				rk := rows[k][:c]
				for ch := range rk {
					rk[ch] = a0[ch]*wx[0] + a1[ch]*wx[1] + a2[ch]*wx[2] + a3[ch]*wx[3]
				}
			}
			wy := yw[oy]
			out := dst[(oy*ow+ox)*c:][:c]
			r0, r1, r2, r3 := rows[0][:c], rows[1][:c], rows[2][:c], rows[3][:c]
			for ch := range out {
				out[ch] = r0[ch]*wy[0] + r1[ch]*wy[1] + r2[ch]*wy[2] + r3[ch]*wy[3]
			}
		}
	}
	return dst, nil
}

func checkGrid(src []float32, h, w, c, oh, ow int) error {
	if h <= 0 || w <= 0 || c <= 0 || oh <= 0 || ow <= 0 {
		return fmt.Errorf("patch: invalid resize %dx%dx%d -> %dx%d", h, w, c, oh, ow)
	}
	if len(src) != h*w*c {
		return fmt.Errorf("patch: grid %dx%dx%d needs %d values, have %d", h, w, c, h*w*c, len(src))
	}
	if oh > 1<<14 || ow > 1<<14 || oh*ow > (1<<34)/c {
		return fmt.Errorf("patch: target grid %dx%d too large", oh, ow)
	}
	return nil
}

// ResizeVim returns the position-embedding table that hustvl/Vim's
// fine-tuning code (vim/main.py, "interpolate position embedding") builds for
// a gh×gw patch grid from a table pos of rows×c values (rows = numExtra +
// g·g): the first numExtra rows are kept unchanged, the remaining rows are
// read as a g×g grid (row-major) and resized with [ResizeGrid]; the result has
// numExtra + gh·gw rows.
//
// Trap, reproduced on purpose: the official code passes numExtra = 1 for
// middle-cls models too, so row 0 (the first patch's embedding) is kept as
// the "extra token" and the true cls row (rows/2) is interpolated as a grid
// cell. The official code only handles square grids; here gh and gw may
// differ. When the grid already has gh×gw cells the table is returned
// unchanged (a copy).
func ResizeVim(pos []float32, rows, c, numExtra, gh, gw int) ([]float32, error) {
	if rows <= numExtra || numExtra < 0 || c <= 0 || len(pos) != rows*c {
		return nil, fmt.Errorf("patch: position table of %d values is not %d rows x %d (with %d extra)", len(pos), rows, c, numExtra)
	}
	g := int(math.Sqrt(float64(rows - numExtra)))
	for g*g > rows-numExtra {
		g--
	}
	for (g+1)*(g+1) <= rows-numExtra {
		g++
	}
	if g*g != rows-numExtra {
		return nil, fmt.Errorf("patch: %d position rows minus %d extra is not a square grid", rows, numExtra)
	}
	grid, err := ResizeGrid(pos[numExtra*c:], g, g, c, gh, gw)
	if err != nil {
		return nil, err
	}
	out := make([]float32, 0, numExtra*c+len(grid))
	out = append(out, pos[:numExtra*c]...)
	return append(out, grid...), nil
}
