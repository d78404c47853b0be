//go:build ignore

// gen_fashion writes a few Fashion-MNIST test images as PNG files under
// testdata/fashion-mnist, named <test index>_<class>.png, from the idx files
// of Debian's dataset-fashion-mnist package. Run: go run testdata/gen_fashion.go
package main

import (
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomamba/gomamba/datasets"
)

func main() {
	s, err := datasets.LoadFashionMNIST("", "test")
	if err != nil {
		log.Fatal(err)
	}
	// the first test image of every class
	seen := map[uint8]bool{}
	for i := 0; i < s.Len() && len(seen) < len(s.Classes); i++ {
		l := s.Labels[i]
		if seen[l] {
			continue
		}
		seen[l] = true
		name := strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(s.Classes[l]))
		p := filepath.Join("testdata", "fashion-mnist", fmt.Sprintf("%04d_%s.png", i, name))
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, s.Image(i)); err != nil {
			log.Fatal(err)
		}
		f.Close()
		fmt.Println(p)
	}
}
