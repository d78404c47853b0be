//go:build ignore

// gen_subset writes the first 1024 training and 300 test images of
// Fashion-MNIST (from Debian's dataset-fashion-mnist package) as gzipped idx
// files, so that the training tests run on real data without the package.
// Run from the repository root: go run train/testdata/gen_subset.go
package main

import (
	"compress/gzip"
	"log"
	"os"
	"path/filepath"

	"github.com/gomamba/gomamba/datasets"
)

func main() {
	out := filepath.Join("train", "testdata", "fashion-mnist-subset")
	for _, sp := range []struct {
		split, prefix string
		n             int
	}{{"train", "train", 1024}, {"test", "t10k", 300}} {
		s, err := datasets.LoadFashionMNIST("", sp.split)
		if err != nil {
			log.Fatal(err)
		}
		img, err := datasets.EncodeIDX([]int{sp.n, s.Height, s.Width}, s.Pix[:sp.n*s.Height*s.Width])
		if err != nil {
			log.Fatal(err)
		}
		lab, err := datasets.EncodeIDX([]int{sp.n}, s.Labels[:sp.n])
		if err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(out, sp.prefix+"-images-idx3-ubyte.gz"), img)
		write(filepath.Join(out, sp.prefix+"-labels-idx1-ubyte.gz"), lab)
	}
}

func write(path string, b []byte) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	z, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	if _, err := z.Write(b); err != nil {
		log.Fatal(err)
	}
	if err := z.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
