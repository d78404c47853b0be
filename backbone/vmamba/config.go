package vmamba

import (
	"fmt"
	"slices"
	"sort"
)

// Config describes a VMamba network (MzeroMiko/VMamba
// classification/models/vmamba.py: VSSM). Only inference-relevant
// constructor arguments appear. Two families are supported:
//
//   - v2 (all released "VMamba-T/S/B" checkpoints): forward_type "v05_noz"
//     (no z gate), d_state 1, conv without bias, MLP ratio 4, patch embed
//     v2, downsample v3, channel-first LayerNorm2d.
//   - v0 ("vanilla VMamba"): forward_type "v0" (z gate), d_state 16, conv
//     with bias, no MLP, patch embed v1, PatchMerging2D downsampling,
//     channel-last LayerNorm.
//
// Every tensor is kept channel-first (Bt, C, H, W) internally: a channel-last
// LayerNorm or Linear is the same arithmetic as LayerNorm2d or Linear2d.
type Config struct {
	// Name is the preset name, or where the configuration came from.
	Name string
	// Dims are the widths of the four stages; Depths their block counts.
	Dims, Depths []int
	// InChans is the number of input channels; PatchSize the stem's total
	// stride (4).
	InChans, PatchSize int
	// DState (N) is the SSM state size, SSMRatio gives d_inner =
	// int(SSMRatio·dim), DTRank is dt_rank (0 means ceil(dim/16) of the
	// block width, the official "auto").
	DState int
	// SSMRatio is d_inner / dim.
	SSMRatio float64
	// DTRank is the low-rank width of the Δ projection (0 = auto).
	DTRank int
	// ConvKernel is the depthwise conv size (3) and ConvBias whether it has
	// a bias (v0 only).
	ConvKernel int
	// ConvBias says whether the depthwise conv has a bias (v0 only).
	ConvBias bool
	// Gated is true when in_proj also produces z and the scan output is
	// multiplied by SiLU(z) after out_norm (forward_type without "_noz":
	// "v0", "v2", "v05", ...).
	Gated bool
	// MLPRatio is the MLP hidden width over dim; 0 means no MLP branch.
	MLPRatio float64
	// PatchEmbed is 1 (conv k4 s4 → LN) or 2 (two conv k3 s2 with LN, GELU).
	PatchEmbed int
	// Downsample is 1 (PatchMerging2D), 2 (conv k2 s2 → LN) or 3 (conv k3
	// s2 p1 → LN).
	Downsample int
	// NumClasses is the classifier width; 0 means no classifier (backbone).
	NumClasses int
	// NormEps is the epsilon of every LayerNorm (1e-5).
	NormEps float32
	// Eval is the preprocessing the weights were evaluated with.
	Eval EvalConfig
}

// EvalConfig is the evaluation preprocessing of a checkpoint
// (classification/data/build.py build_transform with TEST.CROP): resize the
// shorter side to int(InputSize/CropPct) with bicubic, center-crop
// InputSize, scale to [0, 1], normalise with Mean and Std.
type EvalConfig struct {
	InputSize     int
	CropPct       float64
	Interpolation string
	Mean, Std     [3]float32
}

// ImageNetEval is the evaluation preprocessing of every released VMamba
// classifier (Resize 256 bicubic → CenterCrop 224 → ImageNet normalisation).
var ImageNetEval = EvalConfig{
	InputSize:     224,
	CropPct:       0.875,
	Interpolation: "bicubic",
	Mean:          [3]float32{0.485, 0.456, 0.406},
	Std:           [3]float32{0.229, 0.224, 0.225},
}

// Stages returns the number of stages (len(Dims)).
func (c *Config) Stages() int { return len(c.Dims) }

// Inner returns d_inner of a stage: int(SSMRatio·Dims[stage]).
func (c *Config) Inner(stage int) int { return int(c.SSMRatio * float64(c.Dims[stage])) }

// Rank returns dt_rank of a stage (DTRank, or ceil(Dims[stage]/16)).
func (c *Config) Rank(stage int) int {
	if c.DTRank > 0 {
		return c.DTRank
	}
	return (c.Dims[stage] + 15) / 16
}

// Hidden returns the MLP hidden width of a stage: int(Dims[stage]·MLPRatio).
func (c *Config) Hidden(stage int) int { return int(float64(c.Dims[stage]) * c.MLPRatio) }

// Stride returns the total stride of a stage's feature map: PatchSize·2^stage.
func (c *Config) Stride(stage int) int { return c.PatchSize << stage }

