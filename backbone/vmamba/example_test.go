package vmamba_test

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/backbone/vmamba"
	"github.com/gomamba/gomamba/kernels"
)

// Build a small random VMamba and read its four stage maps of a 64×48
// input (any size works; each stride-2 step rounds up).
func Example() {
	cfg, _ := vmamba.Preset("vmamba-tiny")
	cfg.Dims = []int{16, 32, 64, 128}
	cfg.Depths = []int{1, 1, 1, 1}
	cfg.NumClasses = 10
	m, err := vmamba.New(cfg, kernels.CPU(), 1)
	if err != nil {
		panic(err)
	}
	x := kernels.New(1, 3, 64, 48)
	out, err := m.Forward(context.Background(), x, &vmamba.Options{Stages: []int{0, 1, 2, 3}})
	if err != nil {
		panic(err)
	}
	for i, f := range m.FeatureInfo() {
		fmt.Println(f.Name, f.Stride, out.Stages[i].Shape())
	}
	fmt.Println("logits", out.Logits.Shape(), "pooled", out.Pooled.Shape())
	// Output:
	// stage0 4 [1 16 16 12]
	// stage1 8 [1 32 8 6]
	// stage2 16 [1 64 4 3]
	// stage3 32 [1 128 2 2]
	// logits [1 10] pooled [1 128]
}
