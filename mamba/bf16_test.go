package mamba

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// bf16Tol is the documented error of bf16 weight storage on the LM golden
// fixtures: the max |logit − fp32 PyTorch logit| divided by the largest
// |logit| of the fixture (the logits' scale), for the full forward and the
// prefill + recurrent steps. bf16 keeps 8 bits of mantissa, a relative
// rounding of at most 2⁻⁹ ≈ 0.2% per weight. Measured on mamba_lm and
// mambabyte: 0.0056 (forward) and 0.0072 (steps) of the scale, greedy
// top-1 equal to PyTorch's on 19 of 20 and 30 of 30 teacher-forced steps;
// the tolerance leaves a factor of two.
const bf16Tol = 0.015

// roundToBF16 rounds every weight of a prepared CPU model that UseBF16
// stores in bf16 to its bf16 value, in place, keeping fp32 storage: the
// same function UseBF16 computes, with the fp32 kernels.
func roundToBF16(m *Model) {
	round := func(t *kernels.Tensor) {
		w := kernels.NewBF16Matrix(t)
		w.Widen(t)
	}
	round(m.Embedding)
	if m.Head != m.Embedding {
		round(m.Head)
	}
	for i := range m.Blocks {
		mx := &m.Blocks[i].Mixer
		for _, t := range []*kernels.Tensor{mx.InProj, mx.OutProj, mx.XProj, mx.DTProjW} {
			round(t)
		}
	}
}

