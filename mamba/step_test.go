package mamba

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestStepMatchesForward checks that prefill over a prefix plus recurrent
// steps over the rest gives the logits of one full forward over the whole
// sequence, for prefixes shorter and longer than d_conv, ragged batches,
// biases and an untied head.
func TestStepMatchesForward(t *testing.T) {
	untied := smallConfig()
	untied.TieEmbeddings, untied.Bias, untied.DTRank = false, true, 3
	cases := []struct {
		name   string
		cfg    Config
		prefix []int // prompt length per row
		total  int
	}{
		{"prefix1", smallConfig(), []int{1, 1}, 12},
		{"prefix3<K", smallConfig(), []int{3, 3}, 10},
		{"prefix9", smallConfig(), []int{9, 9}, 17},
		{"ragged", smallConfig(), []int{2, 7, 5}, 14},
		{"bias-untied", untied, []int{6}, 13},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg, 7)
			rng := rand.New(rand.NewPCG(3, 4))
			v := tc.cfg.PaddedVocab()
			seqs := make([][]int, len(tc.prefix))
			for b := range seqs {
				for range tc.total {
					seqs[b] = append(seqs[b], rng.IntN(v))
				}
			}
			full, err := m.Forward(context.Background(), seqs, nil)
			if err != nil {
				t.Fatal(err)
			}
			st, err := m.NewState(len(seqs))
			if err != nil {
				t.Fatal(err)
			}
			prompts := make([][]int, len(seqs))
			for b := range seqs {
				prompts[b] = seqs[b][:tc.prefix[b]]
			}
			lg, err := st.Prefill(context.Background(), prompts)
			if err != nil {
				t.Fatal(err)
			}
			pos := append([]int(nil), tc.prefix...)
			worst, compared := 0.0, 0
			for {
				for b := range seqs {
					if pos[b]-1 < tc.total {
						want := kernels.MustFromSlice(full.Data[(b*tc.total+pos[b]-1)*v:(b*tc.total+pos[b])*v], v)
						got := kernels.MustFromSlice(lg.Data[b*v:(b+1)*v], v)
						worst = max(worst, maxDiff(t, fmt.Sprint("row ", b, " pos ", pos[b]-1), want, got))
						compared++
					}
				}
				next := make([]int, len(seqs))
				done := true
				for b := range seqs {
					if pos[b] < tc.total {
						next[b] = seqs[b][pos[b]]
						done = false
					}
					pos[b]++
				}
				if done {
					break
				}
				if lg, err = st.Step(context.Background(), next); err != nil {
					t.Fatal(err)
				}
			}
			steps := 0
			for _, p := range tc.prefix {
				steps = max(steps, tc.total-p)
			}
			for b := range seqs {
				if got, want := st.Processed(b), tc.prefix[b]+steps; got != want {
					t.Errorf("row %d processed %d tokens, want %d", b, got, want)
				}
			}
			wantCompared := 0
			for _, p := range tc.prefix {
				wantCompared += tc.total - p + 1
			}
			if compared != wantCompared {
				t.Fatalf("compared %d positions, want %d", compared, wantCompared)
			}
			if worst > 1e-4 {
				t.Errorf("step logits vs full forward: max |diff| %.3g", worst)
			}
			t.Logf("%d positions, max |diff| %.3g", compared, worst)
		})
	}
}
