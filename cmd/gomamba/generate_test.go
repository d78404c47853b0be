package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/mamba"
	"github.com/gomamba/gomamba/tokenizer"
)

// goldenGreedy returns the fixture's prompt and greedy continuation.
func goldenGreedy(t *testing.T, set string) (prompt, want []int) {
	t.Helper()
	f, err := checkpoint.Open(filepath.Join(set, "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, dst := range map[string]*[]int{"prompt_ids": &prompt, "greedy_new_tokens": &want} {
		v, _, err := f.Int64(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			*dst = append(*dst, int(x))
		}
	}
	return prompt, want
}

func TestGenerateCLI(t *testing.T) {
	ctx := context.Background()
	for _, sub := range []string{"mamba_lm", "mambabyte"} {
		set := golden.Dir(t, sub)
		prompt, want := goldenGreedy(t, set)
		for _, layout := range []string{"hf", "mamba_ssm"} {
			t.Run(sub+"/"+layout, func(t *testing.T) {
				ids := strings.Trim(fmt.Sprint(prompt), "[]")
				fl := generateFlags{model: filepath.Join(set, layout), maxTokens: len(want), ids: true, json: true}
				var out, errb bytes.Buffer
				if err := runGenerate(ctx, fl, []string{ids}, &out, &errb); err != nil {
					t.Fatal(err)
				}
				var res generateJSON
				if err := json.Unmarshal(out.Bytes(), &res); err != nil {
					t.Fatalf("%v in %q", err, out.String())
				}
				if fmt.Sprint(res.IDs) != fmt.Sprint(want) || res.Finish != "length" {
					t.Errorf("ids %v (%s), want %v", res.IDs, res.Finish, want)
				}
			})
		}
	}

	// Byte-level text prompt, streaming, with a stop string split over tokens.
	set := golden.Dir(t, "mambabyte")
	dir := filepath.Join(set, "hf")
	fl := generateFlags{model: dir, maxTokens: 30}
	var out, errb bytes.Buffer
	if err := runGenerate(ctx, fl, []string{"Once upon a time"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	// greedy bytes after the prompt: 170 ';' '7' 'i' 'i' 'R' ...
	full := out.String()
	// case.json's greedy_new_bytes_decoded (Python bytes.decode(errors="replace")).
	if want := "Once upon a time\ufffd;7iiRRRRRRRk\ufffd{\u0011" + strings.Repeat("\ufffd", 14) + "\n"; full != want {
		t.Errorf("stream %q\nwant   %q", full, want)
	}
	if !strings.Contains(errb.String(), "tokens/s") {
		t.Errorf("no throughput on stderr: %q", errb.String())
	}
	out.Reset()
	fl.stop = []string{"iR"}
	if err := runGenerate(ctx, fl, []string{"Once upon a time"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "Once upon a time\ufffd;7i\n" {
		t.Errorf("with --stop iR: %q", got)
	}

	bad := []struct {
		fl   generateFlags
		args []string
		want string
	}{
		{generateFlags{model: t.TempDir(), maxTokens: 4}, []string{"x"}, "config.json"},
		{generateFlags{model: dir, maxTokens: 4, ids: true}, []string{"1 two"}, "not a token id"},
		{generateFlags{model: dir, maxTokens: 4, ids: true}, []string{"1 999"}, "outside the vocabulary"},
		{generateFlags{model: dir, maxTokens: 0}, []string{"x"}, "--max-tokens"},
		{generateFlags{model: dir, maxTokens: 4, topP: 2}, []string{"x"}, "--top-p"},
		{generateFlags{model: filepath.Join(golden.Dir(t, "mamba_lm"), "hf"), maxTokens: 4}, []string{"text"}, "--ids"},
	}
	for _, tc := range bad {
		err := runGenerate(ctx, tc.fl, tc.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v %v: error %v, want one mentioning %q", tc.fl, tc.args, err, tc.want)
		}
	}
}

// TestGenerateCLITokenizer runs a text prompt through tokenizer.json: a
// random model with the fixture tokenizer's vocabulary is written in the
// transformers layout, and the CLI's streamed text and ids must equal the
// library's greedy continuation decoded by the tokenizer.
func TestLossyUTF8(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", "abc"},
		{"a\xc8 b", "a\ufffd b"},
		{"\x8a\x8b", "\ufffd\ufffd"},
		{"\xe2\x82", "\ufffd"},                 // truncated 3-byte sequence: one subpart
		{"\xe0\x80\x80", "\ufffd\ufffd\ufffd"}, // E0 needs A0..BF next
		{"\xf0\x9f\x98\x80!", "\U0001F600!"},
		{"\xf0\x9f\x98", "\ufffd"},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // surrogate
		{"\ufffd", "\ufffd"},
	}
	for _, tc := range cases {
		if got := tokenizer.LossyUTF8([]byte(tc.in)); got != tc.want {
			t.Errorf("tokenizer.LossyUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGenerateCLITokenizer(t *testing.T) {
	tokDir := golden.Dir(t, "tokenizer")
	tok, err := tokenizer.LoadDir(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(tokDir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644)
	cfgJSON := fmt.Sprintf(`{"model_type": "mamba", "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": %d, "state_size": 8, "expand": 2, "conv_kernel": 4, "time_step_rank": "auto", "layer_norm_epsilon": 1e-5, "eos_token_id": 0}`, tok.VocabSize())
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfgJSON), 0o644)
	cfg, _, err := mamba.ParseConfig([]byte(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mamba.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var named []checkpoint.Named
	host := m.HostTensors()
	for _, name := range slices.Sorted(maps.Keys(host)) {
		x := host[name]
		scale := 0.5
		if strings.HasSuffix(name, "A_log") || strings.HasSuffix(name, "norm.weight") || strings.HasSuffix(name, "norm_f.weight") {
			scale = 0.1
		}
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * scale)
		}
		named = append(named, checkpoint.Named{Name: name, Tensor: x})
	}
	if err := checkpoint.SaveSafetensors(filepath.Join(dir, "model.safetensors"), named, nil); err != nil {
		t.Fatal(err)
	}

	const prompt = "Hello, world! The quick brown fox"
	ref, err := mamba.Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ref.Generate(context.Background(), [][]int{tok.Encode(prompt)}, mamba.GenerateOptions{MaxNewTokens: 12, StopTokens: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	want := g.Tokens[0]
	if want[len(want)-1] == 0 {
		want = want[:len(want)-1] // the CLI does not print the end-of-sequence token
	}

	var out, errb bytes.Buffer
	if err := runGenerate(context.Background(), generateFlags{model: dir, maxTokens: 12}, []string{prompt}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if got, w := out.String(), prompt+tok.Decode(want)+"\n"; got != w {
		t.Errorf("streamed %q\nwant     %q", got, w)
	}
	out.Reset()
	if err := runGenerate(context.Background(), generateFlags{model: dir, maxTokens: 12, json: true}, []string{prompt}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var res generateJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.PromptIDs) != fmt.Sprint(tok.Encode(prompt)) || fmt.Sprint(res.IDs) != fmt.Sprint(g.Tokens[0]) {
		t.Errorf("json ids %v → %v, want %v → %v", res.PromptIDs, res.IDs, tok.Encode(prompt), g.Tokens[0])
	}
	t.Logf("%q → %q (%s)", prompt, res.Text, res.Finish)

	// A folder without tokenizer.json and without an eos id (as the
	// mamba_ssm repositories): --tokenizer supplies both.
	bare := t.TempDir()
	os.WriteFile(filepath.Join(bare, "config.json"), []byte(strings.Replace(cfgJSON, `, "eos_token_id": 0`, "", 1)), 0o644)
	weights, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	os.WriteFile(filepath.Join(bare, "model.safetensors"), weights, 0o644)
	out.Reset()
	if err := runGenerate(context.Background(), generateFlags{model: bare, maxTokens: 12}, []string{prompt}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--ids") {
		t.Errorf("text prompt without a tokenizer: %v", err)
	}
	if err := runGenerate(context.Background(), generateFlags{model: bare, tokenizer: filepath.Join(tokDir, "tokenizer.json"), maxTokens: 12, json: true}, []string{prompt}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var res2 generateJSON
	if err := json.Unmarshal(out.Bytes(), &res2); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res2.IDs) != fmt.Sprint(res.IDs) || res2.Finish != res.Finish {
		t.Errorf("--tokenizer: %v (%s), want %v (%s)", res2.IDs, res2.Finish, res.IDs, res.Finish)
	}
}

func TestBenchLMCLI(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Join(golden.Dir(t, "mambabyte"), "mamba_ssm")
	if err := runBenchLM(context.Background(), benchLMFlags{model: dir, batch: 2, prompt: 8, tokens: 4, repeat: 1, json: true}, &out); err != nil {
		t.Fatal(err)
	}
	var res benchLMResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.PrefillTokensPerS <= 0 || res.DecodeTokensPerS <= 0 || res.Batch != 2 || res.Params != 81856 {
		t.Errorf("result %+v", res)
	}
	if err := runBenchLM(context.Background(), benchLMFlags{preset: "mamba-9b", batch: 1, prompt: 1, tokens: 2, repeat: 1}, &out); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("unknown preset: %v", err)
	}
	// --precision int8 on a checkpoint and on a random preset: int8
	// weights, at most 40% of fp32's bytes (a quarter plus scales and
	// padding, which weigh more in the small model).
	prev := precisionFlag
	defer func() { precisionFlag = prev }()
	precisionFlag = "int8"
	for _, fl := range []benchLMFlags{{model: dir, batch: 1, prompt: 4, tokens: 2, repeat: 1}, {preset: "mamba-130m", batch: 1, prompt: 2, tokens: 2, repeat: 1}} {
		got, err := measureLM(context.Background(), fl)
		if err != nil {
			t.Fatal(err)
		}
		if got.Weights != "int8" || float64(got.WeightBytes) > 0.4*4*float64(got.Params) || got.DecodeTokensPerS <= 0 {
			t.Errorf("%+v: int8 result %+v", fl, got)
		}
	}
}

// TestGenerateCLIPacked runs generate with --precision bf16 and int8 on
// the CPU (packed weight storage; int8 also through --device auto) on the
// mambabyte fixture: the greedy tokens equal PyTorch fp32's (the logits'
// error, ≤ 0.8% of their scale in bf16 and ≤ 2.5% in int8, stays below the
// fixture's top-1 margins), and the model line names the storage. int8 on
// a GPU is refused.
func TestGenerateCLIPacked(t *testing.T) {
	prev := precisionFlag
	defer func() { precisionFlag = prev }()
	set := golden.Dir(t, "mambabyte")
	prompt, want := goldenGreedy(t, set)
	for _, c := range []struct{ precision, device string }{{"bf16", "cpu"}, {"int8", "cpu"}, {"int8", "auto"}} {
		precisionFlag = c.precision
		fl := generateFlags{model: filepath.Join(set, "hf"), device: c.device, maxTokens: len(want), ids: true}
		var out, errb bytes.Buffer
		if err := runGenerate(context.Background(), fl, []string{strings.Trim(fmt.Sprint(prompt), "[]")}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errb.String(), "on cpu, "+c.precision+" weights") {
			t.Errorf("%+v: model line does not say cpu, %s weights: %q", c, c.precision, errb.String())
		}
		fl.json, fl.quiet = true, true
		out.Reset()
		if err := runGenerate(context.Background(), fl, []string{strings.Trim(fmt.Sprint(prompt), "[]")}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		var res generateJSON
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("%v in %q", err, out.String())
		}
		if fmt.Sprint(res.IDs) != fmt.Sprint(want) {
			t.Errorf("%+v: greedy ids %v, PyTorch fp32 %v", c, res.IDs, want)
		}
	}
	precisionFlag = "int8"
	if _, _, err := openLMBackend("cuda"); err == nil || !strings.Contains(err.Error(), "CPU only") {
		t.Errorf("--precision int8 --device cuda: %v, want the CPU-only error", err)
	}
}
