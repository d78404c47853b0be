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

// packedTol is the documented error of each packed weight storage on the
// LM golden fixtures: the max |logit − fp32 PyTorch logit| divided by the
// largest |logit| of the fixture (the logits' scale), for the full forward
// and the prefill + recurrent steps; each leaves about a factor of two over
// the measured error.
//
// bf16 keeps 8 bits of mantissa, a relative rounding of at most
// 2⁻⁹ ≈ 0.2% per weight. Measured on mamba_lm and mambabyte: 0.0056
// (forward) and 0.0072 (steps) of the scale, greedy top-1 equal to
// PyTorch's on 19 of 20 and 30 of 30 teacher-forced steps.
//
// int8 (groups of Int8Group columns) rounds each weight by up to
// max|w|/254 of its group, about 4× bf16's error. Measured: 0.0149 and
// 0.0241 (forward), 0.0369 and 0.0228 (steps) of the scale on mamba_lm and
// mambabyte, greedy top-1 equal to PyTorch's on 20 of 20 and 30 of 30
// steps.
var packedTol = map[string]float64{PrecisionBF16: 0.015, PrecisionInt8: 0.075}

// packers make each packed storage from an fp32 matrix, as UseBF16 and
// UseInt8 do.
var packers = map[string]func(*kernels.Tensor) kernels.PackedMatrix{
	PrecisionBF16: func(w *kernels.Tensor) kernels.PackedMatrix { return kernels.NewBF16Matrix(w) },
	PrecisionInt8: func(w *kernels.Tensor) kernels.PackedMatrix { return kernels.NewInt8Matrix(w, Int8Group) },
}

// roundWeights replaces every weight of a prepared CPU model that the
// packed storage of the given precision holds by its stored value (packed,
// then widened back), in place, keeping fp32 storage: the same function
// UseBF16 / UseInt8 compute, with the fp32 kernels.
func roundWeights(m *Model, precision string) {
	round := func(t *kernels.Tensor) { packers[precision](t).Widen(t) }
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

// TestPrecision loads every LM fixture with each packed weight storage
// (bf16, int8) and checks (1) that it computes exactly the fp32 model with
// the stored (rounded) weights (≤ 1e-4: the kernels are right) and (2)
// that its error against the fp32 PyTorch golden logits stays within
// packedTol of the logits' scale (the precision cost, logged with the
// greedy top-1 agreement).
func TestPrecision(t *testing.T) {
	for _, prec := range []string{PrecisionBF16, PrecisionInt8} {
		for _, set := range lmFixtures(t) {
			t.Run(prec+"/"+filepath.Base(set), func(t *testing.T) { checkPrecision(t, prec, filepath.Join(set, "hf")) })
		}
	}
}

// checkPrecision is TestPrecision on one storage and fixture folder.
func checkPrecision(t *testing.T, prec, dir string) {
	set := filepath.Dir(dir)
	m, err := Load(dir, &LoadOptions{Precision: prec})
	if err != nil {
		t.Fatal(err)
	}
	if m.WeightPrecision() != prec || m.Embedding != nil || m.Blocks[0].Mixer.InProj != nil {
		t.Fatalf("Load with %s: precision %s, fp32 weights still held", prec, m.WeightPrecision())
	}
	ref, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fp32Bytes := ref.WeightBytes()
	roundWeights(ref, prec)
	if got, most := m.WeightBytes(), map[string]float64{PrecisionBF16: 0.6, PrecisionInt8: 0.4}[prec]; float64(got) > most*float64(fp32Bytes) {
		t.Errorf("%s weights take %d bytes, fp32 %d: want at most %g of it", prec, got, fp32Bytes, most)
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
	if rel > packedTol[prec] {
		t.Errorf("forward logits: max |diff| / max |logit| = %.3g against PyTorch fp32, want ≤ %g", rel, packedTol[prec])
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
	if worstRel > packedTol[prec] {
		t.Errorf("step logits: max |diff| / max |logit| = %.3g against PyTorch fp32, want ≤ %g", worstRel, packedTol[prec])
	}
	t.Logf("%s vs PyTorch fp32: forward %.3g, steps %.3g of the logits' scale (%.3g); greedy top-1 agrees on %d of %d steps; vs rounded-weight fp32: %.3g; weights %d → %d bytes",
		prec, rel, worstRel, scale, agree, len(got), worst, fp32Bytes, m.WeightBytes())
}

// TestPackedUntied covers what the fixtures do not, for bf16 and int8
// storage: an untied LM head and in_proj/out_proj biases (the bias path of
// LinearPacked in prefill and step), against the fp32 model with rounded
// weights, then steady-state allocations and concurrent decoding.
func TestPackedUntied(t *testing.T) {
	for _, prec := range []string{PrecisionBF16, PrecisionInt8} {
		t.Run(prec, func(t *testing.T) { checkPackedUntied(t, prec) })
	}
}

// checkPackedUntied is TestPackedUntied on one storage.
func checkPackedUntied(t *testing.T, prec string) {
	cfg := smallConfig()
	cfg.TieEmbeddings, cfg.Bias = false, true
	m, ref := randomModel(t, cfg, 11), randomModel(t, cfg, 11)
	roundWeights(ref, prec)
	if err := m.UsePrecision(prec); err != nil {
		t.Fatal(err)
	}
	if err := m.UsePrecision(prec); err != nil || m.headP == m.embP {
		t.Fatalf("second Use %s: %v; untied head shares the embedding: %v", prec, err, m.headP == m.embP)
	}
	other := map[string]string{PrecisionBF16: PrecisionInt8, PrecisionInt8: PrecisionBF16}[prec]
	if err := m.UsePrecision(other); err == nil {
		t.Errorf("Use %s on a model stored in %s: no error", other, prec)
	}
	if err := m.UsePrecision(PrecisionFP32); err == nil {
		t.Errorf("Use fp32 on a model stored in %s: no error", prec)
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

	stepAllocs(t, m, prompt)

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

// TestPackedNeedsPreparedModel checks that UseBF16 and UseInt8 refuse a
// model that is not prepared and Load an unknown precision.
func TestPackedNeedsPreparedModel(t *testing.T) {
	m, err := New(smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UseBF16(); err == nil {
		t.Error("UseBF16 on an unprepared model: no error")
	}
	if err := m.UseInt8(); err == nil {
		t.Error("UseInt8 on an unprepared model: no error")
	}
	if _, err := Load(filepath.Join(golden.Dir(t, "mamba_lm"), "hf"), &LoadOptions{Precision: "int4"}); err == nil {
		t.Error(`Load with Precision "int4": no error`)
	}
}
