package deit_test

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/backbone/deit"
	"github.com/gomamba/gomamba/kernels"
)

func Example() {
	cfg, _ := deit.Preset("deit-tiny")
	cfg.Depth = 2 // keep the example fast
	m, err := deit.NewRandom(cfg, kernels.CPU(), 1)
	if err != nil {
		panic(err)
	}
	// Any resolution: 160×128 gives a 10×8 patch grid (+ the cls token);
	// the position table is resampled like timm's dynamic_img_size.
	x := kernels.New(1, 3, 160, 128)
	preLogits, logits, err := m.Forward(context.Background(), x)
	if err != nil {
		panic(err)
	}
	maps, _ := m.Features(context.Background(), x, []int{-1})
	fmt.Println(preLogits.Shape(), logits.Shape(), maps[0].Shape())
	// Output: [1 192] [1 1000] [1 192 10 8]
}
