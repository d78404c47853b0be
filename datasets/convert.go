package datasets

import (
	"image"
	"image/color"
)

// ToRGB converts any image to 8-bit RGB by the rules of Pillow's
// Image.convert("RGB") on the image Pillow would have decoded from the same
// file:
//
//   - RGBA / NRGBA (8 or 16 bit): alpha is dropped without compositing (the
//     stored, non-premultiplied colour is kept; a premultiplied image.RGBA
//     whose alpha is below 255 is un-premultiplied first);
//   - 16-bit colour (RGB;16B, RGBA;16B, LA;16B in Pillow): the high byte;
//   - 8-bit grayscale (L): replicated into R, G and B;
//   - 16-bit grayscale (Pillow mode I;16): saturated, v > 255 → 255 (Pillow's
//     I16_RGB; it does not take the high byte, so a typical 16-bit gray photo
//     turns mostly white — that is what Pillow does and what timm sees);
//   - paletted (P): the palette colour;
//   - CMYK: Pillow's cmyk2rgb, R = clip(255−K − (C·(255−K))/255) with its
//     MULDIV255 rounding;
//   - YCbCr (JPEG): libjpeg(-turbo)'s "fancy" triangular chroma upsampling
//     and its fixed-point YCbCr→RGB tables, the path Pillow takes (exact
//     when the planes come from Decode's libjpeg-compatible decoder; planes
//     from image/jpeg carry its IDCT's rounding, up to 3 levels).
//
// WebP images are converted by Decode with libwebp's rules instead (see
// decode.go); ToRGB on an image.YCbCr always assumes JPEG (JFIF) semantics.
// The result has its origin at (0, 0). If img is already an *RGB at the
// origin with a packed stride it is returned as is.
func ToRGB(img image.Image) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *RGB:
		return m.compact()
	case *image.YCbCr:
		return ycbcrToRGBJPEG(m)
	case *image.NYCbCrA:
		return ycbcrToRGBJPEG(&m.YCbCr)
	}
	dst := NewRGB(image.Rect(0, 0, w, h))
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x, v := range src {
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				v := sat16(src[2*x], src[2*x+1])
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				r, g, bb, a := src[4*x], src[4*x+1], src[4*x+2], src[4*x+3]
				if a != 255 {
					r, g, bb = unpremul(r, a), unpremul(g, a), unpremul(bb, a)
				}
				row[3*x], row[3*x+1], row[3*x+2] = r, g, bb
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = src[8*x], src[8*x+2], src[8*x+4]
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				if src[8*x+6] == 0xff && src[8*x+7] == 0xff {
					row[3*x], row[3*x+1], row[3*x+2] = src[8*x], src[8*x+2], src[8*x+4]
					continue
				}
				c := color.NRGBA64Model.Convert(m.RGBA64At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				row[3*x], row[3*x+1], row[3*x+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				row[3*x], row[3*x+1], row[3*x+2] = cmykToRGB(src[4*x], src[4*x+1], src[4*x+2], src[4*x+3])
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i == 256 {
				break
			}
			lut[i] = paletteRGB(c)
		}
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x, idx := range src {
				p := lut[idx]
				row[3*x], row[3*x+1], row[3*x+2] = p[0], p[1], p[2]
			}
		}
	default:
		for y := 0; y < h; y++ {
			row := dst.Pix[y*dst.Stride:][:3*w]
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				row[3*x], row[3*x+1], row[3*x+2] = c.R, c.G, c.B
			}
		}
	}
	return dst
}

// ToGray converts an image to 8-bit grayscale like Pillow's convert("L"):
// gray images are kept (16-bit gray saturates at 255, Pillow's I;16 → L), and
// colour goes through ToRGB and then ITU-R 601-2 luma in Pillow's fixed
// point, L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
// The result has its origin at (0, 0).
func ToGray(img image.Image) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst := image.NewGray(image.Rect(0, 0, w, h))
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(dst.Pix[y*dst.Stride:][:w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w])
		}
		return dst
	case *image.Gray16:
		for y := 0; y < h; y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			row := dst.Pix[y*dst.Stride:][:w]
			for x := range row {
				row[x] = sat16(src[2*x], src[2*x+1])
			}
		}
		return dst
	}
	rgb := ToRGB(img)
	for y := 0; y < h; y++ {
		src := rgb.Pix[y*rgb.Stride:][:3*w]
		row := dst.Pix[y*dst.Stride:][:w]
		for x := range row {
			row[x] = luma(src[3*x], src[3*x+1], src[3*x+2])
		}
	}
	return dst
}

// luma is Pillow's L24 macro: ITU-R 601-2 weights in 16-bit fixed point.
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// sat16 is Pillow's I;16 → 8-bit rule for a big-endian sample: values above
// 255 saturate.
func sat16(hi, lo uint8) uint8 {
	if hi != 0 {
		return 255
	}
	return lo
}

func unpremul(c, a uint8) uint8 {
	if a == 0 {
		return 0
	}
	v := (uint32(c)*255 + uint32(a)/2) / uint32(a)
	if v > 255 {
		v = 255
	}
	return uint8(v)
}

func paletteRGB(c color.Color) [3]uint8 {
	switch p := c.(type) {
	case color.NRGBA:
		return [3]uint8{p.R, p.G, p.B}
	case color.RGBA:
		if p.A == 255 {
			return [3]uint8{p.R, p.G, p.B}
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}

// muldiv255 is Pillow's MULDIV255: a·b/255 rounded, in integers.
func muldiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// cmykToRGB is Pillow's cmyk2rgb.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	nk := 255 - int(k)
	return clip8i(nk - muldiv255(int(c), nk)), clip8i(nk - muldiv255(int(m), nk)), clip8i(nk - muldiv255(int(y), nk))
}

func clip8i(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
