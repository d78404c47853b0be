package mamba

import (
	"fmt"
	"slices"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/kernels"
)

// LoadOptions tune Load. A nil *LoadOptions means defaults.
type LoadOptions struct {
	// Backend runs the model; nil means kernels.CPU().
	Backend kernels.Backend
	// Precision is the weight storage: "" or PrecisionFP32 (the parity
	// default), PrecisionBF16 (Model.UseBF16) or PrecisionInt8
	// (Model.UseInt8); the last two on the CPU backend only.
	Precision string
}

// CheckpointName returns the name a model weight has in a layout's
// checkpoint, given its transformers name (the names of HostTensors). The
// layouts differ only in the embedding: mamba_ssm stores
// backbone.embedding.weight, transformers backbone.embeddings.weight.
func CheckpointName(layout Layout, name string) string {
	if layout == LayoutMambaSSM && name == "backbone.embeddings.weight" {
		return "backbone.embedding.weight"
	}
	return name
}

// Load reads a Mamba LM checkpoint folder in either public layout —
// transformers MambaForCausalLM (config.json + model.safetensors, or a
// sharded model.safetensors.index.json) or mamba_ssm MambaLMHeadModel
// (config.json + pytorch_model.bin) — binds every tensor strictly (missing,
// unexpected and wrongly shaped tensors are reported together in one
// *checkpoint.BindError) and prepares the model on the chosen backend.
//
// A tied checkpoint may also hold lm_head.weight (mamba_ssm saves the alias);
// it is accepted only if it equals the embedding.
func Load(dir string, opt *LoadOptions) (*Model, error) {
	be := kernels.CPU()
	if opt != nil && opt.Backend != nil {
		be = opt.Backend
	}
	precision := PrecisionFP32
	if opt != nil && opt.Precision != "" {
		precision = opt.Precision
	}
	if precision != PrecisionFP32 && precision != PrecisionBF16 && precision != PrecisionInt8 {
		return nil, fmt.Errorf("mamba: load %s: precision %q: want %q, %q or %q", dir, precision, PrecisionFP32, PrecisionBF16, PrecisionInt8)
	}
	cfg, layout, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	m, err := newModel(cfg)
	if err != nil {
		return nil, fmt.Errorf("mamba: load %s: %w", dir, err)
	}
	src, err := checkpoint.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mamba: load: %w", err)
	}
	defer src.Close()
	var bindings []checkpoint.Binding
	for _, s := range m.slots() {
		bindings = append(bindings, checkpoint.Binding{Name: CheckpointName(layout, s.name), Dst: s.dst, Shape: s.shape})
	}
	var alias *kernels.Tensor
	if cfg.TieEmbeddings && slices.Contains(src.Names(), "lm_head.weight") {
		bindings = append(bindings, checkpoint.Binding{Name: "lm_head.weight", Dst: &alias, Shape: []int{cfg.PaddedVocab(), cfg.DModel}})
	}
	if err := checkpoint.Bind(src, bindings, nil); err != nil {
		return nil, fmt.Errorf("mamba: load %s (%s layout): %w", dir, layout, err)
	}
	if alias != nil && !slices.Equal(alias.Data, m.Embedding.Data) {
		return nil, fmt.Errorf("mamba: load %s: lm_head.weight differs from the embedding although the config ties them (tie_embeddings)", dir)
	}
	if err := m.Prepare(be); err != nil {
		return nil, fmt.Errorf("mamba: load %s: %w", dir, err)
	}
	if err := m.UsePrecision(precision); err != nil {
		m.Release()
		return nil, fmt.Errorf("mamba: load %s: %w", dir, err)
	}
	return m, nil
}
