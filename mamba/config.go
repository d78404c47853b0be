package mamba

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Layout names a public checkpoint layout of the Mamba LM.
type Layout string

// The two public layouts: they differ in the config schema, the embedding key
// (`backbone.embeddings.weight` vs `backbone.embedding.weight`) and whether
// vocab_size is already padded.
const (
	// LayoutHF is huggingface/transformers MambaForCausalLM
	// (state-spaces/mamba-*-hf): config.json with hidden_size,
	// num_hidden_layers, state_size...; model.safetensors (or sharded).
	LayoutHF Layout = "hf"
	// LayoutMambaSSM is state-spaces/mamba MambaLMHeadModel: config.json with
	// d_model, n_layer, ssm_cfg...; pytorch_model.bin.
	LayoutMambaSSM Layout = "mamba_ssm"
)

// Config holds the hyper-parameters of a Mamba (v1) language model. It is a
// plain struct: fill it by hand, take a preset (Preset), or read it from a
// checkpoint folder (LoadConfig).
type Config struct {
	// DModel is the residual width (d_model, hidden_size).
	DModel int
	// NLayer is the number of residual blocks.
	NLayer int
	// VocabSize is the vocabulary size as configured; the embedding has
	// PaddedVocab() rows.
	VocabSize int
	// PadVocabMultiple rounds the embedding rows up to a multiple (8 in all
	// released checkpoints); 0 or 1 means no padding.
	PadVocabMultiple int
	// DState is the SSM state size N per channel (16).
	DState int
	// DConv is the causal conv width K (4).
	DConv int
	// Expand is d_inner / d_model (2).
	Expand int
	// DInner is the mixer width E; 0 means Expand·DModel.
	DInner int
	// DTRank is the rank of the dt projection; 0 means ceil(DModel/16).
	DTRank int
	// NormEps is the RMSNorm epsilon (1e-5).
	NormEps float64
	// ConvBias is whether conv1d has a bias (true in every release).
	ConvBias bool
	// Bias is whether in_proj and out_proj have biases (false in every release).
	Bias bool
	// TieEmbeddings makes the LM head the embedding matrix (true in every
	// release); otherwise the checkpoint holds lm_head.weight.
	TieEmbeddings bool
	// EOSTokenID is the end-of-sequence id from the config, or -1 if none.
	EOSTokenID int
}

// Inner returns d_inner.
func (c Config) Inner() int {
	if c.DInner > 0 {
		return c.DInner
	}
	return c.Expand * c.DModel
}

// Rank returns dt_rank (ceil(d_model/16) unless set).
func (c Config) Rank() int {
	if c.DTRank > 0 {
		return c.DTRank
	}
	return (c.DModel + 15) / 16
}

// PaddedVocab returns the number of embedding rows (and logits per
// position): VocabSize rounded up to a multiple of PadVocabMultiple.
func (c Config) PaddedVocab() int {
	m := c.PadVocabMultiple
	if m <= 1 || c.VocabSize%m == 0 {
		return c.VocabSize
	}
	return c.VocabSize + m - c.VocabSize%m
}

// Params returns the number of parameters (the tied head counted once).
func (c Config) Params() int64 {
	d, e, n, r, k := int64(c.DModel), int64(c.Inner()), int64(c.DState), int64(c.Rank()), int64(c.DConv)
	per := 2*e*d + e*k + e*(r+2*n) + e*r + e + e*n + e + d*e + d
	if c.ConvBias {
		per += e
	}
	if c.Bias {
		per += 2*e + d
	}
	total := int64(c.NLayer)*per + int64(c.PaddedVocab())*d + d
	if !c.TieEmbeddings {
		total += int64(c.PaddedVocab()) * d
	}
	return total
}

