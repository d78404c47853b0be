package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/mamba"
)

// benchLMFlags are the options of `gomamba bench-lm`.
type benchLMFlags struct {
	preset, model, device string
	batch, prompt, tokens int
	repeat                int
	json                  bool
}

func init() {
	var fl benchLMFlags
	cmd := &cobra.Command{
		Use:   "bench-lm [--preset mamba-130m | --model DIR] [--batch B] [--prompt L] [--tokens T]",
		Short: "Measure Mamba LM prefill and decode throughput",
		Long: `Measure prompt (parallel scan) and decode (recurrent step) throughput of a Mamba LM:
either a checkpoint folder (--model) or a released shape (--preset: ` + strings.Join(mamba.PresetNames(), ", ") + `)
with the official random initialisation (no download needed; the numbers depend only on
the shapes). Greedy decoding of --tokens new tokens after a --prompt-token prompt, batch
--batch, best of --repeat runs after one warm-up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runBenchLM(ctx, fl, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.preset, "preset", "mamba-130m", "released shape to build with random weights")
	f.StringVarP(&fl.model, "model", "m", "", "checkpoint folder (overrides --preset)")
	f.IntVar(&fl.batch, "batch", 1, "sequences per batch")
	f.IntVar(&fl.prompt, "prompt", 128, "prompt tokens per sequence")
	f.IntVar(&fl.tokens, "tokens", 32, "new tokens per sequence")
	f.IntVar(&fl.repeat, "repeat", 3, "timed runs (the best is reported)")
	f.BoolVar(&fl.json, "json", false, "print a JSON object")
	addDeviceFlag(f, &fl.device)
	rootCmd.AddCommand(cmd)
}

// benchLMResult is the report of one bench-lm run.
type benchLMResult struct {
	Model             string  `json:"model"`
	Device            string  `json:"device"`
	Params            int64   `json:"params"`
	Batch             int     `json:"batch"`
	PromptTokens      int     `json:"prompt_tokens"`
	NewTokens         int     `json:"new_tokens"`
	PrefillTokensPerS float64 `json:"prefill_tokens_per_s"`
	DecodeTokensPerS  float64 `json:"decode_tokens_per_s"`
	DecodeMsPerStep   float64 `json:"decode_ms_per_step"`
}

func runBenchLM(ctx context.Context, fl benchLMFlags, stdout io.Writer) error {
	if fl.batch <= 0 || fl.prompt <= 0 || fl.tokens <= 1 || fl.repeat <= 0 {
		return fmt.Errorf("--batch, --prompt and --repeat must be positive and --tokens at least 2")
	}
	be, err := openBackend(fl.device)
	if err != nil {
		return err
	}
	var m *mamba.Model
	name := fl.model
	if fl.model != "" {
		if m, err = mamba.Load(fl.model, &mamba.LoadOptions{Backend: be}); err != nil {
			return err
		}
	} else {
		cfg, ok := mamba.Preset(fl.preset)
		if !ok {
			return fmt.Errorf("--preset %q: unknown (have %s)", fl.preset, strings.Join(mamba.PresetNames(), ", "))
		}
		name = fl.preset + " (random weights)"
		if m, err = mamba.New(cfg); err != nil {
			return err
		}
		if err := m.InitRandom(1); err != nil {
			return err
		}
		if err := m.Prepare(be); err != nil {
			return err
		}
	}
	prompts := make([][]int, fl.batch)
	for b := range prompts {
		for i := range fl.prompt {
			prompts[b] = append(prompts[b], (b*131+i*7919)%m.Config.VocabSize)
		}
	}
	res := benchLMResult{Model: name, Device: be.Name(), Params: m.Config.Params(), Batch: fl.batch, PromptTokens: fl.prompt, NewTokens: fl.tokens}
	for run := 0; run <= fl.repeat; run++ { // run 0 warms up
		g, err := m.Generate(ctx, prompts, mamba.GenerateOptions{MaxNewTokens: fl.tokens})
		if err != nil {
			return err
		}
		if run == 0 {
			continue
		}
		res.PrefillTokensPerS = max(res.PrefillTokensPerS, g.PrefillTokensPerSecond())
		res.DecodeTokensPerS = max(res.DecodeTokensPerS, g.DecodeTokensPerSecond())
	}
	res.DecodeMsPerStep = 1000 * float64(fl.batch) / res.DecodeTokensPerS
	if fl.json {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "model:   %s, %.1fM params, on %s\n", res.Model, float64(res.Params)/1e6, res.Device)
	fmt.Fprintf(stdout, "prefill: %d × %d tokens: %.1f tokens/s\n", fl.batch, fl.prompt, res.PrefillTokensPerS)
	fmt.Fprintf(stdout, "decode:  %d × %d tokens: %.1f tokens/s (%.2f ms per step)\n", fl.batch, fl.tokens, res.DecodeTokensPerS, res.DecodeMsPerStep)
	return nil
}
