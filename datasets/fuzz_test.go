package datasets

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func addTestdataSeeds(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("testdata", p))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder path (sniffing, header
// limits, the six codecs, RGB conversion, EXIF orientation): it must return
// an image or an error, never panic or run away with memory.
func FuzzDecode(f *testing.F) {
	addTestdataSeeds(f, "odd*.jpg", "exif6.jpg", "gray.jpg", "cmyk.jpg", "*.webp", "rgb8.png", "rgba8.png",
		"la8.png", "palette.png", "gray16.png", "rgb16.png", "*.gif", "*.bmp", "*.tiff")
	opt := &Options{MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := opt.Decode(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		r, ok := img.(*RGB)
		if !ok {
			t.Fatalf("Decode returned %T", img)
		}
		if w, h := r.Rect.Dx(), r.Rect.Dy(); w <= 0 || h <= 0 || len(r.Pix) != 3*w*h || int64(w)*int64(h) > opt.MaxPixels {
			t.Fatalf("bad image %v with %d bytes", r.Rect, len(r.Pix))
		}
	})
}

// FuzzEXIF checks the EXIF/container scanners on arbitrary bytes, both as a
// whole file and as a raw TIFF block.
func FuzzEXIF(f *testing.F) {
	addTestdataSeeds(f, "exif6.jpg", "rgb.tiff", "odd.webp", "rgb8.png")
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x03\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fn := range []func([]byte) (int, error){Orientation, TIFFOrientation} {
			o, err := fn(b)
			if err == nil && (o < 1 || o > 8) {
				t.Fatalf("orientation %d without error", o)
			}
		}
	})
}

// FuzzJPEG drives the libjpeg-compatible decoder directly (no recover, no
// fallback): any panic or runaway loop is a bug.
func FuzzJPEG(f *testing.F) {
	addTestdataSeeds(f, "odd*.jpg", "exif6.jpg", "restart*.jpg", "s411.jpg", "q16.jpg", "gray_prog.jpg")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeJPEGExactUnguarded(b, 1<<20)
		if err != nil {
			return
		}
		if r := m.Bounds(); r.Dx() <= 0 || r.Dy() <= 0 || int64(r.Dx())*int64(r.Dy()) > 1<<20 {
			t.Fatalf("bad bounds %v", r)
		}
		ToRGB(m)
	})
}