// Validate reports the first problem with c: non-positive or absurd sizes.
func (c Config) Validate() error {
	checks := []struct {
		name   string
		v, max int
	}{
		{"d_model", c.DModel, 1 << 16},
		{"n_layer", c.NLayer, 1 << 12},
		{"vocab_size", c.VocabSize, 1 << 24},
		{"d_state", c.DState, 1 << 12},
		{"d_conv", c.DConv, 1 << 8},
		{"d_inner", c.Inner(), 1 << 18},
		{"dt_rank", c.Rank(), 1 << 16},
	}
	for _, ch := range checks {
		if ch.v <= 0 || ch.v > ch.max {
			return fmt.Errorf("mamba: config: %s = %d out of range (1..%d)", ch.name, ch.v, ch.max)
		}
	}
	if c.PadVocabMultiple < 0 || c.PadVocabMultiple > 1<<16 {
		return fmt.Errorf("mamba: config: pad_vocab_size_multiple = %d out of range", c.PadVocabMultiple)
	}
	if !(c.NormEps > 0 && c.NormEps < 1) {
		return fmt.Errorf("mamba: config: norm epsilon %g out of range (0, 1)", c.NormEps)
	}
	if c.EOSTokenID >= c.PaddedVocab() {
		return fmt.Errorf("mamba: config: eos_token_id %d outside the vocabulary (%d)", c.EOSTokenID, c.PaddedVocab())
	}
	return nil
}

// presets are the released state-spaces/mamba checkpoints.
var presets = map[string]Config{
	"mamba-130m": released(768, 24),
	"mamba-370m": released(1024, 48),
	"mamba-790m": released(1536, 48),
	"mamba-1.4b": released(2048, 48),
	"mamba-2.8b": released(2560, 64),
}

func released(d, n int) Config {
	return Config{
		DModel: d, NLayer: n, VocabSize: 50277, PadVocabMultiple: 8,
		DState: 16, DConv: 4, Expand: 2, NormEps: 1e-5,
		ConvBias: true, TieEmbeddings: true, EOSTokenID: 0,
	}
}

// Preset returns the configuration of a released checkpoint by name
// (mamba-130m, mamba-370m, mamba-790m, mamba-1.4b, mamba-2.8b).
func Preset(name string) (Config, bool) {
	c, ok := presets[name]
	return c, ok
}

// PresetNames lists the preset names in sorted order.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// hfConfig is the transformers MambaConfig schema (config.json of the -hf
// repositories). Pointers distinguish absent keys from zero values.
type hfConfig struct {
	ModelType          string          `json:"model_type"`
	Architectures      []string        `json:"architectures"`
	HiddenSize         *int            `json:"hidden_size"`
	NumHiddenLayers    *int            `json:"num_hidden_layers"`
	VocabSize          *int            `json:"vocab_size"`
	StateSize          *int            `json:"state_size"`
	Expand             *int            `json:"expand"`
	ConvKernel         *int            `json:"conv_kernel"`
	IntermediateSize   *int            `json:"intermediate_size"`
	TimeStepRank       json.RawMessage `json:"time_step_rank"`
	LayerNormEpsilon   *float64        `json:"layer_norm_epsilon"`
	UseBias            *bool           `json:"use_bias"`
	UseConvBias        *bool           `json:"use_conv_bias"`
	HiddenAct          *string         `json:"hidden_act"`
	TieWordEmbeddings  *bool           `json:"tie_word_embeddings"`
	PadVocabMultiple   *int            `json:"pad_vocab_size_multiple"`
	EOSTokenID         json.RawMessage `json:"eos_token_id"`
	RMSNorm            *bool           `json:"rms_norm"`
	Dtype              *string         `json:"torch_dtype"`
	DtypeNew           *string         `json:"dtype"`
	UseMambaPy         *bool           `json:"use_mambapy"`
	ResidualInFP32     *bool           `json:"residual_in_fp32"`
	LegacyDModel       *int            `json:"d_model"`
	LegacyNLayer       *int            `json:"n_layer"`
	TimeStepInitScheme *string         `json:"time_step_init_scheme"`
}

// ssmConfig is the state-spaces/mamba MambaConfig schema.
type ssmConfig struct {
	DModel           *int            `json:"d_model"`
	DIntermediate    *int            `json:"d_intermediate"`
	NLayer           *int            `json:"n_layer"`
	VocabSize        *int            `json:"vocab_size"`
	SSMCfg           map[string]any  `json:"ssm_cfg"`
	AttnLayerIdx     []int           `json:"attn_layer_idx"`
	RMSNorm          *bool           `json:"rms_norm"`
	ResidualInFP32   *bool           `json:"residual_in_fp32"`
	FusedAddNorm     *bool           `json:"fused_add_norm"`
	PadVocabMultiple *int            `json:"pad_vocab_size_multiple"`
	TieEmbeddings    *bool           `json:"tie_embeddings"`
	NormEpsilon      *float64        `json:"norm_epsilon"`
	EOSTokenID       json.RawMessage `json:"eos_token_id"`
}

