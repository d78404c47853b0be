package datasets

import (
	"image"

	"github.com/gomamba/gomamba/kernels"
)

// This file turns Go's decoded Y'CbCr planes into RGB the way the C libraries
// behind Pillow do: libjpeg(-turbo) for JPEG, libwebp for lossy WebP. Both
// upsample chroma with a triangular ("fancy") filter rather than Go's
// nearest-neighbour image.YCbCr.At, and both use their own fixed-point
// colour matrices. Writing them out here (with jpegdec.go's libjpeg IDCT for
// JPEG) is what makes both bit-exact with Pillow.

// chromaLayout describes where the chroma samples of pixel rows and columns
// live: factor hf×vf, and the inclusive range of chroma columns/rows that
// exist for this image.
type chromaLayout struct {
	hf, vf   int
	cx0, cx1 int // chroma columns [cx0, cx1]
	cy0, cy1 int // chroma rows [cy0, cy1]
}

func layoutOf(m *image.YCbCr) chromaLayout {
	hf, vf := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hf = 2
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		vf = 2
	case image.YCbCrSubsampleRatio411:
		hf = 4
	case image.YCbCrSubsampleRatio410:
		hf, vf = 4, 2
	}
	r := m.Rect
	return chromaLayout{hf: hf, vf: vf,
		cx0: floorDiv(r.Min.X, hf), cx1: floorDiv(r.Max.X-1, hf),
		cy0: floorDiv(r.Min.Y, vf), cy1: floorDiv(r.Max.Y-1, vf)}
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// chromaRow returns chroma row cy (absolute chroma coordinates) of plane,
// starting at column cx0, cx1-cx0+1 samples long.
func chromaRow(m *image.YCbCr, plane []uint8, l chromaLayout, cy int) []uint8 {
	off := (cy-l.cy0)*m.CStride + 0
	return plane[off : off+l.cx1-l.cx0+1]
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// --- libjpeg -----------------------------------------------------------------

// libjpeg's YCbCr→RGB tables (jdcolor.c build_ycc_rgb_table): 16-bit fixed
// point, FIX(x) = round(x·2^16).
var jpegTabs = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	const half = 1 << 15
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		t.crR[i] = (91881*x + half) >> 16
		t.cbB[i] = (116130*x + half) >> 16
		t.crG[i] = -46802 * x
		t.cbG[i] = -22554*x + half
	}
	return t
}()

