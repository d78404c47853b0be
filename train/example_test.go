package train_test

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/train"
)

// ExampleTrain trains a tiny Vim for one epoch on a few images (here a
// single repeated blank image, to keep the example self-contained; real runs
// use datasets.LoadFashionMNIST) and reports what it did.
func ExampleTrain() {
	set := &train.ImageSet{Pixels: make([]uint8, 4*28*28), Labels: []int{0, 1, 0, 1}, Channels: 1, Size: 28, Classes: []string{"a", "b"}}
	res, err := train.Train(context.Background(), train.Options{
		Config: train.Config{Name: "tiny", InChans: 1, ImgSize: 28, Patch: 7, Stride: 7, Dim: 8, Depth: 1, DState: 2, Classes: 2, DConv: 4, Expand: 2, NormEps: 1e-5},
		Epochs: 1, BatchSize: 2, LR: 1e-3, WarmupEpochs: 0, ClipNorm: 1, Mean: []float64{0.5}, Std: []float64{0.5}, Workers: 1,
	}, set, set)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("epochs:", res.Epochs, "history:", len(res.History))
	// Output: epochs: 1 history: 1
}
