package labels_test

import (
	"fmt"

	"github.com/gomamba/gomamba/heads/labels"
)

func ExampleImageNet1k() {
	names := labels.ImageNet1k()
	fmt.Println(len(names), names[301])
	// Output: 1000 ladybug
}

func ExampleFashionMNIST() {
	fmt.Println(labels.FashionMNIST()[9])
	// Output: Ankle boot
}