// stepLogits runs prefill on prompt and teacher-forced steps on tokens and
// returns every step's logits (the prefill's first).
func stepLogits(t *testing.T, m *Model, prompt [][]int, tokens []int) []*kernels.Tensor {
	t.Helper()
	st, err := m.NewState(1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Release()
	ctx := context.Background()
	lg, err := st.Prefill(ctx, prompt)
	if err != nil {
		t.Fatal(err)
	}
	var out []*kernels.Tensor
	for _, id := range tokens {
		out = append(out, lg.Clone())
		if lg, err = st.Step(ctx, []int{id}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func absMax(t *kernels.Tensor) float64 {
	m := 0.0
	for _, v := range t.Data {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// TestBF16 loads every LM fixture with bf16 weight storage and checks (1)
// that it computes exactly the fp32 model with bf16-rounded weights (≤ 1e-4:
// the kernels are right) and (2) that its error against the fp32 PyTorch
// golden logits stays within bf16Tol of the logits' scale (the precision
// cost, logged).
func TestBF16(t *testing.T) {
	for _, set := range lmFixtures(t) {
		dir := filepath.Join(set, "hf")
		t.Run(filepath.Base(set), func(t *testing.T) {
			m, err := Load(dir, &LoadOptions{Precision: PrecisionBF16})
			if err != nil {
				t.Fatal(err)
			}
			if m.WeightPrecision() != PrecisionBF16 || m.Embedding != nil || m.Blocks[0].Mixer.InProj != nil {
				t.Fatalf("Load with bf16: precision %s, fp32 weights still held", m.WeightPrecision())
			}
			ref, err := Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			fp32Bytes := ref.WeightBytes()
			roundToBF16(ref)
			if got := m.WeightBytes(); float64(got) > 0.6*float64(fp32Bytes) {
				t.Errorf("bf16 weights take %d bytes, fp32 %d: want about half", got, fp32Bytes)
			}
			io := openFixture(t, filepath.Join(set, "io.safetensors"))
			ids := io.ids(t, "input_ids")
			ctx := context.Background()
			logits, err := m.Forward(ctx, ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.Forward(ctx, ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(t, "logits", want, logits); d > tol {
				t.Errorf("forward logits: max |diff| %.3g from the fp32 model with rounded weights, want ≤ %g", d, tol)
			}
			golden := io.tensor(t, "logits")
			scale := absMax(golden)
			rel := maxDiff(t, "logits", golden, logits) / scale
			if rel > bf16Tol {
				t.Errorf("forward logits: max |diff| / max |logit| = %.3g against PyTorch fp32, want ≤ %g", rel, bf16Tol)
			}

			prompt := io.ids(t, "prompt_ids")
			tokens := io.ids(t, "greedy_new_tokens")[0]
			stepWant := io.tensor(t, "greedy_step_logits")
			v := stepWant.Dim(1)
			got := stepLogits(t, m, prompt, tokens)
			exact := stepLogits(t, ref, prompt, tokens)
			worst, worstRel, agree := 0.0, 0.0, 0
			for i, lg := range got {
				worst = max(worst, maxDiff(t, fmt.Sprint("step ", i), exact[i], lg))
				row := kernels.MustFromSlice(stepWant.Data[i*v:(i+1)*v], 1, v)
				worstRel = max(worstRel, maxDiff(t, fmt.Sprint("step ", i), row, lg)/absMax(row))
				if argmax(lg.Data) == argmax(row.Data) {
					agree++
				}
			}
			if worst > tol {
				t.Errorf("step logits: max |diff| %.3g from the fp32 model with rounded weights, want ≤ %g", worst, tol)
			}
			if worstRel > bf16Tol {
				t.Errorf("step logits: max |diff| / max |logit| = %.3g against PyTorch fp32, want ≤ %g", worstRel, bf16Tol)
			}
			t.Logf("bf16 vs PyTorch fp32: forward %.3g, steps %.3g of the logits' scale (%.3g); greedy top-1 agrees on %d of %d steps; vs rounded-weight fp32: %.3g; weights %d → %d bytes",
				rel, worstRel, scale, agree, len(got), worst, fp32Bytes, m.WeightBytes())
		})
	}
}

// TestBF16Untied covers what the fixtures do not: an untied LM head and
// in_proj/out_proj biases (the bias path of LinearBF16 in prefill and
// step), against the fp32 model with rounded weights, then steady-state
// allocations and concurrent decoding with bf16 weights.
func TestBF16Untied(t *testing.T) {
	cfg := smallConfig()
	cfg.TieEmbeddings, cfg.Bias = false, true
	m, ref := randomModel(t, cfg, 11), randomModel(t, cfg, 11)
	roundToBF16(ref)
	if err := m.UseBF16(); err != nil {
		t.Fatal(err)
	}
	if err := m.UseBF16(); err != nil || m.head16 == m.emb16 {
		t.Fatalf("second UseBF16: %v; untied head shares the embedding: %v", err, m.head16 == m.emb16)
	}
	ctx := context.Background()
	prompt := [][]int{{3, 1, 4, 1, 5, 9, 2, 6}, {5, 3, 5, 8, 9, 7, 9, 3}}
	got, err := m.Forward(ctx, prompt, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Forward(ctx, prompt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(t, "logits", want, got); d > tol {
		t.Errorf("forward logits: max |diff| %.3g, want ≤ %g", d, tol)
	}
	tokens := []int{7, 2, 40, 13}
	g, w := stepLogits(t, m, prompt[:1], tokens), stepLogits(t, ref, prompt[:1], tokens)
	for i := range g {
		if d := maxDiff(t, "step", w[i], g[i]); d > tol {
			t.Errorf("step %d logits: max |diff| %.3g, want ≤ %g", i, d, tol)
		}
	}

	st, err := m.NewState(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Prefill(ctx, prompt); err != nil {
		t.Fatal(err)
	}
	tok := []int{7, 8}
	st.Step(ctx, tok)
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := st.Step(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	if limit := float64(64*len(m.Blocks) + 32); allocs > limit {
		t.Errorf("%.0f allocations per bf16 step, want ≤ %.0f", allocs, limit)
	}

	wantGen, err := m.Generate(ctx, prompt[:1], GenerateOptions{MaxNewTokens: 5})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			g, err := m.Generate(ctx, prompt[:1], GenerateOptions{MaxNewTokens: 5})
			if err == nil && fmt.Sprint(g.Tokens) != fmt.Sprint(wantGen.Tokens) {
				err = fmt.Errorf("goroutine %d: tokens %v, want %v", i, g.Tokens, wantGen.Tokens)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestBF16NeedsPreparedModel checks that UseBF16 refuses a model that is
// not prepared and Load an unknown precision.
func TestBF16NeedsPreparedModel(t *testing.T) {
	m, err := New(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UseBF16(); err == nil {
		t.Error("UseBF16 on an unprepared model: no error")
	}
	if _, err := Load(filepath.Join(golden.Dir(t, "mamba_lm"), "hf"), &LoadOptions{Precision: "int4"}); err == nil {
		t.Error(`Load with Precision "int4": no error`)
	}
}
