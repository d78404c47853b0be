package kernels_test

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// A linear layer and a selective scan on the CPU backend.
func ExampleCPU() {
	be := kernels.CPU()

	// y = x·wᵀ + b for 2 tokens of width 3 into 2 outputs.
	x := kernels.MustFromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	w := kernels.MustFromSlice([]float32{1, 0, 0, 0, 1, 1}, 2, 3)
	b := kernels.MustFromSlice([]float32{0.5, -1}, 2)
	y := be.New(2, 2)
	be.Linear(y, x, w, b)
	fmt.Println(y.Data)

	// One channel, one state, four steps: h_t = exp(Δ·A)·h_{t−1} + Δ·B·u_t
	// with Δ = 1, A = −ln 2 (decay ½), B = C = 1, so y_t = h_t.
	scan := &kernels.ScanArgs{
		U:         kernels.MustFromSlice([]float32{1, 0, 0, 1}, 1, 1, 4),
		Delta:     kernels.MustFromSlice([]float32{1, 1, 1, 1}, 1, 1, 4),
		A:         kernels.MustFromSlice([]float32{-0.6931472}, 1, 1),
		B:         kernels.MustFromSlice([]float32{1}, 1, 1),
		C:         kernels.MustFromSlice([]float32{1}, 1, 1),
		Out:       be.New(1, 1, 4),
		LastState: be.New(1, 1, 1),
	}
	be.SelectiveScan(scan)
	fmt.Printf("%.4f %.4f\n", scan.Out.Data, scan.LastState.Data)
	// Output:
	// [1.5 4 4.5 10]
	// [1.0000 0.5000 0.2500 1.1250] [1.1250]
}
