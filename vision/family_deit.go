package vision

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/backbone/deit"
	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
)

func init() {
	RegisterFamily(loaderFamily(Family{
		Name:    "deit",
		Sniff:   func(src checkpoint.Source) bool { return deit.Sniff(src) },
		Presets: deit.Presets(),
		WeightsHint: func(preset string) string {
			files := map[string]string{
				"deit-tiny":  "timm/deit_tiny_patch16_224.fb_in1k model.safetensors, or deit_tiny_patch16_224-a1311bcf.pth",
				"deit-small": "timm/deit_small_patch16_224.fb_in1k model.safetensors, or deit_small_patch16_224-cd65a155.pth",
				"deit-base":  "timm/deit_base_patch16_224.fb_in1k model.safetensors, or deit_base_patch16_224-b5f2ef4d.pth",
			}
			return fmt.Sprintf("the weights are on Hugging Face (%s from facebookresearch/deit); save them as ~/.cache/gomamba/%s.safetensors (or .pth) or into $%s",
				files[preset], preset, ModelsDirEnv)
		},
	},
		deit.ReadSidecar, deit.InferConfig, deit.Preset, deit.FromCheckpoint,
		func(m *deit.Model) Network { return &deitNet{m: m} }))
}

// deitNet adapts a *deit.Model to Network: every block's output (residual
// stream, cls token dropped) is a feature map of stride = patch, named
// blocks.<i> as timm's feature_info.
type deitNet struct{ m *deit.Model }

// DeiT returns the underlying model of a DeiT Network, or nil.
func DeiT(n Network) *deit.Model {
	if d, ok := n.(*deitNet); ok {
		return d.m
	}
	return nil
}

func (n *deitNet) Forward(ctx context.Context, x *kernels.Tensor) (*kernels.Tensor, *kernels.Tensor, error) {
	return n.m.Forward(ctx, x)
}

func (n *deitNet) Features(ctx context.Context, x *kernels.Tensor, indices []int) ([]*kernels.Tensor, error) {
	return n.m.Features(ctx, x, indices)
}

func (n *deitNet) FeatureInfo() []FeatureInfo {
	cfg := n.m.Config()
	out := make([]FeatureInfo, cfg.Depth)
	for i := range out {
		out[i] = FeatureInfo{Channels: cfg.EmbedDim, Stride: cfg.Patch, Name: fmt.Sprintf("blocks.%d", i)}
	}
	return out
}

// DefaultFeatures are four evenly spaced blocks ending with the last (2, 5,
// 8, 11 of 12, as the usual ViT dense-prediction taps).
func (n *deitNet) DefaultFeatures() []int { return evenTaps(n.m.Config().Depth) }

func (n *deitNet) InputChannels() int       { return n.m.Config().Channels }
func (n *deitNet) InputMultiple() int       { return 1 }
func (n *deitNet) NumClasses() int          { return n.m.Config().NumClasses }
func (n *deitNet) Backend() kernels.Backend { return n.m.Backend() }

func (n *deitNet) EvalConfig() datasets.EvalTransform {
	e := n.m.Config().Eval
	return datasets.EvalTransform{Size: e.InputSize, CropPct: e.CropPct, Mean: e.Mean, Std: e.Std, Interpolation: e.Interpolation}
}
