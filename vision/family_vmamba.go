package vision

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/backbone/vmamba"
	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
)

func init() {
	RegisterFamily(Family{
		Name:  "vmamba",
		Sniff: vmamba.Sniff,
		Load: func(src checkpoint.Source, _ string, be kernels.Backend) (Network, error) {
			cfg, err := vmamba.InferConfig(src)
			if err != nil {
				return nil, fmt.Errorf("vmamba: load %s: %w", src.Path(), err)
			}
			m, err := vmamba.FromSource(cfg, src, be)
			if err != nil {
				return nil, fmt.Errorf("vmamba: load %s: %w", src.Path(), err)
			}
			return &vmambaNet{m: m}, nil
		},
		Presets: vmamba.Presets(),
		LoadPreset: func(src checkpoint.Source, preset string, be kernels.Backend) (Network, error) {
			cfg, ok := vmamba.Preset(preset)
			if !ok {
				return nil, fmt.Errorf("vmamba: unknown preset %q", preset)
			}
			m, err := vmamba.FromSource(cfg, src, be)
			if err != nil {
				return nil, fmt.Errorf("vmamba: load %s as %s: %w", src.Path(), preset, err)
			}
			return &vmambaNet{m: m}, nil
		},
		WeightsHint: func(preset string) string {
			files := map[string]string{
				"vmamba-tiny": "vssm1_tiny_0230s_ckpt_epoch_264.pth", "vmamba-small": "vssm_small_0229_ckpt_epoch_222.pth",
				"vmamba-base": "vssm_base_0229_ckpt_epoch_237.pth", "vmamba-tiny-s2l5": "vssm_tiny_0230_ckpt_epoch_262.pth",
				"vmamba-small-s1l20": "vssm1_small_0229s_ckpt_epoch_240.pth", "vmamba-base-s1l20": "vssm1_base_0229s_ckpt_epoch_225.pth",
				"vmamba-v0-tiny": "vssmtiny_dp01_ckpt_epoch_292.pth (tag #v0cls)", "vmamba-v0-small": "vssmsmall_dp03_ckpt_epoch_238.pth (tag #v0cls)",
				"vmamba-v0-base": "vssmbase_dp06_ckpt_epoch_241.pth (tag #v0cls)",
			}
			return fmt.Sprintf("the official weights are GitHub release assets of MzeroMiko/VMamba (%s, tag #v2cls unless noted); save the .pth as ~/.cache/gomamba/%s.pth or into $%s",
				files[preset], preset, ModelsDirEnv)
		},
	})
}

// PooledFeaturer is implemented by networks that return dense maps and the
// pooled embedding from one pass (VMamba); callers that need both use it
// instead of running Features and Forward.
type PooledFeaturer interface {
	// FeaturesPooled returns the maps selected by indices (as Features)
	// and the pooled embedding (as Forward's features), in backend memory.
	FeaturesPooled(ctx context.Context, x *kernels.Tensor, indices []int) ([]*kernels.Tensor, *kernels.Tensor, error)
}

// vmambaNet adapts a *vmamba.Model to Network: the four stage outputs
// (strides 4, 8, 16, 32) are its feature maps.
type vmambaNet struct{ m *vmamba.Model }

// VMamba returns the underlying VMamba model of a VMamba Network, or nil.
func VMamba(n Network) *vmamba.Model {
	if v, ok := n.(*vmambaNet); ok {
		return v.m
	}
	return nil
}

func (n *vmambaNet) Forward(ctx context.Context, x *kernels.Tensor) (*kernels.Tensor, *kernels.Tensor, error) {
	out, err := n.m.ForwardBackend(ctx, x, nil)
	if err != nil {
		return nil, nil, err
	}
	return out.Pooled, out.Logits, nil
}

func (n *vmambaNet) Features(ctx context.Context, x *kernels.Tensor, indices []int) ([]*kernels.Tensor, error) {
	maps, pooled, err := n.FeaturesPooled(ctx, x, indices)
	if err != nil {
		return nil, err
	}
	n.m.Backend().Free(pooled)
	return maps, nil
}

func (n *vmambaNet) FeaturesPooled(ctx context.Context, x *kernels.Tensor, indices []int) ([]*kernels.Tensor, *kernels.Tensor, error) {
	stages := make([]int, len(indices))
	for i, j := range indices {
		if j < 0 {
			j += len(n.m.Config().Dims)
		}
		stages[i] = j
	}
	out, err := n.m.ForwardBackend(ctx, x, &vmamba.Options{Stages: stages})
	if err != nil {
		return nil, nil, err
	}
	if out.Logits != nil {
		n.m.Backend().Free(out.Logits)
	}
	return out.Stages, out.Pooled, nil
}

func (n *vmambaNet) FeatureInfo() []FeatureInfo {
	fi := n.m.FeatureInfo()
	out := make([]FeatureInfo, len(fi))
	for i, f := range fi {
		out[i] = FeatureInfo{Channels: f.Channels, Stride: f.Stride, Name: f.Name}
	}
	return out
}

// DefaultFeatures are all four stages, as Backbone_VSSM's out_indices.
func (n *vmambaNet) DefaultFeatures() []int {
	out := make([]int, len(n.m.Config().Dims))
	for i := range out {
		out[i] = i
	}
	return out
}

func (n *vmambaNet) InputChannels() int       { return n.m.Config().InChans }
func (n *vmambaNet) InputMultiple() int       { return 1 }
func (n *vmambaNet) NumClasses() int          { return n.m.Config().NumClasses }
func (n *vmambaNet) Backend() kernels.Backend { return n.m.Backend() }

func (n *vmambaNet) EvalConfig() datasets.EvalTransform {
	e := n.m.Config().Eval
	return datasets.EvalTransform{Size: e.InputSize, CropPct: e.CropPct, Mean: e.Mean, Std: e.Std, Interpolation: e.Interpolation}
}