// jpegUpsampleRow writes the full-resolution chroma of pixel row y (columns
// Rect.Min.X..Max.X-1) into out, using libjpeg-turbo's upsampler for the
// layout: h2v1/h2v2 "fancy" triangle filters when the downsampled width is
// above 2, h1v2 fancy, and plain replication otherwise (h4 layouts too).
func jpegUpsampleRow(m *image.YCbCr, plane []uint8, l chromaLayout, y int, out []uint8, colsum []int32) {
	cy := floorDiv(y, l.vf)
	cur := chromaRow(m, plane, l, cy)
	cw := len(cur)
	x0 := m.Rect.Min.X
	w := len(out)
	fancyH := l.hf == 2 && cw > 2
	if fancyH && x0 == 0 && cap(out) >= 2*cw {
		// Fast path for images at the origin (every decoded image): two
		// outputs per chroma column, no per-pixel division. out has room
		// for 2·cw samples; callers read the first w.
		o := out[:2*cw]
		if l.vf == 2 {
			ny := cy - 1
			if y-cy*2 == 1 {
				ny = cy + 1
			}
			nb := chromaRow(m, plane, l, clampInt(ny, l.cy0, l.cy1))[:cw]
			cs := colsum[:cw]
			for i, v := range cur {
				cs[i] = 3*int32(v) + int32(nb[i])
			}
			o[0] = uint8((cs[0]*4 + 8) >> 4)
			for c := 1; c < cw; c++ {
				o[2*c] = uint8((cs[c]*3 + cs[c-1] + 8) >> 4)
			}
			for c := 0; c < cw-1; c++ {
				o[2*c+1] = uint8((cs[c]*3 + cs[c+1] + 7) >> 4)
			}
			o[2*cw-1] = uint8((cs[cw-1]*4 + 7) >> 4)
			return
		}
		o[0] = cur[0]
		for c := 1; c < cw; c++ {
			o[2*c] = uint8((int32(cur[c])*3 + int32(cur[c-1]) + 1) >> 2)
		}
		for c := 0; c < cw-1; c++ {
			o[2*c+1] = uint8((int32(cur[c])*3 + int32(cur[c+1]) + 2) >> 2)
		}
		o[2*cw-1] = cur[cw-1]
		return
	}
	switch {
	case l.vf == 2 && (l.hf == 1 || fancyH):
		// Vertical triangle: the nearer chroma row gets 3/4. libjpeg's
		// context rows replicate the first and last rows.
		ny := cy - 1
		if y-cy*2 == 1 {
			ny = cy + 1
		}
		nb := chromaRow(m, plane, l, clampInt(ny, l.cy0, l.cy1))
		for i := range cw {
			colsum[i] = 3*int32(cur[i]) + int32(nb[i])
		}
		if l.hf == 1 { // h1v2_fancy_upsample
			bias := int32(1)
			if ny > cy {
				bias = 2
			}
			for i := range w {
				out[i] = uint8((colsum[i+x0-l.cx0] + bias) >> 2)
			}
			return
		}
		// h2v2_fancy_upsample
		cs := colsum[:cw]
		for i := range w {
			X := x0 + i
			c := floorDiv(X, 2) - l.cx0
			if X&1 == 0 {
				if c == 0 {
					out[i] = uint8((cs[0]*4 + 8) >> 4)
				} else {
					out[i] = uint8((cs[c]*3 + cs[c-1] + 8) >> 4)
				}
			} else {
				if c == cw-1 {
					out[i] = uint8((cs[c]*4 + 7) >> 4)
				} else {
					out[i] = uint8((cs[c]*3 + cs[c+1] + 7) >> 4)
				}
			}
		}
	case l.vf == 1 && fancyH: // h2v1_fancy_upsample
		for i := range w {
			X := x0 + i
			c := floorDiv(X, 2) - l.cx0
			v := int32(cur[c])
			if X&1 == 0 {
				if c == 0 {
					out[i] = cur[0]
				} else {
					out[i] = uint8((v*3 + int32(cur[c-1]) + 1) >> 2)
				}
			} else {
				if c == cw-1 {
					out[i] = cur[c]
				} else {
					out[i] = uint8((v*3 + int32(cur[c+1]) + 2) >> 2)
				}
			}
		}
	default: // 4:4:4 or replication
		for i := range w {
			out[i] = cur[floorDiv(x0+i, l.hf)-l.cx0]
		}
	}
}

