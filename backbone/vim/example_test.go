package vim_test

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/backbone/vim"
	"github.com/gomamba/gomamba/kernels"
)

func Example() {
	cfg, _ := vim.Preset("vim-tiny")
	cfg.Depth = 2 // keep the example fast
	m, err := vim.NewRandom(cfg, kernels.CPU(), 1)
	if err != nil {
		panic(err)
	}
	// Any resolution: 160×128 gives a 10×8 patch grid (+1 cls token).
	x := kernels.New(1, 3, 160, 128)
	features, logits, err := m.Forward(context.Background(), x)
	if err != nil {
		panic(err)
	}
	maps, _ := m.DenseFeatures(context.Background(), x, []int{-1}, vim.MixerOutput)
	fmt.Println(features.Shape(), logits.Shape(), maps[0].Shape())
	// Output: [1 192] [1 1000] [1 192 10 8]
}
