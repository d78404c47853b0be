package scan2d_test

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/scan2d"
)

// A 2×3 map with one channel, read in the four VMamba orders.
func Example() {
	be := kernels.CPU()
	x := kernels.MustFromSlice([]float32{0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)
	xs := kernels.New(1, scan2d.Directions, 1, 6)
	scan2d.CrossScan(be, xs, x)
	for k := range scan2d.Directions {
		fmt.Println(k, xs.Data[k*6:(k+1)*6])
	}
	y := kernels.New(1, 1, 2, 3)
	scan2d.CrossMerge(be, y, xs)
	fmt.Println("merge:", y.Data)
	// Output:
	// 0 [0 1 2 3 4 5]
	// 1 [0 3 1 4 2 5]
	// 2 [5 4 3 2 1 0]
	// 3 [5 2 4 1 3 0]
	// merge: [0 4 8 12 16 20]
}
