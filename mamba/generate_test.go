package mamba

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// TestSamplerDistribution draws many samples and compares the empirical
// frequencies with the distribution mamba_ssm's sample() defines.
func TestSamplerDistribution(t *testing.T) {
	logits := []float32{2, 1, 0.5, 0, -1, 3}
	softmax := func(v []float64) []float64 { return softmax64(v) }
	scaled := func(temp float64, ids []int) []float64 {
		var v []float64
		for _, i := range ids {
			v = append(v, float64(logits[i])/temp)
		}
		return softmax(v)
	}
	all := []int{0, 1, 2, 3, 4, 5}
	cases := []struct {
		name string
		opt  GenerateOptions
		want map[int]float64
	}{
		{"temp1", GenerateOptions{Temperature: 1}, probs(all, scaled(1, all))},
		{"temp0.5", GenerateOptions{Temperature: 0.5}, probs(all, scaled(0.5, all))},
		{"topk2", GenerateOptions{Temperature: 1, TopK: 2}, probs([]int{5, 0}, scaled(1, []int{5, 0}))},
		// top-p 0.8 at T=1: sorted probs 0.58, 0.21, 0.08, ... → cum from
		// the bottom exceeds 0.2 only once token 0 is included → keep {5, 0}.
		{"topp0.8", GenerateOptions{Temperature: 1, TopP: 0.8}, probs([]int{5, 0}, scaled(1, []int{5, 0}))},
		{"topk3+topp0.5", GenerateOptions{Temperature: 1, TopK: 3, TopP: 0.5}, map[int]float64{5: 1}},
	}
	const n = 40000
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Seed = 11
			s := newSampler(tc.opt, len(logits))
			count := map[int]int{}
			for range n {
				count[s.pick(logits)]++
			}
			for id, c := range count {
				if _, ok := tc.want[id]; !ok {
					t.Errorf("sampled id %d (%d times), outside the allowed set %v", id, c, tc.want)
				}
			}
			for id, p := range tc.want {
				got := float64(count[id]) / n
				sd := math.Sqrt(p * (1 - p) / n)
				if math.Abs(got-p) > 5*sd+1e-9 {
					t.Errorf("id %d: frequency %.4f, want %.4f ± %.4f", id, got, p, 5*sd)
				}
			}
		})
	}
	// Greedy: temperature 0 or top-k 1, first index among ties (torch.argmax).
	for _, opt := range []GenerateOptions{{}, {Temperature: 1, TopK: 1}} {
		if got := newSampler(opt, 4).pick([]float32{1, 3, 3, 2}); got != 1 {
			t.Errorf("greedy %+v picked %d, want 1", opt, got)
		}
	}
}