// Validate reports the first inconsistent or unsupported setting.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("vmamba: config %q: %s", c.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case len(c.Dims) == 0 || len(c.Dims) != len(c.Depths):
		return bad("dims %v and depths %v must be non-empty and of equal length", c.Dims, c.Depths)
	case c.InChans <= 0:
		return bad("%d input channels", c.InChans)
	case c.PatchSize != 4:
		return bad("patch size %d (only 4 is supported)", c.PatchSize)
	case c.DState <= 0 || c.DTRank < 0 || !(c.SSMRatio > 0):
		return bad("d_state %d, dt_rank %d, ssm_ratio %g", c.DState, c.DTRank, c.SSMRatio)
	case c.ConvKernel < 1 || c.ConvKernel%2 == 0:
		return bad("conv kernel %d must be odd and positive", c.ConvKernel)
	case c.MLPRatio < 0:
		return bad("mlp ratio %g", c.MLPRatio)
	case c.PatchEmbed != 1 && c.PatchEmbed != 2:
		return bad("patch embed version %d (want 1 or 2)", c.PatchEmbed)
	case c.Downsample < 1 || c.Downsample > 3:
		return bad("downsample version %d (want 1, 2 or 3)", c.Downsample)
	case c.NumClasses < 0:
		return bad("%d classes", c.NumClasses)
	case !(c.NormEps > 0):
		return bad("norm epsilon %g", c.NormEps)
	}
	for i, d := range c.Dims {
		if d <= 0 || c.Depths[i] < 0 || c.Inner(i) <= 0 {
			return bad("stage %d: dim %d, depth %d, d_inner %d", i, d, c.Depths[i], c.Inner(i))
		}
		if c.PatchEmbed == 2 && i == 0 && d%2 != 0 {
			return bad("patch embed v2 needs an even first dim, have %d", d)
		}
	}
	return nil
}

// v2 returns a released v2 configuration (channel-first, v05_noz).
func v2(name string, dim int, depths []int, ratio float64) Config {
	return Config{
		Name: name, Dims: []int{dim, 2 * dim, 4 * dim, 8 * dim}, Depths: depths,
		InChans: 3, PatchSize: 4, DState: 1, SSMRatio: ratio, ConvKernel: 3,
		MLPRatio: 4, PatchEmbed: 2, Downsample: 3, NumClasses: 1000, NormEps: 1e-5,
		Eval: ImageNetEval,
	}
}

// v0 returns a released "vanilla" v0 configuration (channel-last, gated).
func v0(name string, dim int, depths []int) Config {
	return Config{
		Name: name, Dims: []int{dim, 2 * dim, 4 * dim, 8 * dim}, Depths: depths,
		InChans: 3, PatchSize: 4, DState: 16, SSMRatio: 2, ConvKernel: 3, ConvBias: true,
		Gated: true, PatchEmbed: 1, Downsample: 1, NumClasses: 1000, NormEps: 1e-5,
		Eval: ImageNetEval,
	}
}

// presets are the models with released ImageNet-1K weights (MzeroMiko/VMamba
// README and classification/configs/vssm). vmamba-tiny/small/base are the
// README's headline v2 models: T[s1l8], S[s2l15], B[s2l15].
var presets = map[string]Config{
	"vmamba-tiny":        v2("vmamba-tiny", 96, []int{2, 2, 8, 2}, 1.0),   // vssm1_tiny_0230s, 82.6
	"vmamba-small":       v2("vmamba-small", 96, []int{2, 2, 15, 2}, 2.0), // vssm_small_0229, 83.6
	"vmamba-base":        v2("vmamba-base", 128, []int{2, 2, 15, 2}, 2.0), // vssm_base_0229, 83.9
	"vmamba-tiny-s2l5":   v2("vmamba-tiny-s2l5", 96, []int{2, 2, 5, 2}, 2.0),
	"vmamba-small-s1l20": v2("vmamba-small-s1l20", 96, []int{2, 2, 20, 2}, 1.0),
	"vmamba-base-s1l20":  v2("vmamba-base-s1l20", 128, []int{2, 2, 20, 2}, 1.0),
	"vmamba-v0-tiny":     v0("vmamba-v0-tiny", 96, []int{2, 2, 9, 2}),
	"vmamba-v0-small":    v0("vmamba-v0-small", 96, []int{2, 2, 27, 2}),
	"vmamba-v0-base":     v0("vmamba-v0-base", 128, []int{2, 2, 27, 2}),
}

// Preset returns a copy of a named configuration: vmamba-tiny, vmamba-small,
// vmamba-base (the released v2 headline models), vmamba-tiny-s2l5,
// vmamba-small-s1l20, vmamba-base-s1l20, vmamba-v0-tiny, vmamba-v0-small,
// vmamba-v0-base.
func Preset(name string) (Config, bool) {
	c, ok := presets[name]
	if !ok {
		return Config{}, false
	}
	c.Dims = slices.Clone(c.Dims)
	c.Depths = slices.Clone(c.Depths)
	return c, true
}

// Presets lists the preset names, sorted.
func Presets() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