// ParseConfig reads a config.json of either layout and returns the
// configuration and the layout it was written for. The layout is decided by
// the schema: transformers configs carry model_type "mamba" / hidden_size,
// mamba_ssm configs carry d_model and n_layer without hidden_size.
func ParseConfig(data []byte) (Config, Layout, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return Config{}, "", fmt.Errorf("mamba: config.json: %w", err)
	}
	if mt, ok := probe["model_type"]; ok {
		var s string
		_ = json.Unmarshal(mt, &s)
		if s != "mamba" {
			return Config{}, "", fmt.Errorf("mamba: config.json: model_type %q is not supported (want \"mamba\"; Mamba-2 and other families are not)", s)
		}
	}
	_, hasHidden := probe["hidden_size"]
	_, hasMT := probe["model_type"]
	if hasHidden || hasMT {
		c, err := parseHF(data)
		return c, LayoutHF, err
	}
	if _, ok := probe["d_model"]; ok {
		c, err := parseSSM(data)
		return c, LayoutMambaSSM, err
	}
	return Config{}, "", fmt.Errorf("mamba: config.json: neither a transformers MambaConfig (hidden_size) nor a mamba_ssm MambaConfig (d_model)")
}

func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	return dec.Decode(v)
}

func parseHF(data []byte) (Config, error) {
	var h hfConfig
	if err := decodeJSON(data, &h); err != nil {
		return Config{}, fmt.Errorf("mamba: config.json (transformers layout): %w", err)
	}
	c := Config{PadVocabMultiple: 1, DState: 16, DConv: 4, Expand: 2, NormEps: 1e-5, ConvBias: true, TieEmbeddings: true, EOSTokenID: -1}
	pick := func(dst *int, vals ...*int) {
		for _, v := range vals {
			if v != nil {
				*dst = *v
				return
			}
		}
	}
	pick(&c.DModel, h.HiddenSize, h.LegacyDModel)
	pick(&c.NLayer, h.NumHiddenLayers, h.LegacyNLayer)
	pick(&c.VocabSize, h.VocabSize)
	pick(&c.DState, h.StateSize)
	pick(&c.Expand, h.Expand)
	pick(&c.DConv, h.ConvKernel)
	pick(&c.DInner, h.IntermediateSize)
	// vocab_size in transformers configs is the embedding row count already;
	// pad_vocab_size_multiple is informational there.
	if h.LayerNormEpsilon != nil {
		c.NormEps = *h.LayerNormEpsilon
	}
	if h.UseBias != nil {
		c.Bias = *h.UseBias
	}
	if h.UseConvBias != nil {
		c.ConvBias = *h.UseConvBias
	}
	if h.TieWordEmbeddings != nil {
		c.TieEmbeddings = *h.TieWordEmbeddings
	}
	if h.HiddenAct != nil && *h.HiddenAct != "silu" {
		return Config{}, fmt.Errorf("mamba: config.json: hidden_act %q is not supported (only \"silu\")", *h.HiddenAct)
	}
	if h.RMSNorm != nil && !*h.RMSNorm {
		return Config{}, fmt.Errorf("mamba: config.json: rms_norm false (LayerNorm blocks) is not supported")
	}
	for _, dt := range []*string{h.Dtype, h.DtypeNew} {
		if dt != nil && !knownDtype(*dt) {
			return Config{}, fmt.Errorf("mamba: config.json: unknown dtype %q", *dt)
		}
	}
	if (h.HiddenSize == nil && h.LegacyDModel == nil) || (h.NumHiddenLayers == nil && h.LegacyNLayer == nil) || h.VocabSize == nil {
		return Config{}, fmt.Errorf("mamba: config.json: hidden_size, num_hidden_layers and vocab_size are required")
	}
	r, err := parseRank(h.TimeStepRank)
	if err != nil {
		return Config{}, err
	}
	c.DTRank = r
	if c.EOSTokenID, err = parseTokenID(h.EOSTokenID); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

func knownDtype(s string) bool {
	switch strings.TrimPrefix(s, "torch.") {
	case "float32", "float16", "bfloat16", "float", "half":
		return true
	}
	return false
}

func parseRank(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "auto" {
			return 0, nil
		}
		return 0, fmt.Errorf("mamba: config.json: time_step_rank %q (want an integer or \"auto\")", s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) || f <= 0 {
		return 0, fmt.Errorf("mamba: config.json: time_step_rank %s (want a positive integer or \"auto\")", raw)
	}
	return int(f), nil
}

// parseTokenID reads an id that may be null, an integer or a list (the first
// element is used).
func parseTokenID(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return -1, nil
	}
	var id int
	if json.Unmarshal(raw, &id) == nil {
		return id, nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return ids[0], nil
	}
	return 0, fmt.Errorf("mamba: config.json: eos_token_id %s is not an integer", raw)
}

