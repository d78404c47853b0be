package datasets_test

import (
	"fmt"
	"log"
	"math/rand/v2"
	"path/filepath"

	"github.com/gomamba/gomamba/datasets"
)

// Decode a photo and turn it into the (3, 224, 224) tensor Vim and VMamba
// evaluate on.
func Example() {
	img, err := datasets.DecodeFile(filepath.Join("..", "testdata", "photos", "ladybird.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	x, err := datasets.ImageNetEval.Apply(img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.Bounds().Size(), x.Shape())
	// Output: (480,300) [3 224 224]
}

func ExampleResizeRGB() {
	img, err := datasets.DecodeFile(filepath.Join("testdata", "rgb8.png"))
	if err != nil {
		log.Fatal(err)
	}
	rgb := datasets.ToRGB(img)
	w, h := datasets.ShorterSideSize(rgb.Rect.Dx(), rgb.Rect.Dy(), 256)
	out, err := datasets.ResizeRGB(rgb, w, h, datasets.Bicubic)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rgb.Rect.Size(), "→", out.Rect.Size())
	// Output: (61,37) → (422,256)
}

func ExampleNativeTransform() {
	img, err := datasets.DecodeFile(filepath.Join("..", "testdata", "photos", "ladybird.jpg"))
	if err != nil {
		log.Fatal(err)
	}
	// Keep the aspect ratio, sides rounded to the 16-pixel patch grid.
	t := datasets.NativeTransform{Multiple: 16, Mean: datasets.ImageNetMean, Std: datasets.ImageNetStd}
	x, err := t.Apply(img)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x.Shape())
	// Output: [3 304 480]
}

func ExampleBatches() {
	b, err := datasets.NewBatches(10, 4, true, false, 42)
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for idx, ok := b.Next(); ok; idx, ok = b.Next() {
		n += len(idx)
	}
	fmt.Println(b.Len(), "batches,", n, "items")
	// Output: 3 batches, 10 items
}

func ExampleRandomCropPad() {
	src := make([]uint8, 28*28) // one Fashion-MNIST-sized gray image
	dst := make([]uint8, len(src))
	r := rand.New(rand.NewPCG(1, 2))
	if err := datasets.RandomCropPad(dst, src, 28, 28, 1, 4, r); err != nil {
		log.Fatal(err)
	}
	datasets.RandomHFlip(dst, 28, 28, 1, 0.5, r)
	fmt.Println(len(dst))
	// Output: 784
}
