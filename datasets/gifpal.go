package datasets

import (
	"image"
	"image/color"
)

// Go's image/gif blanks the palette entry of the transparent index to
// color.RGBA{} while Pillow's convert("RGB") shows that entry's stored
// colour. gifFirstPalette re-reads the colour table used by the first frame
// (its local table, else the global one) so Decode can restore it.
func gifFirstPalette(b []byte) []byte {
	if len(b) < 13 {
		return nil
	}
	var global []byte
	i := 13
	if f := b[10]; f&0x80 != 0 {
		n := 3 << (int(f&7) + 1)
		if i+n > len(b) {
			return nil
		}
		global = b[i : i+n]
		i += n
	}
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then sub-blocks
			i += 2
			for i < len(b) && b[i] != 0 {
				i += int(b[i]) + 1
			}
			i++
		case 0x2c: // image descriptor
			if i+10 > len(b) {
				return nil
			}
			if f := b[i+9]; f&0x80 != 0 {
				n := 3 << (int(f&7) + 1)
				if i+10+n > len(b) {
					return nil
				}
				return b[i+10 : i+10+n]
			}
			return global
		default:
			return nil
		}
	}
	return nil
}

// gifFirstFrame turns gif.Decode's first frame into the image Pillow shows:
// the frame's transparent palette entry gets its stored colour back, and a
// frame smaller than the logical screen (w×h) is placed on a screen-sized
// canvas filled with the transparent index, or index 0 without one
// (GifImagePlugin's load_prepare for frame 0).
func gifFirstFrame(m image.Image, file []byte, w, h int) image.Image {
	p, ok := m.(*image.Paletted)
	if !ok {
		return m
	}
	fill := uint8(0)
	for i, c := range p.Palette {
		if _, _, _, a := c.RGBA(); a == 0 && i < 256 {
			fill = uint8(i)
			break
		}
	}
	restoreGIFTransparent(p, file)
	screen := image.Rect(0, 0, w, h)
	if p.Rect == screen {
		return p
	}
	canvas := image.NewPaletted(screen, p.Palette)
	for i := range canvas.Pix {
		canvas.Pix[i] = fill
	}
	r := p.Rect.Intersect(screen)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(r.Min.X, y):][:r.Dx()], p.Pix[p.PixOffset(r.Min.X, y):][:r.Dx()])
	}
	return canvas
}

// restoreGIFTransparent puts the stored colours back into the fully
// transparent palette entries of a decoded first frame.
func restoreGIFTransparent(p *image.Paletted, file []byte) {
	table := gifFirstPalette(file)
	var pal color.Palette
	for i, c := range p.Palette {
		if _, _, _, a := c.RGBA(); a != 0 || 3*i+3 > len(table) {
			continue
		}
		if pal == nil { // the palette may be shared: copy before writing
			pal = append(color.Palette(nil), p.Palette...)
		}
		pal[i] = color.RGBA{table[3*i], table[3*i+1], table[3*i+2], 255}
	}
	if pal != nil {
		p.Palette = pal
	}
}
