package datasets

import (
	"fmt"
	"math/rand/v2"
)

// Training-time augmentation on packed 8-bit images (ch interleaved
// channels, row-major, w×h). These follow torchvision's RandomCrop(size,
// padding) and RandomHorizontalFlip(p) semantics; they take an explicit
// *rand.Rand so runs are reproducible, and are safe for concurrent use with
// distinct generators and buffers.

// RandomCropPad zero-pads src by pad pixels on every side and copies a
// random w×h window into dst (len w·h·ch), like torchvision
// RandomCrop(size=(h, w), padding=pad): the window's top-left corner is
// uniform over all positions in the padded image.
func RandomCropPad(dst, src []uint8, w, h, ch, pad int, r *rand.Rand) error {
	if len(src) != w*h*ch || len(dst) != len(src) || pad < 0 || ch <= 0 {
		return fmt.Errorf("datasets: RandomCropPad: src %d, dst %d bytes for %d×%d×%d, pad %d", len(src), len(dst), w, h, ch, pad)
	}
	top := r.IntN(2*pad+1) - pad // offset of the window in src coordinates
	left := r.IntN(2*pad+1) - pad
	CropShift(dst, src, w, h, ch, left, top)
	return nil
}

// CropShift writes into dst the w×h window of src starting at (left, top) in
// src coordinates, zero where the window leaves src.
func CropShift(dst, src []uint8, w, h, ch, left, top int) {
	clear(dst)
	x0, x1 := max(0, -left), min(w, w-left)
	if x0 >= x1 {
		return
	}
	for y := 0; y < h; y++ {
		sy := y + top
		if sy < 0 || sy >= h {
			continue
		}
		copy(dst[(y*w+x0)*ch:(y*w+x1)*ch], src[(sy*w+x0+left)*ch:])
	}
}

// HFlip mirrors a packed image left–right in place.
func HFlip(pix []uint8, w, h, ch int) {
	for y := 0; y < h; y++ {
		row := pix[y*w*ch : (y+1)*w*ch]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			for c := 0; c < ch; c++ {
				row[i*ch+c], row[j*ch+c] = row[j*ch+c], row[i*ch+c]
			}
		}
	}
}

// RandomHFlip mirrors pix with probability p and reports whether it did.
func RandomHFlip(pix []uint8, w, h, ch int, p float64, r *rand.Rand) bool {
	if r.Float64() < p {
		HFlip(pix, w, h, ch)
		return true
	}
	return false
}
