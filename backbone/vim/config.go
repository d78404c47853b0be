package vim

import (
	"fmt"
	"slices"
	"sort"
)

// ClsPlacement says where the learned class token(s) sit in the sequence.
type ClsPlacement int

// Class-token placements supported by VisionMamba.
const (
	// ClsMiddle inserts one cls token at index M/2 of the M patch tokens
	// (use_middle_cls_token=True, all released checkpoints).
	ClsMiddle ClsPlacement = iota
	// ClsHead puts one cls token first (use_middle_cls_token=False).
	ClsHead
	// ClsDouble puts cls_token_head first and cls_token_tail last
	// (use_double_cls_token=True); the feature is their mean.
	ClsDouble
	// ClsNone has no cls token (if_cls_token=False); the feature then comes
	// from Config.FinalPool.
	ClsNone
)

// String returns the placement's name as used in config.json ("middle",
// "head", "double", "none").
func (c ClsPlacement) String() string {
	switch c {
	case ClsMiddle:
		return "middle"
	case ClsHead:
		return "head"
	case ClsDouble:
		return "double"
	case ClsNone:
		return "none"
	}
	return fmt.Sprintf("ClsPlacement(%d)", int(c))
}

// NumTokens returns how many cls tokens the placement adds.
func (c ClsPlacement) NumTokens() int {
	switch c {
	case ClsNone:
		return 0
	case ClsDouble:
		return 2
	}
	return 1
}

// Config describes a VisionMamba network (hustvl/Vim vim/models_mamba.py).
// Only inference-relevant constructor arguments appear; bimamba "v2",
// absolute position embeddings and if_bidirectional=False are implied.
type Config struct {
	// Name is the preset name or a description of where the config came from.
	Name string
	// ImgSize is the native (training) input side in pixels; the position
	// embedding stored in a checkpoint belongs to this size.
	ImgSize int
	// Patch is the patch (conv kernel) size; Stride the step between patches.
	Patch, Stride int
	// Channels is the number of input image channels.
	Channels int
	// EmbedDim is the token width C; Depth the number of blocks.
	EmbedDim, Depth int
	// DState (N), DConv (K) and Expand (d_inner = Expand·EmbedDim) configure
	// each Mamba branch; DTRank 0 means ceil(EmbedDim/16).
	DState, DConv, Expand, DTRank int
	// NumClasses is the classifier width; 0 means no head (features only).
	NumClasses int
	// NormEps is the RMSNorm/LayerNorm epsilon (1e-5).
	NormEps float32
	// LayerNorm selects LayerNorm (weight and bias) instead of RMSNorm.
	LayerNorm bool
	// Cls is the class-token placement.
	Cls ClsPlacement
	// FinalPool is used only with ClsNone: "mean" or "none" (last token).
	FinalPool string
	// DivideOut halves the sum of the two directions before out_proj
	// (if_divide_out).
	DivideOut bool
	// Eval is the preprocessing the weights were evaluated with.
	Eval EvalConfig
}

// EvalConfig is the evaluation preprocessing of a checkpoint (vim/datasets.py
// build_transform): resize the shorter side to int(InputSize/CropPct) with
// PIL bicubic, center-crop InputSize, scale to [0, 1], normalise.
type EvalConfig struct {
	InputSize     int
	CropPct       float64
	Interpolation string
	Mean, Std     [3]float32
}

// ImageNetEval is the evaluation preprocessing of all released Vim weights.
var ImageNetEval = EvalConfig{
	InputSize:     224,
	CropPct:       0.875,
	Interpolation: "bicubic",
	Mean:          [3]float32{0.485, 0.456, 0.406},
	Std:           [3]float32{0.229, 0.224, 0.225},
}

// Inner returns d_inner = Expand·EmbedDim.
func (c *Config) Inner() int { return c.Expand * c.EmbedDim }

// Rank returns dt_rank (DTRank, or ceil(EmbedDim/16) when zero).
func (c *Config) Rank() int {
	if c.DTRank > 0 {
		return c.DTRank
	}
	return (c.EmbedDim + 15) / 16
}

// Grid returns the native patch grid side ((ImgSize − Patch)/Stride + 1).
func (c *Config) Grid() int { return (c.ImgSize-c.Patch)/c.Stride + 1 }

// PosRows returns the number of rows of the native position embedding.
func (c *Config) PosRows() int { return c.Grid()*c.Grid() + c.Cls.NumTokens() }

// Validate reports the first inconsistent or unsupported setting.
func (c *Config) Validate() error {
	switch {
	case c.Patch <= 0 || c.Stride <= 0 || c.ImgSize < c.Patch:
		return fmt.Errorf("vim: config %q: image %d, patch %d, stride %d", c.Name, c.ImgSize, c.Patch, c.Stride)
	case c.Channels <= 0 || c.EmbedDim <= 0 || c.Depth <= 0:
		return fmt.Errorf("vim: config %q: channels %d, embed dim %d, depth %d must be positive", c.Name, c.Channels, c.EmbedDim, c.Depth)
	case c.DState <= 0 || c.DConv <= 0 || c.Expand <= 0 || c.DTRank < 0:
		return fmt.Errorf("vim: config %q: d_state %d, d_conv %d, expand %d, dt_rank %d", c.Name, c.DState, c.DConv, c.Expand, c.DTRank)
	case c.NumClasses < 0:
		return fmt.Errorf("vim: config %q: %d classes", c.Name, c.NumClasses)
	case c.Cls < ClsMiddle || c.Cls > ClsNone:
		return fmt.Errorf("vim: config %q: unknown cls placement %d", c.Name, int(c.Cls))
	case c.Cls == ClsNone && c.FinalPool != "mean" && c.FinalPool != "none":
		return fmt.Errorf("vim: config %q: final_pool_type %q is not supported without a cls token (use \"mean\" or \"none\")", c.Name, c.FinalPool)
	case !(c.NormEps > 0):
		return fmt.Errorf("vim: config %q: norm epsilon %g", c.Name, c.NormEps)
	}
	return nil
}

// released returns the flags shared by every released checkpoint.
func released(name string, dim, stride int) Config {
	return Config{
		Name: name, ImgSize: 224, Patch: 16, Stride: stride, Channels: 3,
		EmbedDim: dim, Depth: 24, DState: 16, DConv: 4, Expand: 2,
		NumClasses: 1000, NormEps: 1e-5, Cls: ClsMiddle, FinalPool: "mean",
		DivideOut: true, Eval: ImageNetEval,
	}
}

// presets are the registered models with released weights (README of
// hustvl/Vim); "+" marks the stride-8 fine-tuned variants.
var presets = map[string]Config{
	"vim-tiny":   released("vim-tiny", 192, 16),
	"vim-tiny+":  released("vim-tiny+", 192, 8),
	"vim-small":  released("vim-small", 384, 16),
	"vim-small+": released("vim-small+", 384, 8),
	"vim-base":   released("vim-base", 768, 16),
}

// Preset returns the configuration of a named model: vim-tiny, vim-tiny+
// (stride 8), vim-small, vim-small+, vim-base.
func Preset(name string) (Config, bool) {
	c, ok := presets[name]
	return c, ok
}

// Presets lists the preset names, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return slices.Clip(names)
}
