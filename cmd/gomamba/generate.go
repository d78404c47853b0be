package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/mamba"
	"github.com/gomamba/gomamba/tokenizer"
)

// generateFlags are the options of `gomamba generate`.
type generateFlags struct {
	model       string
	tokenizer   string
	device      string
	maxTokens   int
	temperature float64
	topK        int
	topP        float64
	repPenalty  float64
	seed        uint64
	stop        []string
	stopIDs     []int
	ignoreEOS   bool
	ids         bool
	json        bool
	quiet       bool
}

func init() {
	var fl generateFlags
	cmd := &cobra.Command{
		Use:   `generate --model DIR [flags] "PROMPT" ["PROMPT"...]`,
		Short: "Continue text with a Mamba language model",
		Long: `Continue one or more prompts with a Mamba LM read from a checkpoint folder in either
public layout: transformers (config.json + model.safetensors, state-spaces/mamba-*-hf) or
mamba_ssm (config.json + pytorch_model.bin, state-spaces/mamba-*).

The prompt is tokenized with --tokenizer or DIR/tokenizer.json when present (the
mamba_ssm repositories ship none: point --tokenizer at GPT-NeoX-20B's); byte-level models
(vocabulary of 256) read the prompt as UTF-8 bytes; --ids takes token ids instead
("12 7 99" or "12,7,99"). Several prompts run as one batch.

Decoding is greedy unless --temperature > 0 (then top-k / top-p sampling with
--seed, as mamba_ssm's sample()). Generation stops after --max-tokens, at the
model's end-of-sequence id (unless --ignore-eos), at a --stop-id or when the text
contains a --stop string. One prompt streams to stdout as it is generated;
throughput goes to stderr. --json prints one JSON object per prompt instead.

On the CPU, --precision bf16 or int8 stores the linear layers, the embedding and
the LM head in bfloat16, or in int8 with one fp32 scale per 64 inputs of each row:
a decode step streams every weight once, so it reads a half or about a quarter
of fp32's bytes (mamba-130m: 262 or 142 MB instead of 519), at the cost of
rounding the weights (int8 moves the logits by up to ~4% of their scale on the
test fixtures, bf16 by ~0.7%); accumulation, scan, state and norms stay fp32.
fp32 (the default) matches PyTorch within 1e-4.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runGenerate(ctx, fl, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.model, "model", "m", "", "checkpoint folder (config.json + weights)")
	f.StringVar(&fl.tokenizer, "tokenizer", "", "tokenizer.json to use (default: the one in the model folder)")
	addDeviceFlag(f, &fl.device, "auto")
	f.IntVarP(&fl.maxTokens, "max-tokens", "n", 64, "most new tokens per prompt")
	f.Float64VarP(&fl.temperature, "temperature", "t", 0, "sampling temperature (0 = greedy)")
	f.IntVar(&fl.topK, "top-k", 0, "sample among the k most likely tokens (0 = all; 1 = greedy)")
	f.Float64Var(&fl.topP, "top-p", 0, "nucleus sampling threshold in (0, 1) (0 = off)")
	f.Float64Var(&fl.repPenalty, "repetition-penalty", 1, "divide positive (multiply negative) logits of tokens already seen by this (1 = off)")
	f.Uint64Var(&fl.seed, "seed", 0, "random seed for sampling")
	f.StringArrayVar(&fl.stop, "stop", nil, "stop when the generated text contains this string (repeatable)")
	f.IntSliceVar(&fl.stopIDs, "stop-id", nil, "stop at this token id (repeatable)")
	f.BoolVar(&fl.ignoreEOS, "ignore-eos", false, "do not stop at the model's end-of-sequence id")
	f.BoolVar(&fl.ids, "ids", false, "prompts are token ids, not text")
	f.BoolVar(&fl.json, "json", false, "print one JSON object per prompt")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no throughput report on stderr")
	_ = cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}

// codec turns text into token ids and ids into bytes.
type codec interface {
	Encode(text string) ([]int, error)
	// Bytes returns the raw bytes a token stands for.
	Bytes(id int) []byte
}

// byteCodec is the byte-level vocabulary (MambaByte): id = byte value.
type byteCodec struct{}

func (byteCodec) Encode(text string) ([]int, error) {
	ids := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int(text[i])
	}
	return ids, nil
}

func (byteCodec) Bytes(id int) []byte {
	if id < 0 || id > 255 {
		return nil
	}
	return []byte{byte(id)}
}

// idCodec prints ids as numbers when no tokenizer is available.
type idCodec struct{}

func (idCodec) Encode(string) ([]int, error) {
	return nil, errors.New("no tokenizer.json in the model folder and the vocabulary is not byte-level: pass token ids with --ids")
}

func (idCodec) Bytes(id int) []byte { return []byte(" " + strconv.Itoa(id)) }

// bpeCodec is a byte-level BPE tokenizer (GPT-NeoX for the released
// models). Bytes are tokenizer.TokenBytes, so that streamed output is exactly
// the bytes that tokenizer.Decode would turn into text.
type bpeCodec struct{ tok *tokenizer.Tokenizer }

func newBPECodec(tok *tokenizer.Tokenizer) *bpeCodec { return &bpeCodec{tok: tok} }

func (c *bpeCodec) Encode(text string) ([]int, error) { return c.tok.Encode(text), nil }

func (c *bpeCodec) Bytes(id int) []byte { return c.tok.TokenBytes(id) }

// openCodec picks the text codec: an explicit tokenizer.json, the model
// folder's, the byte-level vocabulary, or ids only.
func openCodec(dir, tokPath string, cfg mamba.Config) (codec, error) {
	if tokPath == "" {
		if p := filepath.Join(dir, "tokenizer.json"); fileExists(p) {
			tokPath = p
		}
	}
	if tokPath != "" {
		tok, err := tokenizer.Load(tokPath)
		if err != nil {
			return nil, err
		}
		if tok.VocabSize() > cfg.PaddedVocab() {
			return nil, fmt.Errorf("%s has %d ids, more than the model's %d embedding rows", tokPath, tok.VocabSize(), cfg.PaddedVocab())
		}
		return newBPECodec(tok), nil
	}
	if cfg.VocabSize <= 256 {
		return byteCodec{}, nil
	}
	return idCodec{}, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// eosID returns the end-of-sequence id: the config's, else the tokenizer's
// <|endoftext|> (GPT-NeoX; mamba_ssm configs carry no eos id), else -1.
func eosID(cfg mamba.Config, cd codec) int {
	if cfg.EOSTokenID >= 0 {
		return cfg.EOSTokenID
	}
	if b, ok := cd.(*bpeCodec); ok {
		if id, ok := b.tok.TokenToID("<|endoftext|>"); ok {
			return id
		}
	}
	return -1
}

// parseIDs reads "1 2 3" or "1,2,3".
func parseIDs(s string) ([]int, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("--ids: empty prompt %q", s)
	}
	ids := make([]int, len(fields))
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("--ids: %q is not a token id", f)
		}
		ids[i] = v
	}
	return ids, nil
}

// rowOutput collects one prompt's generated bytes and streams them with a
// hold-back, so that a --stop string split across tokens is never printed.
type rowOutput struct {
	text    []byte
	printed int
	stopped bool
}

// add appends a token's bytes; it returns true when a stop string appeared
// (the text is then cut just before it).
func (r *rowOutput) add(b []byte, stops []string) bool {
	from := max(0, len(r.text)-maxLen(stops))
	r.text = append(r.text, b...)
	for _, s := range stops {
		if i := bytes.Index(r.text[from:], []byte(s)); i >= 0 {
			r.text = r.text[:from+i]
			r.stopped = true
			return true
		}
	}
	return false
}

// flush writes what is safe to print: everything once final, otherwise all
// but the bytes that could still start a stop string or an unfinished UTF-8
// character.
func (r *rowOutput) flush(w io.Writer, stops []string, final bool) {
	end := len(r.text)
	if !final && !r.stopped {
		end -= max(maxLen(stops)-1, 0)
		for k := 1; k <= 3 && end-k >= r.printed && end-k >= 0; k++ {
			if c := r.text[end-k]; c >= 0xC0 { // a lead byte: is its character complete?
				if !utf8.FullRune(r.text[end-k : end]) {
					end -= k
				}
				break
			} else if c < 0x80 {
				break
			}
		}
	}
	if end > r.printed {
		io.WriteString(w, tokenizer.LossyUTF8(r.text[r.printed:end]))
		r.printed = end
	}
}

func maxLen(ss []string) int {
	n := 0
	for _, s := range ss {
		n = max(n, len(s))
	}
	return n
}

// generateJSON is one --json output object.
type generateJSON struct {
	Prompt       string  `json:"prompt"`
	PromptIDs    []int   `json:"prompt_ids"`
	IDs          []int   `json:"ids"`
	Text         string  `json:"text"`
	Finish       string  `json:"finish"`
	PrefillTokS  float64 `json:"prefill_tokens_per_s"`
	DecodeTokS   float64 `json:"decode_tokens_per_s"`
	PromptTokens int     `json:"prompt_tokens"`
	NewTokens    int     `json:"new_tokens"`
}

func runGenerate(ctx context.Context, fl generateFlags, args []string, stdout, stderr io.Writer) error {
	if fl.maxTokens <= 0 {
		return fmt.Errorf("--max-tokens must be positive")
	}
	if fl.topP < 0 || fl.topP > 1 || fl.topK < 0 || fl.temperature < 0 || fl.repPenalty < 0 {
		return fmt.Errorf("--top-p must be in [0, 1], --top-k, --temperature and --repetition-penalty non-negative")
	}
	for _, s := range fl.stop {
		if s == "" {
			return fmt.Errorf("--stop: empty string")
		}
	}
	cfg, layout, err := mamba.LoadConfig(fl.model)
	if err != nil {
		return err
	}
	cd, err := openCodec(fl.model, fl.tokenizer, cfg)
	if err != nil {
		return err
	}
	prompts := make([][]int, len(args))
	for i, a := range args {
		if fl.ids {
			prompts[i], err = parseIDs(a)
		} else {
			prompts[i], err = cd.Encode(a)
		}
		if err != nil {
			return err
		}
		if len(prompts[i]) == 0 {
			return fmt.Errorf("prompt %d is empty", i+1)
		}
	}
	be, prec, err := openLMBackend(fl.device)
	if err != nil {
		return err
	}
	m, err := mamba.Load(fl.model, &mamba.LoadOptions{Backend: be, Precision: prec})
	if err != nil {
		return err
	}
	defer m.Release()
	if !fl.quiet && !fl.json {
		fmt.Fprintf(stderr, "model: %s (%s layout, d_model %d, %d layers, vocab %d, %.1fM params) on %s, %s weights\n",
			fl.model, layout, cfg.DModel, cfg.NLayer, cfg.PaddedVocab(), float64(cfg.Params())/1e6, m.Backend().Name(), m.WeightPrecision())
	}
	stopIDs := append([]int(nil), fl.stopIDs...)
	if eos := eosID(cfg, cd); eos >= 0 && !fl.ignoreEOS {
		stopIDs = append(stopIDs, eos)
	}
	rows := make([]rowOutput, len(prompts))
	stream := len(prompts) == 1 && !fl.json
	eos := func(id int) bool {
		for _, s := range stopIDs {
			if id == s {
				return true
			}
		}
		return false
	}
	opt := mamba.GenerateOptions{
		MaxNewTokens: fl.maxTokens, Temperature: fl.temperature, TopK: fl.topK, TopP: fl.topP,
		Seed: fl.seed, StopTokens: stopIDs, RepetitionPenalty: fl.repPenalty,
		OnToken: func(row, pos, id int) (bool, error) {
			r := &rows[row]
			if eos(id) {
				return false, nil // stop token: ends the row, not printed
			}
			stop := r.add(cd.Bytes(id), fl.stop)
			if stream {
				r.flush(stdout, fl.stop, false)
			}
			return stop, nil
		},
	}
	if stream {
		if fl.ids {
			var p []byte
			for _, id := range prompts[0] {
				p = append(p, cd.Bytes(id)...)
			}
			io.WriteString(stdout, tokenizer.LossyUTF8(p))
		} else {
			fmt.Fprint(stdout, args[0])
		}
	}
	g, err := m.Generate(ctx, prompts, opt)
	if stream {
		rows[0].flush(stdout, fl.stop, true)
		fmt.Fprintln(stdout)
	}
	if err != nil {
		return err
	}
	for i := range prompts {
		if rows[i].stopped {
			g.Finish[i] = "stop"
		}
		switch {
		case fl.json:
			out := generateJSON{
				Prompt: args[i], PromptIDs: prompts[i], IDs: g.Tokens[i], Text: tokenizer.LossyUTF8(rows[i].text), Finish: g.Finish[i],
				PrefillTokS: g.PrefillTokensPerSecond(), DecodeTokS: g.DecodeTokensPerSecond(),
				PromptTokens: len(prompts[i]), NewTokens: len(g.Tokens[i]),
			}
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, string(b))
		case !stream:
			fmt.Fprintf(stdout, "[%d] %s%s\n", i+1, args[i], tokenizer.LossyUTF8(rows[i].text))
		}
	}
	if !fl.quiet && !fl.json {
		fmt.Fprintf(stderr, "prefill: %d tokens in %.3fs (%.1f tokens/s); decode: %d tokens in %.3fs (%.1f tokens/s, batch %d); finish: %s\n",
			g.PromptTokens, g.Prefill.Seconds(), g.PrefillTokensPerSecond(),
			g.NewTokens, g.Decode.Seconds(), g.DecodeTokensPerSecond(), len(prompts), strings.Join(g.Finish, ","))
	}
	return nil
}
