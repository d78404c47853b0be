package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
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

// BenchmarkDecodeJPEG decodes the 480×300 demo photo to RGB with Decode
// (libjpeg-compatible IDCT, fancy upsampling; Pillow-exact) and, as the
// in-process anchor, with image/jpeg followed by the same conversion.
func BenchmarkDecodeJPEG(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "photos", "ladybird.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("datasets", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := (*Options)(nil).decodeBytes(data, "ladybird.jpg"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			m, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			ToRGB(m)
		}
	})
}

// resampleRef is the plain definition of the 8-bit passes (Pillow's loops
// with one int32 accumulator per channel), the twin of resample's packed
// 64-bit horizontal pass.
func resampleRef(pix []uint8, W, H, ch, w, h int, f Filter) []uint8 {
	hc := precomputeCoeffs(W, w, f)
	vc := precomputeCoeffs(H, h, f)
	tmp := make([]uint8, H*w*ch)
	for y := 0; y < H; y++ {
		for xx := 0; xx < w; xx++ {
			for c := 0; c < ch; c++ {
				acc := int32(1 << (precisionBits - 1))
				for t := 0; t < hc.count[xx]; t++ {
					acc += int32(pix[(y*W+hc.start[xx]+t)*ch+c]) * hc.k[xx*hc.ksize+t]
				}
				tmp[(y*w+xx)*ch+c] = clip8(acc)
			}
		}
	}
	out := make([]uint8, h*w*ch)
	for yy := 0; yy < h; yy++ {
		for j := 0; j < w*ch; j++ {
			acc := int32(1 << (precisionBits - 1))
			for t := 0; t < vc.count[yy]; t++ {
				acc += int32(tmp[(vc.start[yy]+t)*w*ch+j]) * vc.k[yy*vc.ksize+t]
			}
			out[yy*w*ch+j] = clip8(acc)
		}
	}
	return out
}

func TestResampleMatchesPlainDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 60; trial++ {
		W, H := 1+r.IntN(90), 1+r.IntN(70)
		w, h := 1+r.IntN(120), 1+r.IntN(90)
		ch := []int{1, 3}[r.IntN(2)]
		f := Filter(r.IntN(5))
		pix := make([]uint8, W*H*ch)
		for i := range pix {
			switch trial % 3 {
			case 0: // extremes: maximal overshoot of the negative lobes
				pix[i] = uint8(255 * (i / ch % 2))
			default:
				pix[i] = uint8(r.Uint32())
			}
		}
		got, err := resample(pix, W, H, ch, w, h, f)
		if err != nil {
			t.Fatal(err)
		}
		want := resampleRef(pix, W, H, ch, w, h, f)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v %dx%dx%d → %dx%d: byte %d = %d, definition %d", f, W, H, ch, w, h, i, got[i], want[i])
			}
		}
	}
}