func parseSSM(data []byte) (Config, error) {
	var s ssmConfig
	if err := decodeJSON(data, &s); err != nil {
		return Config{}, fmt.Errorf("mamba: config.json (mamba_ssm layout): %w", err)
	}
	c := Config{PadVocabMultiple: 8, DState: 16, DConv: 4, Expand: 2, NormEps: 1e-5, ConvBias: true, TieEmbeddings: true, EOSTokenID: -1}
	if s.DModel == nil || s.NLayer == nil || s.VocabSize == nil {
		return Config{}, fmt.Errorf("mamba: config.json: d_model, n_layer and vocab_size are required")
	}
	c.DModel, c.NLayer, c.VocabSize = *s.DModel, *s.NLayer, *s.VocabSize
	if s.DIntermediate != nil && *s.DIntermediate != 0 {
		return Config{}, fmt.Errorf("mamba: config.json: d_intermediate %d (MLP blocks) is not supported", *s.DIntermediate)
	}
	if len(s.AttnLayerIdx) > 0 {
		return Config{}, fmt.Errorf("mamba: config.json: attention layers %v are not supported", s.AttnLayerIdx)
	}
	if s.RMSNorm != nil && !*s.RMSNorm {
		return Config{}, fmt.Errorf("mamba: config.json: rms_norm false (LayerNorm blocks) is not supported")
	}
	if s.PadVocabMultiple != nil {
		c.PadVocabMultiple = *s.PadVocabMultiple
	}
	if s.TieEmbeddings != nil {
		c.TieEmbeddings = *s.TieEmbeddings
	}
	if s.NormEpsilon != nil {
		c.NormEps = *s.NormEpsilon
	}
	for k, v := range s.SSMCfg {
		f, isNum := v.(float64)
		intOK := isNum && f == math.Trunc(f) && f > 0 && f < 1<<30
		switch k {
		case "layer":
			if v != "Mamba1" {
				return Config{}, fmt.Errorf("mamba: config.json: ssm_cfg.layer %v is not supported (only Mamba1)", v)
			}
		case "d_state", "d_conv", "expand":
			if !intOK {
				return Config{}, fmt.Errorf("mamba: config.json: ssm_cfg.%s = %v (want a positive integer)", k, v)
			}
			switch k {
			case "d_state":
				c.DState = int(f)
			case "d_conv":
				c.DConv = int(f)
			case "expand":
				c.Expand = int(f)
			}
		case "dt_rank":
			if v == "auto" {
				continue
			}
			if !intOK {
				return Config{}, fmt.Errorf("mamba: config.json: ssm_cfg.dt_rank = %v (want a positive integer or \"auto\")", v)
			}
			c.DTRank = int(f)
		case "conv_bias", "bias":
			b, ok := v.(bool)
			if !ok {
				return Config{}, fmt.Errorf("mamba: config.json: ssm_cfg.%s = %v (want a boolean)", k, v)
			}
			if k == "bias" {
				c.Bias = b
			} else {
				c.ConvBias = b
			}
		case "dt_min", "dt_max", "dt_init", "dt_scale", "dt_init_floor", "use_fast_path", "layer_idx":
			// initialisation / kernel-selection options: no effect on inference
		default:
			return Config{}, fmt.Errorf("mamba: config.json: ssm_cfg.%s is not supported", k)
		}
	}
	var err error
	if c.EOSTokenID, err = parseTokenID(s.EOSTokenID); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// LoadConfig reads dir/config.json (either layout) without touching the
// weights: the cheap way to inspect a checkpoint folder.
func LoadConfig(dir string) (Config, Layout, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, "", fmt.Errorf("mamba: %w", err)
	}
	if len(data) > 1<<20 {
		return Config{}, "", fmt.Errorf("mamba: %s: %d bytes is too large for a config", path, len(data))
	}
	c, l, err := ParseConfig(data)
	if err != nil {
		return Config{}, "", fmt.Errorf("%w (in %s)", err, path)
	}
	return c, l, nil
}
