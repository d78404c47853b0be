package datasets

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gomamba/gomamba/kernels"
)

func TestShorterSideSize(t *testing.T) {
	tests := []struct{ w, h, s, nw, nh int }{
		{500, 312, 256, 410, 256},
		{333, 517, 256, 256, 397},
		{7, 5, 256, 358, 256},
		{300, 300, 256, 256, 256},
		{500, 375, 256, 341, 256}, // 341.33 truncated
		{375, 500, 248, 248, 330}, // 330.67 truncated
	}
	for _, tc := range tests {
		if nw, nh := ShorterSideSize(tc.w, tc.h, tc.s); nw != tc.nw || nh != tc.nh {
			t.Errorf("ShorterSideSize(%d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.s, nw, nh, tc.nw, tc.nh)
		}
	}
	if s := ImageNetEval.ResizeSize(); s != 256 {
		t.Errorf("ImageNetEval resize %d", s)
	}
	if s := TimmDeiTEval.ResizeSize(); s != 248 {
		t.Errorf("TimmDeiTEval resize %d", s)
	}
}

func TestCenterCropPacked(t *testing.T) {
	row := func(w int) []uint8 { // 1×w image 0..w-1
		p := make([]uint8, w)
		for i := range p {
			p[i] = uint8(i)
		}
		return p
	}
	tests := []struct {
		name      string
		w, cw     int
		wantFirst uint8
	}{
		{"58.5 rounds to 58", 341, 224, 58},
		{"59.5 rounds to 60", 343, 224, 60},
		{"59 exact", 342, 224, 59},
	}
	for _, tc := range tests {
		out, w, h := CenterCropPacked(row(tc.w), tc.w, 1, 1, tc.cw, 1)
		if w != tc.cw || h != 1 || out[0] != tc.wantFirst {
			t.Errorf("%s: first %d (size %d×%d), want %d", tc.name, out[0], w, h, tc.wantFirst)
		}
	}
	// Smaller than the crop: zero padding, left/top get the floor half.
	src := []uint8{1, 2, 3, 4, 5, 6} // 3×2
	out, w, h := CenterCropPacked(src, 3, 2, 1, 6, 5)
	want := []uint8{
		0, 0, 0, 0, 0, 0,
		0, 1, 2, 3, 0, 0,
		0, 4, 5, 6, 0, 0,
		0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0,
	}
	if w != 6 || h != 5 {
		t.Fatalf("padded size %d×%d", w, h)
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Fatalf("padded crop (-want +got)\n%s", diff)
	}
	// Padded on one axis, cropped on the other.
	out, w, h = CenterCropPacked(src, 3, 2, 1, 1, 4)
	if diff := cmp.Diff([]uint8{0, 2, 5, 0}, out); diff != "" || w != 1 || h != 4 {
		t.Fatalf("mixed crop %d×%d (-want +got)\n%s", w, h, diff)
	}
}

func TestEvalTransformShapes(t *testing.T) {
	img := NewRGB(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	tests := []struct {
		name  string
		tr    EvalTransform
		shape []int
		err   bool
	}{
		{"rgb", EvalTransform{Size: 16, CropPct: 0.875, Mean: ImageNetMean, Std: ImageNetStd}, []int{3, 16, 16}, false},
		{"gray", EvalTransform{Size: 8, CropPct: 1, Mean: [3]float32{0.5}, Std: [3]float32{0.5}, Grayscale: true, Interpolation: "bilinear"}, []int{1, 8, 8}, false},
		{"bad size", EvalTransform{Size: 0}, nil, true},
		{"bad crop", EvalTransform{Size: 8, CropPct: 1.5}, nil, true},
		{"bad interp", EvalTransform{Size: 8, Interpolation: "nearest"}, nil, true},
	}
	for _, tc := range tests {
		out, err := tc.tr.Apply(img)
		if tc.err {
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.shape, out.Shape()); diff != "" {
			t.Errorf("%s: shape (-want +got)\n%s", tc.name, diff)
		}
	}
	// Grayscale with mean/std 0.5: a uniform 255 image maps to exactly 1.
	white := NewRGB(image.Rect(0, 0, 9, 9))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	out, err := EvalTransform{Size: 4, CropPct: 1, Mean: [3]float32{0.5}, Std: [3]float32{0.5}, Grayscale: true}.Apply(white)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Data {
		if v != 1 {
			t.Fatalf("white → %v, want 1", v)
		}
	}
}

func TestNativeTransform(t *testing.T) {
	img := NewRGB(image.Rect(0, 0, 50, 30))
	tests := []struct {
		tr     NativeTransform
		w, h   int
		resize bool
	}{
		{NativeTransform{}, 50, 30, false},
		{NativeTransform{Width: 64, Height: 32}, 64, 32, true},
		{NativeTransform{Multiple: 16}, 48, 32, true},
		{NativeTransform{MaxSide: 25}, 25, 15, true},
		{NativeTransform{MaxSide: 25, Multiple: 16}, 32, 16, true},
		{NativeTransform{Multiple: 100}, 100, 100, true},
	}
	for _, tc := range tests {
		w, h := tc.tr.TargetSize(50, 30)
		if w != tc.w || h != tc.h {
			t.Errorf("%+v: target %d×%d, want %d×%d", tc.tr, w, h, tc.w, tc.h)
		}
		tc.tr.Mean, tc.tr.Std = ImageNetMean, ImageNetStd
		out, err := tc.tr.Apply(img)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{3, tc.h, tc.w}, out.Shape()); diff != "" {
			t.Errorf("%+v: shape (-want +got)\n%s", tc.tr, diff)
		}
		// Black normalises to -mean/std.
		if want := -ImageNetMean[0] / ImageNetStd[0]; math.Abs(float64(out.Data[0]-want)) > 1e-6 {
			t.Errorf("black pixel → %v, want %v", out.Data[0], want)
		}
	}
}

func TestToGrayPillowLuma(t *testing.T) {
	tests := []struct {
		r, g, b, want uint8
	}{
		{255, 255, 255, 255},
		{0, 0, 0, 0},
		{255, 0, 0, 76},  // 0.299·255 = 76.2
		{0, 255, 0, 150}, // 0.587·255 = 149.7
		{0, 0, 255, 29},  // 0.114·255 = 29.1
		{10, 20, 30, 18},
	}
	for _, tc := range tests {
		img := NewRGB(image.Rect(0, 0, 1, 1))
		copy(img.Pix, []uint8{tc.r, tc.g, tc.b})
		if got := ToGray(img).Pix[0]; got != tc.want {
			t.Errorf("L(%d,%d,%d) = %d, want %d", tc.r, tc.g, tc.b, got, tc.want)
		}
	}
}

func TestApplyIntoBatch(t *testing.T) {
	a := NewRGB(image.Rect(0, 0, 30, 20))
	b := NewRGB(image.Rect(0, 0, 20, 30))
	for i := range a.Pix {
		a.Pix[i], b.Pix[i] = uint8(i), uint8(3*i)
	}
	tr := EvalTransform{Size: 8, CropPct: 0.875, Mean: ImageNetMean, Std: ImageNetStd}
	batch := kernels.New(2, 3, 8, 8)
	for i, img := range []image.Image{a, b} {
		if err := tr.ApplyInto(batch.Narrow0(i, 1), img); err != nil {
			t.Fatal(err)
		}
		want, err := tr.Apply(img)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Data, batch.Narrow0(i, 1).Data); diff != "" {
			t.Fatalf("item %d (-want +got)\n%s", i, diff)
		}
	}
	for _, bad := range []*kernels.Tensor{nil, kernels.New(3, 8, 7), kernels.New(192), kernels.New(1, 8, 8)} {
		if err := tr.ApplyInto(bad, a); err == nil {
			t.Errorf("ApplyInto(%v): no error", bad)
		}
	}
	if _, err := tr.Apply(&RGB{}); err == nil {
		t.Error("empty image: no error")
	}
}

func TestLoadBatch(t *testing.T) {
	paths := []string{
		filepath.Join("testdata", "rgb8.png"),
		filepath.Join("testdata", "photo.webp"),
		filepath.Join("testdata", "gray.jpg"),
	}
	tr := EvalTransform{Size: 32, CropPct: 0.875, Mean: ImageNetMean, Std: ImageNetStd}
	batch, err := tr.LoadBatch(context.Background(), paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{3, 3, 32, 32}, batch.Shape()); diff != "" {
		t.Fatalf("shape (-want +got)\n%s", diff)
	}
	for i, p := range paths {
		img, err := DecodeFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tr.Apply(img)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Data, batch.Narrow0(i, 1).Data); diff != "" {
			t.Fatalf("item %d differs from Apply", i)
		}
	}
	bad := append(append([]string(nil), paths...), filepath.Join("testdata", "gen.py"))
	if _, err := tr.LoadBatch(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), "gen.py") {
		t.Fatalf("bad file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.LoadBatch(ctx, paths, nil); err == nil {
		t.Fatal("cancelled context: no error")
	}
	if _, err := tr.LoadBatch(context.Background(), nil, nil); err == nil {
		t.Fatal("no paths: no error")
	}
}
