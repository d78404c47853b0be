package mamba_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"slices"

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
// bytes per token on the CPU (the scan, the state and the accumulation
// stay fp32), and compare the next-token choices with the fp32 model's.
func ExampleModel_UseInt8() {
	dir := filepath.Join(golden.Root(), "mamba_lm", "hf")
	fp32, err := mamba.Load(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	q, err := mamba.Load(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := q.UseInt8(); err != nil { // or LoadOptions.Precision = PrecisionInt8
		log.Fatal(err)
	}
	fmt.Printf("%s weights: %.0f%% of fp32's bytes\n", q.WeightPrecision(), 100*float64(q.WeightBytes())/float64(fp32.WeightBytes()))
	ids := [][]int{{3, 14, 15, 92, 65, 35, 89, 79, 32, 38}}
	want, _ := fp32.Forward(context.Background(), ids, nil)
	got, _ := q.Forward(context.Background(), ids, nil)
	v := want.Dim(-1)
	same := 0
	for t := range len(ids[0]) {
		if slices.Index(want.Data[t*v:(t+1)*v], slices.Max(want.Data[t*v:(t+1)*v])) == slices.Index(got.Data[t*v:(t+1)*v], slices.Max(got.Data[t*v:(t+1)*v])) {
			same++
		}
	}
	fmt.Printf("same next token at %d of %d positions\n", same, len(ids[0]))
	// Output:
	// int8 weights: 36% of fp32's bytes
	// same next token at 10 of 10 positions
}
