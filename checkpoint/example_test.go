package checkpoint_test

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

func ExampleOpen() {
	f, err := checkpoint.Open(filepath.Join(golden.Root(), "mamba_lm", "mamba_ssm", "pytorch_model.bin"))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Info("backbone.embedding.weight")
	fmt.Println(f.Format(), len(f.Names()), info.Shape, info.DType)

	var emb, normF *kernels.Tensor
	err = checkpoint.Bind(f, []checkpoint.Binding{
		{Name: "backbone.embedding.weight", Dst: &emb, Shape: []int{-1, 64}},
		{Name: "backbone.norm_f.weight", Dst: &normF, Shape: []int{64}},
	}, &checkpoint.BindOptions{Ignore: []string{"backbone.layers.", "lm_head.weight"}})
	fmt.Println(emb, normF, err)
	// Output:
	// pytorch 23 [304 64] F32
	// Tensor[304 64] Tensor[64] <nil>
}
