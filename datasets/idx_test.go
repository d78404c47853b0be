package datasets

import (
	"bytes"
	"compress/gzip"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadIDX(t *testing.T) {
	good, err := EncodeIDX([]int{2, 3, 2}, []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		dims []int
		err  string
	}{
		{"plain", good, []int{2, 3, 2}, ""},
		{"gzip", gz(good), []int{2, 3, 2}, ""},
		{"empty", nil, nil, "IDX header: unexpected EOF"},
		{"magic", append([]byte{1, 0}, good[2:]...), nil, "not an IDX file"},
		{"type", append([]byte{0, 0, 0x0d}, good[3:]...), nil, "element type 0x0d"},
		{"ndim0", []byte{0, 0, 8, 0}, nil, "0 dimensions"},
		{"ndim5", []byte{0, 0, 8, 5}, nil, "5 dimensions"},
		{"dims short", good[:9], nil, "IDX dimensions: unexpected EOF"},
		{"zero dim", []byte{0, 0, 8, 1, 0, 0, 0, 0}, nil, "dimension 0 is 0"},
		{"huge", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, nil, "exceed"},
		{"short payload", good[:len(good)-1], nil, "needs 12 bytes, file has 11"},
		{"trailing", append(append([]byte(nil), good...), 0), nil, "trailing bytes"},
		{"gzip trailing", gz(append(append([]byte(nil), good...), 0)), nil, "trailing bytes"},
		{"gzip truncated", gz(good)[:20], nil, "x.idx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadIDX(bytes.NewReader(tc.data), "x.idx")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "x.idx") {
					t.Fatalf("err = %v, want %q naming x.idx", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Dims) != len(tc.dims) || m.Data[11] != 12 {
				t.Fatalf("got dims %v data %v", m.Dims, m.Data)
			}
		})
	}
}

func writeFashion(t *testing.T, dir, prefix string, n int, labels []uint8) {
	t.Helper()
	pix := make([]uint8, n*28*28)
	for i := range pix {
		pix[i] = uint8(i)
	}
	im, _ := EncodeIDX([]int{n, 28, 28}, pix)
	lb, _ := EncodeIDX([]int{len(labels)}, labels)
	os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), gz(im), 0o644)
	os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lb, 0o644)
}

func TestLoadFashionMNISTSynthetic(t *testing.T) {
	dir := t.TempDir()
	writeFashion(t, dir, "t10k", 3, []uint8{9, 0, 4})
	s, err := LoadFashionMNIST(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || s.Height != 28 || s.Width != 28 || s.Labels[0] != 9 || s.Classes[9] != "Ankle boot" {
		t.Fatalf("got %d images %dx%d labels %v", s.N, s.Height, s.Width, s.Labels)
	}
	if g := s.Image(1); g.Pix[0] != uint8((28*28)%256) || g.Bounds().Dx() != 28 {
		t.Fatalf("image 1 first pixel %d", g.Pix[0])
	}
	bad := t.TempDir()
	writeFashion(t, bad, "train", 2, []uint8{1, 10})
	if _, err := LoadFashionMNIST(bad, "train"); err == nil || !strings.Contains(err.Error(), "label 10 at index 1") {
		t.Fatalf("bad label: %v", err)
	}
	mism := t.TempDir()
	writeFashion(t, mism, "train", 2, []uint8{1})
	if _, err := LoadFashionMNIST(mism, "train"); err == nil || !strings.Contains(err.Error(), "2 images but 1 labels") {
		t.Fatalf("count mismatch: %v", err)
	}
	if _, err := LoadFashionMNIST(dir, "val"); err == nil {
		t.Fatal("unknown split accepted")
	}
	if _, err := LoadFashionMNIST(dir, "train"); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Fatalf("missing files: %v", err)
	}
}

// TestLoadFashionMNISTDebian reads the real data set when Debian's
// dataset-fashion-mnist is installed (apt-get install dataset-fashion-mnist);
// CI machines without the package skip it.
func TestLoadFashionMNISTDebian(t *testing.T) {
	if _, err := os.Stat(DefaultFashionMNISTDir); err != nil {
		t.Skipf("%s not installed (apt-get install dataset-fashion-mnist)", DefaultFashionMNISTDir)
	}
	for _, tc := range []struct {
		split string
		n     int
	}{{"train", 60000}, {"test", 10000}} {
		s, err := LoadFashionMNIST("", tc.split)
		if err != nil {
			t.Fatal(err)
		}
		if s.N != tc.n || s.Height != 28 || s.Width != 28 {
			t.Fatalf("%s: %d images %dx%d", tc.split, s.N, s.Height, s.Width)
		}
		var counts [10]int
		for _, l := range s.Labels {
			counts[l]++
		}
		for c, k := range counts {
			if k != tc.n/10 { // Fashion-MNIST is exactly balanced
				t.Errorf("%s: class %d has %d images, want %d", tc.split, c, k, tc.n/10)
			}
		}
		if tc.split == "test" && s.Labels[0] != 9 { // first test image is an ankle boot
			t.Errorf("first test label %d, want 9", s.Labels[0])
		}
		if tc.split == "train" { // the normalisation constants everyone quotes
			m, sd := s.MeanStd()
			if math.Abs(m-0.2860) > 5e-5 || math.Abs(sd-0.3530) > 5e-5 {
				t.Errorf("train mean/std %.4f/%.4f, want 0.2860/0.3530", m, sd)
			}
			t.Logf("train mean %.6f std %.6f", m, sd)
		}
	}
}

func FuzzIDX(f *testing.F) {
	good, _ := EncodeIDX([]int{2, 2}, []uint8{1, 2, 3, 4})
	f.Add(good)
	f.Add(gz(good))
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("dims %v but %d bytes", m.Dims, len(m.Data))
		}
	})
}

func TestImageSetBatch(t *testing.T) {
	s := &ImageSet{Pix: []uint8{0, 255, 51, 102, 255, 255, 0, 0}, N: 2, Height: 2, Width: 2, Labels: []uint8{3, 7}}
	dst := kernels.New(2, 1, 2, 2)
	labels, err := s.Batch(dst, []int{1, 0}, 0.5, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if labels[0] != 7 || labels[1] != 3 || dst.Data[0] != 1 || dst.Data[2] != -1 || dst.Data[4] != -1 {
		t.Fatalf("labels %v data %v", labels, dst.Data)
	}
	if _, err := s.Batch(dst, []int{0, 2}, 0.5, 0.5); err == nil {
		t.Fatal("index 2 accepted")
	}
	if _, err := s.Batch(kernels.New(1, 1, 2, 2), []int{0, 1}, 0.5, 0.5); err == nil {
		t.Fatal("short tensor accepted")
	}
	m, sd := s.MeanStd()
	if math.Abs(m-0.45) > 1e-12 || sd <= 0 {
		t.Fatalf("MeanStd = %v, %v", m, sd)
	}
}
