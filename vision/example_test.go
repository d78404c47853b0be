package vision_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/vision"
)

// Load the small Vim parity checkpoint (10 classes, 64×64 input), classify
// a photo and list its dense feature maps.
func Example() {
	m, err := vision.Load(filepath.Join(golden.Root(), "vim", "vim_model.safetensors"))
	if err != nil {
		fmt.Println(err)
		return
	}
	img, err := datasets.DecodeFile(filepath.Join(golden.Root(), "preprocess", "ladybird_500x312.png"))
	if err != nil {
		fmt.Println(err)
		return
	}
	top, err := m.Classify(context.Background(), img, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Family(), m.NumClasses(), len(top))
	maps, _ := m.Features(context.Background(), img, &vision.FeatureOptions{Indices: []int{-1}})
	fmt.Println(maps[0].Name, maps[0].Channels, maps[0].Stride, maps[0].Data.Shape())
	// Output:
	// vim 10 2
	// layers.3 64 16 [64 4 4]
}
