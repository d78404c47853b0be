package datasets

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func readPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestResizeMatchesPillow compares every filter, RGB and L, against Pillow
// 9.4's Image.resize (testdata/gen.py): byte for byte.
func TestResizeMatchesPillow(t *testing.T) {
	src := ToRGB(readPNG(t, filepath.Join("testdata", "rgb8.png")))
	gray := ToGray(src)
	for _, f := range []Filter{Bicubic, Bilinear, Box, Hamming, Lanczos} {
		for _, sz := range [][2]int{{29, 53}, {7, 5}, {61, 20}} {
			name := fmt.Sprintf("resize_%v_%dx%d", f, sz[0], sz[1])
			t.Run(name, func(t *testing.T) {
				got, err := ResizeRGB(src, sz[0], sz[1], f)
				if err != nil {
					t.Fatal(err)
				}
				want := ToRGB(readPNG(t, filepath.Join("testdata", name+".png")))
				if s := compareRGB(got, want); s.max != 0 || !s.sameSize {
					t.Fatalf("RGB vs Pillow: %v", s)
				}
				g, err := ResizeGray(gray, sz[0], sz[1], f)
				if err != nil {
					t.Fatal(err)
				}
				wg := ToGray(readPNG(t, filepath.Join("testdata", name+"_L.png")))
				for i := range wg.Pix {
					if g.Pix[i] != wg.Pix[i] {
						t.Fatalf("L vs Pillow: pixel %d got %d want %d", i, g.Pix[i], wg.Pix[i])
					}
				}
			})
		}
	}
}

func TestPrecomputeCoeffs(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		f       Filter
	}{{500, 256, Bicubic}, {7, 358, Bicubic}, {4000, 256, Bicubic}, {100, 100, Bilinear}, {33, 10, Lanczos}} {
		c := precomputeCoeffs(tc.in, tc.out, tc.f)
		for i := range c.start {
			if c.start[i] < 0 || c.start[i]+c.count[i] > tc.in || c.count[i] > c.ksize || c.count[i] == 0 {
				t.Fatalf("%+v: output %d reads [%d, %d) ksize %d", tc, i, c.start[i], c.start[i]+c.count[i], c.ksize)
			}
			sum := int64(0)
			for _, k := range c.k[i*c.ksize : i*c.ksize+c.count[i]] {
				sum += int64(k)
			}
			// Rounded 22-bit weights that sum to 1 within the rounding.
			if d := math.Abs(float64(sum - 1<<precisionBits)); d > float64(c.count[i]) {
				t.Fatalf("%+v: output %d weights sum %d", tc, i, sum)
			}
		}
	}
	// Same size with Bilinear is the identity.
	c := precomputeCoeffs(5, 5, Bilinear)
	for i := range c.start {
		// Support 1 at scale 1 touches i−1..i+1 with weights 0, 1, 0.
		if c.k[i*c.ksize+i-c.start[i]] != 1<<precisionBits {
			t.Fatalf("identity weight at %d: %v", i, c.k[i*c.ksize:(i+1)*c.ksize])
		}
	}
}

func TestResizeErrors(t *testing.T) {
	src := NewRGB(image.Rect(0, 0, 4, 4))
	for _, tc := range []struct{ w, h int }{{0, 4}, {4, -1}, {1 << 20, 1 << 20}} {
		if _, err := ResizeRGB(src, tc.w, tc.h, Bicubic); err == nil {
			t.Errorf("resize to %dx%d: no error", tc.w, tc.h)
		}
	}
	if _, err := ResizeRGB(&RGB{}, 4, 4, Bicubic); err == nil {
		t.Error("resize of empty image: no error")
	}
	if _, err := ParseFilter("nearest"); err == nil {
		t.Error("nearest accepted")
	}
	if f, err := ParseFilter(" BiLinear "); err != nil || f != Bilinear {
		t.Errorf("ParseFilter: %v %v", f, err)
	}
}

// BenchmarkResizeBicubic times ResizeRGB on torchvision's Resize(256) of a
// 12-megapixel photo and of an ImageNet-sized one. When Debian's python3-pil
// is installed, Pillow's time for the same resize (testdata/bench_pillow.py,
// best of several runs, in this same run) is reported beside it as
// pillow-ns/op; the machines are shared and noisy, compare only these pairs.
func BenchmarkResizeBicubic(b *testing.B) {
	for _, sz := range []struct{ w, h, s int }{{4000, 3000, 256}, {500, 375, 256}} {
		b.Run(fmt.Sprintf("%dx%d_to_%d", sz.w, sz.h, sz.s), func(b *testing.B) {
			src := NewRGB(image.Rect(0, 0, sz.w, sz.h))
			for i := range src.Pix {
				src.Pix[i] = uint8(i * 7 / 3)
			}
			nw, nh := ShorterSideSize(sz.w, sz.h, sz.s)
			b.SetBytes(int64(len(src.Pix)))
			b.ResetTimer()
			for b.Loop() {
				if _, err := ResizeRGB(src, nw, nh, Bicubic); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if ns, ok := pillowAnchor(sz.w, sz.h, sz.s); ok {
				b.ReportMetric(ns, "pillow-ns/op")
			}
		})
	}
}

// pillowAnchor runs testdata/bench_pillow.py when python3-pil is available.
func pillowAnchor(w, h, s int) (float64, bool) {
	out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "bench_pillow.py"),
		fmt.Sprintf("%d,%d,%d", w, h, s)).Output()
	if err != nil {
		return 0, false
	}
	var name string
	var ns float64
	if _, err := fmt.Sscan(string(out), &name, &ns); err != nil {
		return 0, false
	}
	return ns, true
}

func BenchmarkEvalTransform(b *testing.B) {
	src := NewRGB(image.Rect(0, 0, 500, 375))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7 / 3)
	}
	for b.Loop() {
		if _, err := ImageNetEval.Apply(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJPEG(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "photos", "ladybird.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := (*Options)(nil).decodeBytes(data, "ladybird.jpg"); err != nil {
			b.Fatal(err)
		}
	}
}