func TestRepetitionPenalty(t *testing.T) {
	row := []float32{2, -1, 0.5, 3}
	mark := make([]bool, len(row))
	penalize(row, 2, mark, []int{0, 1, 0}, []int{1, 2})
	if want := []float32{1, -2, 0.25, 3}; !slices.Equal(row, want) {
		t.Errorf("penalized %v, want %v", row, want)
	}
	if slices.Contains(mark, true) {
		t.Error("mark not cleared")
	}
	// A strong penalty breaks a greedy loop of the random model.
	m := randomModel(t, smallConfig(), 5)
	ctx := context.Background()
	plain, _ := m.Generate(ctx, [][]int{{7}}, GenerateOptions{MaxNewTokens: 12})
	pen, err := m.Generate(ctx, [][]int{{7}}, GenerateOptions{MaxNewTokens: 12, RepetitionPenalty: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{7: true}
	for _, id := range pen.Tokens[0] {
		if seen[id] {
			t.Errorf("penalty 1e6 still repeated %d: %v (without: %v)", id, pen.Tokens[0], plain.Tokens[0])
		}
		seen[id] = true
	}
}

func probs(ids []int, p []float64) map[int]float64 {
	m := map[int]float64{}
	for i, id := range ids {
		m[id] = p[i]
	}
	return m
}

func TestGenerateBehaviour(t *testing.T) {
	m := randomModel(t, smallConfig(), 5)
	ctx := context.Background()
	prompts := [][]int{{1, 2, 3}, {4, 5}, {6}}

	greedy, err := m.Generate(ctx, prompts, GenerateOptions{MaxNewTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	// Batched ragged generation equals generating each prompt alone.
	for b, p := range prompts {
		one, err := m.Generate(ctx, [][]int{p}, GenerateOptions{MaxNewTokens: 8})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one.Tokens[0], greedy.Tokens[b]) {
			t.Errorf("row %d: batched %v, alone %v", b, greedy.Tokens[b], one.Tokens[0])
		}
		if greedy.Finish[b] != "length" || len(greedy.Tokens[b]) != 8 {
			t.Errorf("row %d: finish %q after %d tokens", b, greedy.Finish[b], len(greedy.Tokens[b]))
		}
	}
	if greedy.NewTokens != 24 || greedy.PromptTokens != 6 || greedy.Steps != 7 {
		t.Errorf("counts: new %d prompt %d steps %d", greedy.NewTokens, greedy.PromptTokens, greedy.Steps)
	}

	// Stop token: row 0 stops at the first occurrence of its 3rd token.
	stop := greedy.Tokens[0][2]
	g, err := m.Generate(ctx, prompts, GenerateOptions{MaxNewTokens: 8, StopTokens: []int{stop}})
	if err != nil {
		t.Fatal(err)
	}
	first := slices.Index(greedy.Tokens[0], stop)
	if !slices.Equal(g.Tokens[0], greedy.Tokens[0][:first+1]) || g.Finish[0] != "stop" {
		t.Errorf("stop: %v (%s), want %v", g.Tokens[0], g.Finish[0], greedy.Tokens[0][:first+1])
	}

	// Streaming callback sees every token in order and can end a row.
	var streamed [3][]int
	g, err = m.Generate(ctx, prompts, GenerateOptions{MaxNewTokens: 8, OnToken: func(row, pos, id int) (bool, error) {
		if pos != len(streamed[row]) {
			return false, fmt.Errorf("row %d: pos %d after %d tokens", row, pos, len(streamed[row]))
		}
		streamed[row] = append(streamed[row], id)
		return row == 1 && pos == 3, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for b := range prompts {
		if !slices.Equal(streamed[b], g.Tokens[b]) {
			t.Errorf("row %d: streamed %v, returned %v", b, streamed[b], g.Tokens[b])
		}
	}
	if len(g.Tokens[1]) != 4 || g.Finish[1] != "callback" {
		t.Errorf("callback stop: row 1 has %d tokens (%s)", len(g.Tokens[1]), g.Finish[1])
	}
	boom := errors.New("boom")
	if _, err := m.Generate(ctx, prompts, GenerateOptions{MaxNewTokens: 8, OnToken: func(int, int, int) (bool, error) { return false, boom }}); !errors.Is(err, boom) {
		t.Errorf("callback error: got %v", err)
	}

	// Sampling is reproducible for a seed and varies across seeds.
	samp := func(seed uint64) [][]int {
		g, err := m.Generate(ctx, prompts, GenerateOptions{MaxNewTokens: 12, Temperature: 1.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return g.Tokens
	}
	a, b, c := samp(1), samp(1), samp(2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different samples:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("seeds 1 and 2 gave identical samples %v", a)
	}

	// Cancellation.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Generate(cctx, prompts, GenerateOptions{MaxNewTokens: 4}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}

	// Bad input (and a released model).
	bad := []struct {
		name    string
		prompts [][]int
		opt     GenerateOptions
	}{
		{"no tokens", [][]int{{1}}, GenerateOptions{}},
		{"empty batch", nil, GenerateOptions{MaxNewTokens: 1}},
		{"empty prompt", [][]int{{}}, GenerateOptions{MaxNewTokens: 1}},
		{"id too large", [][]int{{64}}, GenerateOptions{MaxNewTokens: 1}},
		{"negative id", [][]int{{-1}}, GenerateOptions{MaxNewTokens: 1}},
		{"bad stop", [][]int{{1}}, GenerateOptions{MaxNewTokens: 1, StopTokens: []int{1000}}},
	}
	for _, tc := range bad {
		if _, err := m.Generate(ctx, tc.prompts, tc.opt); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	m.Release()
	if _, err := m.Forward(ctx, prompts[:1], nil); err == nil {
		t.Error("Forward on a released model: no error")
	}
	if _, err := m.Generate(ctx, prompts, GenerateOptions{MaxNewTokens: 1}); err == nil {
		t.Error("Generate on a released model: no error")
	}
}

// TestDecodeAllocs checks that a steady-state recurrent step allocates
// nothing on the compute side beyond a small constant.
func TestDecodeAllocs(t *testing.T) {
	m := randomModel(t, smallConfig(), 5)
	allocs := stepAllocs(t, m, [][]int{{1, 2, 3}, {4, 5, 6}})
	t.Logf("%.0f allocations per step (%d layers)", allocs, len(m.Blocks))
}

// stepAllocs prefills a State of m with prompts and returns the
// allocations of one steady-state step, failing the test beyond a small
// constant per layer: offsets passed to CopyBox and the ScanArgs/StepArgs
// structs may escape; nothing proportional to the model or the sequence
// is allowed.
func stepAllocs(t *testing.T, m *Model, prompts [][]int) float64 {
	t.Helper()
	st, err := m.NewState(len(prompts))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	ctx := context.Background()
	if _, err := st.Prefill(ctx, prompts); err != nil {
		t.Fatal(err)
	}
	tok := make([]int, len(prompts))
	for i := range tok {
		tok[i] = 7 + i
	}
	st.Step(ctx, tok)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := st.Step(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	if limit := float64(64*len(m.Blocks) + 32); allocs > limit {
		t.Errorf("%.0f allocations per step (%s weights), want <= %.0f", allocs, m.WeightPrecision(), limit)
	}
	return allocs
}

// TestConcurrentUse decodes with several States and runs Forward from
// several goroutines on one Model (run with -race); every goroutine must get
// the single-threaded answer.
func TestConcurrentUse(t *testing.T) {
	m := randomModel(t, smallConfig(), 9)
	ctx := context.Background()
	prompt := [][]int{{3, 1, 4, 1, 5}}
	want, err := m.Generate(ctx, prompt, GenerateOptions{MaxNewTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	wantLogits, err := m.Forward(ctx, prompt, nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			if i%2 == 0 {
				g, err := m.Generate(ctx, prompt, GenerateOptions{MaxNewTokens: 6})
				if err == nil && !slices.Equal(g.Tokens[0], want.Tokens[0]) {
					err = fmt.Errorf("goroutine %d: tokens %v, want %v", i, g.Tokens[0], want.Tokens[0])
				}
				errs <- err
				return
			}
			lg, err := m.Forward(ctx, prompt, nil)
			if err == nil && !slices.Equal(lg.Data, wantLogits.Data) {
				err = fmt.Errorf("goroutine %d: Forward logits differ", i)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
