package datasets

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestYCbCrSubImages converts random Y'CbCr images of every subsampling
// ratio, and sub-images at odd offsets, checking sizes and that a flat
// image converts to the flat colour libjpeg gives.
func TestYCbCrSubImages(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, ratio := range ratios {
		for trial := 0; trial < 20; trial++ {
			w, h := 1+r.IntN(19), 1+r.IntN(13)
			m := image.NewYCbCr(image.Rect(0, 0, w, h), ratio)
			for i := range m.Y {
				m.Y[i] = uint8(r.Uint32())
			}
			for i := range m.Cb {
				m.Cb[i], m.Cr[i] = uint8(r.Uint32()), uint8(r.Uint32())
			}
			for _, img := range []image.Image{m, m.SubImage(image.Rect(r.IntN(w), r.IntN(h), w, h))} {
				b := img.Bounds()
				for _, got := range []*RGB{ToRGB(img), ycbcrToRGBWebP(img.(*image.YCbCr))} {
					if got.Rect.Dx() != b.Dx() || got.Rect.Dy() != b.Dy() || len(got.Pix) != 3*b.Dx()*b.Dy() {
						t.Fatalf("%v %v: got %v", ratio, b, got.Rect)
					}
				}
			}
		}
		// Flat colour: every upsampler reproduces it exactly.
		m := image.NewYCbCr(image.Rect(0, 0, 9, 7), ratio)
		for i := range m.Y {
			m.Y[i] = 120
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = 90, 200
		}
		got := ToRGB(m)
		// libjpeg: R = 120 + 1.402·72 = 220.9 → 221, G = 120 + 0.34414·38 −
		// 0.71414·72 = 81.66 → 82, B = 120 − 1.772·38 = 52.66 → 53.
		want := [3]uint8{221, 82, 53}
		for i := 0; i < len(got.Pix); i += 3 {
			if [3]uint8(got.Pix[i:i+3]) != want {
				t.Fatalf("%v: flat pixel %d = %v, want %v", ratio, i/3, got.Pix[i:i+3], want)
			}
		}
	}
}

func TestToRGBModes(t *testing.T) {
	rect := image.Rect(0, 0, 2, 1)
	g16 := image.NewGray16(rect)
	g16.SetGray16(0, 0, color.Gray16{Y: 200})
	g16.SetGray16(1, 0, color.Gray16{Y: 256})
	rgba := image.NewRGBA(rect)
	rgba.SetRGBA(0, 0, color.RGBA{10, 20, 30, 255})
	rgba.SetRGBA(1, 0, color.RGBA{50, 25, 0, 128}) // premultiplied
	cmyk := image.NewCMYK(rect)
	cmyk.SetCMYK(0, 0, color.CMYK{0, 0, 0, 0})
	cmyk.SetCMYK(1, 0, color.CMYK{255, 128, 0, 64})
	n64 := image.NewNRGBA64(rect)
	n64.SetNRGBA64(0, 0, color.NRGBA64{0x1234, 0xabcd, 0xff00, 0})
	pal := image.NewPaletted(rect, color.Palette{color.NRGBA{1, 2, 3, 0}, color.RGBA{4, 5, 6, 255}})
	pal.SetColorIndex(1, 0, 1)
	tests := []struct {
		name string
		img  image.Image
		want []uint8
	}{
		{"gray16 saturates", g16, []uint8{200, 200, 200, 255, 255, 255}},
		{"rgba unpremultiplies", rgba, []uint8{10, 20, 30, 100, 50, 0}},
		// Pillow cmyk2rgb: nk=191, R = 191 − (255·191+128 → 191) = 0,
		// G = 191 − MULDIV255(128, 191) = 191 − 96 = 95, B = 191.
		{"cmyk", cmyk, []uint8{255, 255, 255, 0, 95, 191}},
		{"nrgba64 high byte, alpha ignored", n64, []uint8{0x12, 0xab, 0xff, 0, 0, 0}},
		{"palette keeps stored colour", pal, []uint8{1, 2, 3, 4, 5, 6}},
	}
	for _, tc := range tests {
		got := ToRGB(tc.img)
		if string(got.Pix) != string(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got.Pix, tc.want)
		}
	}
}
