package mamba

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

// openCUDA returns the CUDA backend, or skips when this machine has no GPU
// (unless GOMAMBA_REQUIRE_CUDA=1, which turns that into a failure).
func openCUDA(tb testing.TB) kernels.Backend {
	tb.Helper()
	be, err := cuda.Open()
	if err != nil {
		if errors.Is(err, cuda.ErrNoDevice) && os.Getenv("GOMAMBA_REQUIRE_CUDA") != "1" {
			tb.Skipf("no CUDA GPU here: %v", err)
		}
		tb.Fatal(err)
	}
	return be
}

// TestGoldenLMCUDA runs the LM parity checks with the model on the GPU:
// logits of a full forward, prefill + recurrent step logits and greedy
// tokens, from both layouts of every fixture set.
func TestGoldenLMCUDA(t *testing.T) {
	be := openCUDA(t)
	for _, set := range lmFixtures(t) {
		for _, dir := range layouts(t, set) {
			t.Run(filepath.Base(set)+"/"+filepath.Base(dir), func(t *testing.T) {
				m, err := Load(dir, &LoadOptions{Backend: be})
				if err != nil {
					t.Fatal(err)
				}
				io := openFixture(t, filepath.Join(set, "io.safetensors"))
				logits, err := m.Forward(context.Background(), io.ids(t, "input_ids"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(t, "logits", io.tensor(t, "logits"), logits); d > tol {
					t.Errorf("logits: max |diff| %.3g", d)
				} else {
					t.Logf("logits max |diff| %.3g", d)
				}
				prompt := io.ids(t, "prompt_ids")
				want := io.ids(t, "greedy_new_tokens")[0]
				stepWant := io.tensor(t, "greedy_step_logits")
				v := stepWant.Dim(1)
				worst := 0.0
				for i, lg := range stepLogits(t, m, prompt, want) {
					row := kernels.MustFromSlice(stepWant.Data[i*v:(i+1)*v], 1, v)
					worst = max(worst, maxDiff(t, fmt.Sprint("step ", i), row, lg))
				}
				if worst > tol {
					t.Errorf("greedy_step_logits: max |diff| %.3g", worst)
				} else {
					t.Logf("greedy_step_logits max |diff| %.3g", worst)
				}
				g, err := m.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: len(want)})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(g.Tokens[0]) != fmt.Sprint(want) {
					t.Errorf("greedy tokens\n got %v\nwant %v", g.Tokens[0], want)
				}
			})
		}
	}
}

// gpuModel130m is the random mamba-130m-shaped model moved to the GPU.
func gpuModel130m(b *testing.B, be kernels.Backend) *Model {
	cfg, _ := Preset("mamba-130m")
	m := randomModelOn(b, cfg, 1, be)
	return m
}

// BenchmarkPrefillCUDA is BenchmarkPrefill with the model on the GPU
// (batch 1, 128 tokens; ToHost of the last logits included).
func BenchmarkPrefillCUDA(b *testing.B) {
	be := openCUDA(b)
	m := gpuModel130m(b, be)
	const l = 128
	ids := make([]int, l)
	for i := range ids {
		ids[i] = (i * 7919) % m.Config.VocabSize
	}
	st, err := m.NewState(1)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st.Prefill(ctx, [][]int{ids})
	b.ResetTimer()
	for range b.N {
		if _, err := st.Prefill(ctx, [][]int{ids}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(l*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkDecodeCUDA is BenchmarkDecode with the model on the GPU
// (batch 1; each step brings the logits back to pick the next token).
func BenchmarkDecodeCUDA(b *testing.B) {
	be := openCUDA(b)
	m := gpuModel130m(b, be)
	st, err := m.NewState(1)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Prefill(ctx, [][]int{{1, 2, 3, 4, 5, 6, 7, 8}}); err != nil {
		b.Fatal(err)
	}
	tok := []int{42}
	b.ResetTimer()
	for range b.N {
		lg, err := st.Step(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		tok[0] = argmax(lg.Data)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
