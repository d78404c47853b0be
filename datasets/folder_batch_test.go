package datasets

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadImageFolder(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		"dog/b.JPG", "dog/a.png", "dog/notes.txt", "dog/s/x.webp", "dog/s/t/y.png", "dog/s-t/z.jpeg",
		"cat/z.bmp", "cat/y.tiff", "Zebra/q.jpg",
	} {
		touch(t, filepath.Join(root, p))
	}
	touch(t, filepath.Join(root, "stray.jpg")) // files at the root are not classes
	ds, err := LoadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	// Python sorts "Zebra" < "cat" < "dog" (code points); sorted(os.walk())
	// orders folders by path: dog, dog/s, dog/s-t, dog/s/t ('-' < '/').
	if diff := cmp.Diff([]string{"Zebra", "cat", "dog"}, ds.Classes); diff != "" {
		t.Fatalf("classes (-want +got)\n%s", diff)
	}
	var got []string
	for _, s := range ds.Samples {
		rel, _ := filepath.Rel(root, s.Path)
		got = append(got, rel+":"+ds.Classes[s.Label])
	}
	want := []string{"Zebra/q.jpg:Zebra", "cat/y.tiff:cat", "cat/z.bmp:cat",
		"dog/a.png:dog", "dog/b.JPG:dog", "dog/s/x.webp:dog", "dog/s-t/z.jpeg:dog", "dog/s/t/y.png:dog"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("samples (-want +got)\n%s", diff)
	}

	empty := t.TempDir()
	touch(t, filepath.Join(empty, "a", "x.txt"))
	if _, err := LoadImageFolder(empty); err == nil || !strings.Contains(err.Error(), `class "a" has no image files`) {
		t.Fatalf("empty class: %v", err)
	}
	if _, err := LoadImageFolder(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no class subfolders") {
		t.Fatalf("no classes: %v", err)
	}
	loop := t.TempDir()
	touch(t, filepath.Join(loop, "a", "x.jpg"))
	os.Symlink(filepath.Join(loop, "a"), filepath.Join(loop, "a", "self"))
	if _, err := LoadImageFolder(loop); err == nil || !strings.Contains(err.Error(), "symbolic-link loop") {
		t.Fatalf("symlink loop: %v", err)
	}
}

func TestBatches(t *testing.T) {
	tests := []struct {
		n, size  int
		shuffle  bool
		dropLast bool
		batches  int
	}{
		{10, 3, false, false, 4},
		{10, 3, true, true, 3},
		{9, 3, true, false, 3},
		{0, 4, true, false, 0},
	}
	for _, tc := range tests {
		b, err := NewBatches(tc.n, tc.size, tc.shuffle, tc.dropLast, 7)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != tc.batches {
			t.Fatalf("%+v: Len %d", tc, b.Len())
		}
		var all []int
		count := 0
		for idx, ok := b.Next(); ok; idx, ok = b.Next() {
			all = append(all, idx...)
			count++
		}
		if count != tc.batches {
			t.Fatalf("%+v: %d batches", tc, count)
		}
		if !tc.shuffle && !slices.IsSorted(all) {
			t.Fatalf("unshuffled order %v", all)
		}
		if !tc.dropLast {
			slices.Sort(all)
			for i, v := range all {
				if v != i {
					t.Fatalf("%+v: not a permutation: %v", tc, all)
				}
			}
		}
	}
	a, _ := NewBatches(100, 100, true, false, 1)
	b, _ := NewBatches(100, 100, true, false, 1)
	x, _ := a.Next()
	y, _ := b.Next()
	if !slices.Equal(x, y) {
		t.Fatal("same seed, different order")
	}
	first := slices.Clone(x)
	a.SetEpoch(1)
	x, _ = a.Next()
	if slices.Equal(x, first) {
		t.Fatal("epoch 1 has epoch 0's order")
	}
	if _, err := NewBatches(3, 0, false, false, 0); err == nil {
		t.Fatal("batch size 0 accepted")
	}
}

func TestAugment(t *testing.T) {
	// 3×2, 1 channel.
	src := []uint8{1, 2, 3, 4, 5, 6}
	dst := make([]uint8, 6)
	CropShift(dst, src, 3, 2, 1, 1, -1)
	if diff := cmp.Diff([]uint8{0, 0, 0, 2, 3, 0}, dst); diff != "" {
		t.Fatalf("CropShift (-want +got)\n%s", diff)
	}
	CropShift(dst, src, 3, 2, 1, 0, 0)
	if !slices.Equal(dst, src) {
		t.Fatal("zero shift is not a copy")
	}
	CropShift(dst, src, 3, 2, 1, 5, 0)
	if !slices.Equal(dst, make([]uint8, 6)) {
		t.Fatal("shift beyond the image is not all zero")
	}
	rgb := []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9}
	HFlip(rgb, 3, 1, 3)
	if diff := cmp.Diff([]uint8{7, 8, 9, 4, 5, 6, 1, 2, 3}, rgb); diff != "" {
		t.Fatalf("HFlip (-want +got)\n%s", diff)
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[[2]int]bool{}
	big := make([]uint8, 28*28)
	for i := range big {
		big[i] = 1
	}
	out := make([]uint8, len(big))
	for i := 0; i < 2000; i++ {
		if err := RandomCropPad(out, big, 28, 28, 1, 4, r); err != nil {
			t.Fatal(err)
		}
		// Recover the shift from the zero borders.
		var top, bottom, left, right int
		for top = 0; top < 28 && out[top*28+14] == 0; top++ {
		}
		for bottom = 0; bottom < 28 && out[(27-bottom)*28+14] == 0; bottom++ {
		}
		for left = 0; left < 28 && out[14*28+left] == 0; left++ {
		}
		for right = 0; right < 28 && out[14*28+27-right] == 0; right++ {
		}
		if top > 4 || bottom > 4 || left > 4 || right > 4 || (top > 0 && bottom > 0) || (left > 0 && right > 0) {
			t.Fatalf("impossible crop: borders %d %d %d %d", top, bottom, left, right)
		}
		seen[[2]int{bottom - top, right - left}] = true
	}
	if len(seen) != 81 { // every shift in −4..4 × −4..4
		t.Fatalf("%d distinct crops in 2000 draws, want 81", len(seen))
	}
	if err := RandomCropPad(out[:5], big, 28, 28, 1, 4, r); err == nil {
		t.Fatal("short dst accepted")
	}
	flips := 0
	for i := 0; i < 1000; i++ {
		if RandomHFlip(rgb, 3, 1, 3, 0.5, r) {
			flips++
		}
	}
	if flips < 400 || flips > 600 {
		t.Fatalf("%d flips in 1000 at p=0.5", flips)
	}
}
