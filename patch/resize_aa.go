package patch

import "math"

// pillowCubicA is the cubic coefficient of Pillow's bicubic filter and of
// PyTorch's antialiased bicubic.
const pillowCubicA = -0.5

func aaFilter(x float32) float32 {
	x = float32(math.Abs(float64(x)))
	switch {
	case x < 1:
		return cubicConv1(x, pillowCubicA)
	case x < 2:
		return cubicConv2(x, pillowCubicA)
	}
	return 0
}

// aaTaps returns the first source index and normalised weights of each output
// position of PyTorch's antialiased bicubic (_upsample_bicubic2d_aa, after
// Pillow): centre = (j + 0.5)·scale, support = 2·max(scale, 1), taps
// [⌊centre − support + 0.5⌋, ⌊centre + support + 0.5⌋) clipped to the input,
// weight = W((i − centre + 0.5)/max(scale, 1)) renormalised to sum 1.
func aaTaps(in, out int) (first []int, w [][]float32) {
	first = make([]int, out)
	w = make([][]float32, out)
	scale := float32(in) / float32(out)
	support, inv := float32(2), float32(1)
	if scale >= 1 {
		support, inv = 2*scale, 1/scale
	}
	for j := range out {
		center := scale * (float32(j) + 0.5)
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		ws := make([]float32, hi-lo)
		var total float32
		for k := range ws {
			ws[k] = aaFilter((float32(k+lo) - center + 0.5) * inv)
			total += ws[k]
		}
		if total != 0 {
			for k := range ws {
				ws[k] /= total
			}
		}
		first[j], w[j] = lo, ws
	}
	return first, w
}

// ResizeGridAA resizes a channel-last grid src (h, w, c) to (oh, ow, c) with
// PyTorch's F.interpolate(mode='bicubic', align_corners=False,
// antialias=True): Pillow's a = −0.5 cubic whose support widens by the scale
// factor when downsampling, applied separably (width, then height) in
// float32. This is what timm's resample_abs_pos_embed uses (DeiT and other
// ViTs). Unlike [ResizeGrid] it blurs rather than aliases when shrinking.
func ResizeGridAA(src []float32, h, w, c, oh, ow int) ([]float32, error) {
	if err := checkGrid(src, h, w, c, oh, ow); err != nil {
		return nil, err
	}
	cur, cw := src, w
	if ow != w {
		first, ws := aaTaps(w, ow)
		tmp := make([]float32, h*ow*c)
		for y := range h {
			for ox := range ow {
				out := tmp[(y*ow+ox)*c : (y*ow+ox+1)*c]
				for k, wk := range ws[ox] {
					in := cur[(y*cw+first[ox]+k)*c:]
					for ch := range out {
						out[ch] += in[ch] * wk
					}
				}
			}
		}
		cur, cw = tmp, ow
	}
	if oh != h {
		first, ws := aaTaps(h, oh)
		tmp := make([]float32, oh*cw*c)
		row := cw * c
		for oy := range oh {
			out := tmp[oy*row : (oy+1)*row]
			for k, wk := range ws[oy] {
				in := cur[(first[oy]+k)*row:]
				for i := range out {
					out[i] += in[i] * wk
				}
			}
		}
		cur = tmp
	}
	if len(cur) == len(src) && &cur[0] == &src[0] {
		return append([]float32(nil), src...), nil
	}
	return cur, nil
}
