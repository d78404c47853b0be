package mamba_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/mamba"
)

// Load a byte-level Mamba LM (the MambaByte-style fixture, transformers
// layout) and continue a prompt greedily.
func Example() {
	dir := filepath.Join(golden.Root(), "mambabyte", "hf")
	m, err := mamba.Load(dir, nil) // nil options: the CPU backend
	if err != nil {
		log.Fatal(err)
	}
	var prompt []int
	for _, b := range []byte("Once upon a time") {
		prompt = append(prompt, int(b)) // byte-level vocabulary: id = byte
	}
	g, err := m.Generate(context.Background(), [][]int{prompt}, mamba.GenerateOptions{MaxNewTokens: 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Config.DModel, m.Config.NLayer, m.Config.PaddedVocab())
	fmt.Println(g.Tokens[0], g.Finish[0])
	// Output:
	// 64 2 256
	// [170 59 55 105 105 82 82 82] length
}

// Drive decoding by hand: one parallel-scan prefill, then O(1)-memory steps.
func ExampleState() {
	m, err := mamba.Load(filepath.Join(golden.Root(), "mamba_lm", "mamba_ssm"), nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	st, err := m.NewState(1)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Release()
	logits, err := st.Prefill(ctx, [][]int{{11, 22, 33}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(logits.Shape()) // (batch, padded vocabulary)
	logits, err = st.Step(ctx, []int{44})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(logits.Shape())
	// Output:
	// [1 304]
	// [1 304]
}

// Store the weights in bfloat16 for faster CPU decoding (half the bytes
// per token); the scan and the accumulation stay fp32.
func ExampleModel_UseBF16() {
	dir := filepath.Join(golden.Root(), "mambabyte", "hf")
	m, err := mamba.Load(dir, &mamba.LoadOptions{Precision: mamba.PrecisionBF16})
	if err != nil {
		log.Fatal(err)
	}
	var prompt []int
	for _, b := range []byte("Once upon a time") {
		prompt = append(prompt, int(b))
	}
	g, err := m.Generate(context.Background(), [][]int{prompt}, mamba.GenerateOptions{MaxNewTokens: 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.WeightPrecision())
	fmt.Println(g.Tokens[0]) // the fp32 model's tokens on this fixture
	// Output:
	// bf16
	// [170 59 55 105 105 82 82 82]
}

// Store the weights in int8 with per-group fp32 scales for the fewest
// bytes per token on the CPU; the scan, the state and the accumulation
// stay fp32.
func ExampleModel_UseInt8() {
	dir := filepath.Join(golden.Root(), "mambabyte", "hf")
	m, err := mamba.Load(dir, &mamba.LoadOptions{Precision: mamba.PrecisionInt8})
	if err != nil {
		log.Fatal(err)
	}
	var prompt []int
	for _, b := range []byte("Once upon a time") {
		prompt = append(prompt, int(b))
	}
	g, err := m.Generate(context.Background(), [][]int{prompt}, mamba.GenerateOptions{MaxNewTokens: 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.WeightPrecision(), m.WeightBytes() < 130_000)
	fmt.Println(g.Tokens[0]) // the fp32 model's tokens on this fixture
	// Output:
	// int8 true
	// [170 59 55 105 105 82 82 82]
}
