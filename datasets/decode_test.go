package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/webp"
)

// pillowRef reads testdata/<name>.pillow.png, Pillow's convert("RGB") of the
// file (made by testdata/gen.py).
func pillowRef(t *testing.T, name string) *RGB {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".pillow.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return ToRGB(m)
}

type diffStats struct {
	max      int
	mean     float64
	differ   int
	total    int
	hist     [4]int // |d| = 1, 2, 3, ≥4
	sameSize bool
}

func compareRGB(a, b *RGB) diffStats {
	s := diffStats{sameSize: a.Rect.Size() == b.Rect.Size()}
	if !s.sameSize {
		return s
	}
	sum := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			s.differ++
			s.hist[min(d, 4)-1]++
		}
		sum += d
		s.max = max(s.max, d)
	}
	s.total = len(a.Pix)
	s.mean = float64(sum) / float64(len(a.Pix))
	return s
}

func (s diffStats) String() string {
	return fmt.Sprintf("max %d, mean %.4f, %d/%d values differ (|d|=1:%d 2:%d 3:%d ≥4:%d)",
		s.max, s.mean, s.differ, s.total, s.hist[0], s.hist[1], s.hist[2], s.hist[3])
}

// TestDecodeMatchesPillow decodes every fixture and compares with Pillow 9.4
// (Debian, libjpeg-turbo 2.1, libwebp 1.2). maxDiff 0 means bit-exact.
func TestDecodeMatchesPillow(t *testing.T) {
	tests := []struct {
		file    string
		maxDiff int
		maxMean float64
		wantErr string // x/image/tiff has no CMYK; Pillow does
	}{
		{"rgb8.png", 0, 0, ""},
		{"rgba8.png", 0, 0, ""},
		{"la8.png", 0, 0, ""},
		{"palette.png", 0, 0, ""},
		{"gray16.png", 0, 0, ""},
		{"rgb16.png", 0, 0, ""},
		{"rgb.bmp", 0, 0, ""},
		{"palette.gif", 0, 0, ""},
		{"transparent.gif", 0, 0, ""},
		{"offset.gif", 0, 0, ""},
		{"offset_transparent.gif", 0, 0, ""},
		{"rgb.tiff", 0, 0, ""},
		{"cmyk.tiff", 0, 0, "cmyk.tiff: bad tiff header: tiff: unsupported feature: color model"},
		{"lossless.webp", 0, 0, ""},
		{"rgba.bmp", 0, 0, ""},
		{"gray.bmp", 0, 0, ""},
		{"palette.bmp", 0, 0, ""},
		{"bilevel.png", 0, 0, ""},
		{"gray.tiff", 0, 0, ""},
		{"lzw.tiff", 0, 0, ""},
		{"deflate.tiff", 0, 0, ""},
		{"rgba.tiff", 0, 0, ""},
		{"palette.tiff", 0, 0, ""},
		{"gray16.tiff", 0, 0, "gray16.tiff: bad tiff header: tiff: unsupported feature: sample format"},
		{"la.webp", 0, 0, ""},
		{"rgba.webp", 0, 0, ""},
		{"gray.webp", 0, 0, ""},
		{"photo.webp", 0, 0, ""},
		{"odd.webp", 0, 0, ""},
		{"gray.jpg", 0, 0, ""},
		{"cmyk.jpg", 0, 0, ""},
		{"photo_444.jpg", 0, 0, ""},
		{"photo_422.jpg", 0, 0, ""},
		{"photo_420.jpg", 0, 0, ""},
		{"photo_progressive.jpg", 0, 0, ""},
		{"odd_444.jpg", 0, 0, ""},
		{"odd_422.jpg", 0, 0, ""},
		{"odd_420.jpg", 0, 0, ""},
		{"odd_440.jpg", 0, 0, ""},
		{"exif6.jpg", 0, 0, ""},
		{"restart_rows.jpg", 0, 0, ""},
		{"restart_mcus.jpg", 0, 0, ""},
		{"s411.jpg", 0, 0, ""},
		{"q16.jpg", 0, 0, ""},
		{"optimize_prog.jpg", 0, 0, ""},
		{"gray_prog.jpg", 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			img, err := DecodeFile(filepath.Join("testdata", tc.file))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := img.(*RGB)
			if !ok {
				t.Fatalf("Decode returned %T, want *RGB", img)
			}
			want := pillowRef(t, tc.file)
			s := compareRGB(got, want)
			if !s.sameSize {
				t.Fatalf("size %v, Pillow %v", got.Rect.Size(), want.Rect.Size())
			}
			t.Logf("vs Pillow: %v", s)
			if strings.HasSuffix(tc.file, ".webp") {
				raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
				if err != nil {
					t.Fatal(err)
				}
				m, err := webp.Decode(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("plain x/image/webp At(): %v", compareRGB(goAtRGB(m), want))
			}
			if strings.HasSuffix(tc.file, ".jpg") {
				// For the record: Go's own conversion (nearest chroma,
				// color.YCbCrToRGB) on the same decoded planes.
				raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
				if err != nil {
					t.Fatal(err)
				}
				m, err := jpeg.Decode(bytes.NewReader(raw))
				if err != nil {
					t.Logf("plain image/jpeg cannot decode it: %v", err)
				} else {
					t.Logf("plain image/jpeg At(): %v", compareRGB(Orient(goAtRGB(m), orientationOf(raw)), want))
				}
			}
			if s.max > tc.maxDiff || s.mean > tc.maxMean {
				t.Errorf("vs Pillow: %v; allowed max %d mean %.3f", s, tc.maxDiff, tc.maxMean)
			}
		})
	}
}

// goAtRGB converts through image.Image.At, i.e. Go's standard colour path.
func goAtRGB(m image.Image) *RGB {
	b := m.Bounds()
	out := NewRGB(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.RGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
			i := out.PixOffset(x, y)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
		}
	}
	return out
}

func orientationOf(file []byte) int {
	o, err := Orientation(file)
	if err != nil {
		return 1
	}
	return o
}
