package datasets

import (
	"image"
	"image/color"
)

// RGB is an in-memory 8-bit RGB image, 3 bytes per pixel with no alpha: the
// Go twin of a Pillow "RGB" image. Pixel (x, y) starts at
// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)*3].
//
// An RGB is not safe for concurrent mutation; concurrent reads are fine.
type RGB struct {
	// Pix holds the pixels in R, G, B order, row after row.
	Pix []uint8
	// Stride is the distance in bytes between vertically adjacent pixels.
	Stride int
	// Rect is the image's bounds.
	Rect image.Rectangle
}

// NewRGB returns a black RGB image with the given bounds.
func NewRGB(r image.Rectangle) *RGB {
	w, h := r.Dx(), r.Dy()
	return &RGB{Pix: make([]uint8, 3*w*h), Stride: 3 * w, Rect: r}
}

// ColorModel returns color.RGBAModel (every pixel is opaque).
func (p *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds returns the image's bounds.
func (p *RGB) Bounds() image.Rectangle { return p.Rect }

// At returns the pixel at (x, y) as an opaque color.RGBA (black outside the
// bounds).
func (p *RGB) At(x, y int) color.Color { return p.RGBAt(x, y) }

// RGBAt is At without the interface conversion.
func (p *RGB) RGBAt(x, y int) color.RGBA {
	if !(image.Point{x, y}.In(p.Rect)) {
		return color.RGBA{}
	}
	i := p.PixOffset(x, y)
	s := p.Pix[i : i+3 : i+3]
	return color.RGBA{s[0], s[1], s[2], 255}
}

// Set stores c (converted like Pillow's convert("RGB"): alpha dropped from
// the non-premultiplied colour) at (x, y).
func (p *RGB) Set(x, y int, c color.Color) {
	if !(image.Point{x, y}.In(p.Rect)) {
		return
	}
	i := p.PixOffset(x, y)
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	p.Pix[i], p.Pix[i+1], p.Pix[i+2] = n.R, n.G, n.B
}

// PixOffset returns the index of the first byte of pixel (x, y) in Pix.
func (p *RGB) PixOffset(x, y int) int {
	return (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*3
}

// SubImage returns the part of p visible through r, sharing pixels with p.
func (p *RGB) SubImage(r image.Rectangle) image.Image {
	r = r.Intersect(p.Rect)
	if r.Empty() {
		return &RGB{}
	}
	i := p.PixOffset(r.Min.X, r.Min.Y)
	return &RGB{Pix: p.Pix[i:], Stride: p.Stride, Rect: r}
}

// compact returns p with Rect.Min at the origin and Stride == 3·width,
// copying only when needed.
func (p *RGB) compact() *RGB {
	w, h := p.Rect.Dx(), p.Rect.Dy()
	if p.Rect.Min == (image.Point{}) && p.Stride == 3*w && len(p.Pix) == 3*w*h {
		return p
	}
	q := NewRGB(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		i := p.PixOffset(p.Rect.Min.X, p.Rect.Min.Y+y)
		copy(q.Pix[y*q.Stride:(y+1)*q.Stride], p.Pix[i:i+3*w])
	}
	return q
}