// rangeLimit clamps to 0..255 (libjpeg's range_limit for in-range
// indices; Y + table values stay within −227..482).
func rangeLimit(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// ycbcrToRGBJPEG converts like libjpeg-turbo's decompressor with default
// settings (fancy upsampling on, JCS_RGB output).
func ycbcrToRGBJPEG(m *image.YCbCr) *RGB {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	dst := NewRGB(image.Rect(0, 0, w, h))
	if w == 0 || h == 0 {
		return dst
	}
	l := layoutOf(m)
	t := &jpegTabs
	kernels.Parallel(h, 16, func(lo, hi int) {
		cw := l.cx1 - l.cx0 + 1
		cb := make([]uint8, w, max(w, 2*cw))
		cr := make([]uint8, w, max(w, 2*cw))
		colsum := make([]int32, cw)
		for yy := lo; yy < hi; yy++ {
			y := b.Min.Y + yy
			jpegUpsampleRow(m, m.Cb, l, y, cb, colsum)
			jpegUpsampleRow(m, m.Cr, l, y, cr, colsum)
			yrow := m.Y[m.YOffset(b.Min.X, y):][:w]
			row := dst.Pix[yy*dst.Stride:][:3*w]
			cbr, crr := cb[:len(yrow)], cr[:len(yrow)]
			for x, yv := range yrow {
				Y := int32(yv)
				u, v := cbr[x], crr[x]
				p := row[3*x : 3*x+3 : 3*x+3]
				p[0] = rangeLimit(Y + t.crR[v])
				p[1] = rangeLimit(Y + ((t.cbG[u] + t.crG[v]) >> 16))
				p[2] = rangeLimit(Y + t.cbB[u])
			}
		}
	})
	return dst
}

// --- libwebp -----------------------------------------------------------------

// webpClip8 is libwebp's VP8Clip8 with YUV_FIX2 = 6.
func webpClip8(v int32) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func multHi(v, c int32) int32 { return (v * c) >> 8 }

// webpYUVToRGB is libwebp's VP8YuvToRgb (BT.601 limited range, 14-bit
// fixed point).
func webpYUVToRGB(y, u, v int32, px []uint8) {
	px[0] = webpClip8(multHi(y, 19077) + multHi(v, 26149) - 14234)
	px[1] = webpClip8(multHi(y, 19077) - multHi(u, 6419) - multHi(v, 13320) + 8708)
	px[2] = webpClip8(multHi(y, 19077) + multHi(u, 33050) - 17685)
}

// webpUpsampleRow is one output line of libwebp's fancy upsampler
// (UpsampleRgbLinePair): near is the chroma row weighted 3/4 vertically, far
// the other one. For each channel the horizontal+vertical weights are
// 9/16, 3/16, 3/16, 1/16, computed with libwebp's two-step rounding.
func webpUpsampleRow(near, far []uint8, w int, out []uint8) {
	out[0] = uint8((3*int32(near[0]) + int32(far[0]) + 2) >> 2)
	last := (w - 1) >> 1
	tl, l := int32(near[0]), int32(far[0]) // "top-left" is the near row
	for x := 1; x <= last; x++ {
		t, u := int32(near[x]), int32(far[x])
		avg := tl + t + l + u + 8
		d12 := (avg + 2*(t+l)) >> 3
		d03 := (avg + 2*(tl+u)) >> 3
		out[2*x-1] = uint8((d12 + tl) >> 1)
		out[2*x] = uint8((d03 + t) >> 1)
		tl, l = t, u
	}
	if w&1 == 0 {
		out[w-1] = uint8((3*tl + l + 2) >> 2)
	}
}

// ycbcrToRGBWebP converts the 4:2:0 planes of a lossy WebP frame like
// libwebp's default decoder (EmitFancyRGB): output row 0 and, for an even
// height, the last row use one chroma row twice; rows 2k−1 and 2k use chroma
// rows k−1 and k. Images whose bounds do not start at the origin or whose
// layout is not 4:2:0 fall back to the JPEG rules.
func ycbcrToRGBWebP(m *image.YCbCr) *RGB {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		return ycbcrToRGBJPEG(m)
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dst := NewRGB(image.Rect(0, 0, w, h))
	if w == 0 || h == 0 {
		return dst
	}
	uvw := (w + 1) / 2
	uvh := (h + 1) / 2
	crow := func(p []uint8, r int) []uint8 { return p[r*m.CStride:][:uvw] }
	kernels.Parallel(h, 16, func(lo, hi int) {
		cb := make([]uint8, w+1)
		cr := make([]uint8, w+1)
		for y := lo; y < hi; y++ {
			var near, far int
			switch {
			case y == 0:
				near, far = 0, 0
			case y&1 == 1: // top line of the pair (k-1, k), k = (y+1)/2
				k := (y + 1) / 2
				near, far = k-1, min(k, uvh-1)
				if y == h-1 && h&1 == 0 {
					near, far = k-1, k-1
				}
			default: // bottom line, k = y/2
				k := y / 2
				near, far = k, k-1
			}
			webpUpsampleRow(crow(m.Cb, near), crow(m.Cb, far), w, cb)
			webpUpsampleRow(crow(m.Cr, near), crow(m.Cr, far), w, cr)
			yrow := m.Y[y*m.YStride:][:w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x, yv := range yrow {
				webpYUVToRGB(int32(yv), int32(cb[x]), int32(cr[x]), row[3*x:3*x+3])
			}
		}
	})
	return dst
}
