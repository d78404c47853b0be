package cuda_test

import (
	"errors"
	"fmt"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

// Open the GPU backend, or fall back to the CPU when there is none, and run
// an op on tensors that live in that backend's memory.
func Example() {
	var be kernels.Backend = kernels.CPU()
	if gpu, err := cuda.Open(); err == nil {
		be = gpu
	} else if !errors.Is(err, cuda.ErrNoDevice) {
		fmt.Println("cuda:", err)
		return
	}
	x := be.FromHost(kernels.MustFromSlice([]float32{-1, 0, 2}, 3))
	y := be.New(3)
	be.Unary(y, x, kernels.ActReLU)
	fmt.Println(be.ToHost(y).Data)
	// Output: [0 0 2]
}
