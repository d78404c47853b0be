package deit

import (
	"fmt"
	"slices"
	"sort"
)

// Config describes a timm VisionTransformer with the DeiT flags
// (deit_*_patch16_224): a conv patch embedding, one class token first, a
// learned position table that includes the class slot, pre-norm blocks of
// multi-head self-attention and a GELU MLP, a final LayerNorm and a linear
// head on token 0. Other ViT variants (no class token, register tokens,
// layer scale, fc_norm, distillation token) are not covered.
type Config struct {
	// Name is the preset name or where the config came from.
	Name string
	// ImgSize is the native input side; the stored position table holds
	// its (ImgSize/Patch)² grid. Other sizes are served by resampling the
	// table (timm's dynamic_img_size).
	ImgSize int
	// Patch is the patch side (conv kernel and stride).
	Patch int
	// Channels is the number of input image channels.
	Channels int
	// EmbedDim is the token width C; Depth the number of blocks.
	EmbedDim, Depth int
	// Heads is the number of attention heads; EmbedDim/Heads is the head
	// width (64 for every DeiT preset).
	Heads int
	// MLPHidden is the hidden width of each MLP (mlp_ratio·EmbedDim).
	MLPHidden int
	// QKVBias says whether the qkv projection has a bias (qkv_bias).
	QKVBias bool
	// NormEps is the LayerNorm epsilon (timm's ViT: 1e-6).
	NormEps float32
	// NumClasses is the head width; 0 means no head.
	NumClasses int
	// Eval is the preprocessing the weights were evaluated with.
	Eval EvalConfig
}

// EvalConfig is the evaluation preprocessing of a checkpoint (timm's
// transforms_imagenet_eval): resize the shorter side to
// floor(InputSize/CropPct), center-crop InputSize, normalise.
type EvalConfig struct {
	InputSize     int
	CropPct       float64
	Interpolation string
	Mean, Std     [3]float32
}

// TimmEval is timm's pretrained configuration of deit_*_patch16_224
// (crop_pct 0.9, bicubic, ImageNet mean and std). The DeiT paper and Vim
// evaluate with crop_pct 0.875 instead; set CropPct for a like-for-like
// comparison with Vim.
var TimmEval = EvalConfig{
	InputSize:     224,
	CropPct:       0.9,
	Interpolation: "bicubic",
	Mean:          [3]float32{0.485, 0.456, 0.406},
	Std:           [3]float32{0.229, 0.224, 0.225},
}

// HeadDim returns EmbedDim/Heads.
func (c *Config) HeadDim() int { return c.EmbedDim / c.Heads }

// Grid returns the native patch grid side ImgSize/Patch.
func (c *Config) Grid() int { return c.ImgSize / c.Patch }

// PosRows returns the rows of the stored position table: 1 (cls) + Grid².
func (c *Config) PosRows() int { return 1 + c.Grid()*c.Grid() }

// Validate reports the first inconsistent setting.
func (c *Config) Validate() error {
	switch {
	case c.Patch <= 0 || c.ImgSize < c.Patch:
		return fmt.Errorf("deit: config %q: image %d, patch %d", c.Name, c.ImgSize, c.Patch)
	case c.Channels <= 0 || c.EmbedDim <= 0 || c.Depth <= 0 || c.MLPHidden <= 0:
		return fmt.Errorf("deit: config %q: channels %d, embed dim %d, depth %d, mlp hidden %d must be positive",
			c.Name, c.Channels, c.EmbedDim, c.Depth, c.MLPHidden)
	case c.Heads <= 0 || c.EmbedDim%c.Heads != 0:
		return fmt.Errorf("deit: config %q: %d heads do not divide embed dim %d", c.Name, c.Heads, c.EmbedDim)
	case c.NumClasses < 0:
		return fmt.Errorf("deit: config %q: %d classes", c.Name, c.NumClasses)
	case !(c.NormEps > 0):
		return fmt.Errorf("deit: config %q: norm epsilon %g", c.Name, c.NormEps)
	}
	return nil
}

func timmDeiT(name string, dim, heads int) Config {
	return Config{
		Name: name, ImgSize: 224, Patch: 16, Channels: 3, EmbedDim: dim, Depth: 12,
		Heads: heads, MLPHidden: 4 * dim, QKVBias: true, NormEps: 1e-6, NumClasses: 1000,
		Eval: TimmEval,
	}
}

// presets are timm's deit_{tiny,small,base}_patch16_224 (fb_in1k weights).
var presets = map[string]Config{
	"deit-tiny":  timmDeiT("deit-tiny", 192, 3),
	"deit-small": timmDeiT("deit-small", 384, 6),
	"deit-base":  timmDeiT("deit-base", 768, 12),
}

// timmArch maps timm architecture names (config.json "architecture") to
// presets.
var timmArch = map[string]string{
	"deit_tiny_patch16_224":  "deit-tiny",
	"deit_small_patch16_224": "deit-small",
	"deit_base_patch16_224":  "deit-base",
	"vit_tiny_patch16_224":   "deit-tiny",
	"vit_small_patch16_224":  "deit-small",
	"vit_base_patch16_224":   "deit-base",
}

// Preset returns a named configuration: deit-tiny (embed 192, 3 heads,
// 5.7M parameters), deit-small (384, 6 heads, 22M) or deit-base (768, 12
// heads, 86M), all patch 16 at 224², depth 12, MLP ratio 4, 1000 classes.
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
