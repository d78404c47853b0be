package vision

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/backbone/vim"
	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
)

func init() {
	RegisterFamily(loaderFamily(Family{
		Name:    "vim",
		Sniff:   func(src checkpoint.Source) bool { return vim.Sniff(src) },
		Presets: vim.Presets(),
		WeightsHint: func(preset string) string {
			files := map[string]string{
				"vim-tiny": "hustvl/Vim-tiny-midclstok vim_t_midclstok_76p1acc.pth", "vim-tiny+": "hustvl/Vim-tiny-midclstok vim_t_midclstok_ft_78p3acc.pth",
				"vim-small": "hustvl/Vim-small-midclstok vim_s_midclstok_80p5acc.pth", "vim-small+": "hustvl/Vim-small-midclstok vim_s_midclstok_ft_81p6acc.pth",
				"vim-base": "hustvl/Vim-base-midclstok",
			}
			return fmt.Sprintf("the official weights are on Hugging Face (%s); save the .pth as ~/.cache/gomamba/%s.pth or into $%s", files[preset], preset, ModelsDirEnv)
		},
	},
		vim.ReadSidecar, vim.InferConfig, vim.Preset, vim.FromCheckpoint,
		func(m *vim.Model) Network { return &vimNet{m: m} }))
}

// vimNet adapts a *vim.Model to Network: every block is a feature map of
// stride = patch stride, named layers.<i>.
type vimNet struct{ m *vim.Model }

func (n *vimNet) Forward(ctx context.Context, x *kernels.Tensor) (*kernels.Tensor, *kernels.Tensor, error) {
	return n.m.Forward(ctx, x)
}

func (n *vimNet) Features(ctx context.Context, x *kernels.Tensor, indices []int) ([]*kernels.Tensor, error) {
	return n.m.DenseFeatures(ctx, x, indices, vim.MixerOutput)
}

func (n *vimNet) FeatureInfo() []FeatureInfo {
	cfg := n.m.Config()
	out := make([]FeatureInfo, cfg.Depth)
	for i := range out {
		out[i] = FeatureInfo{Channels: cfg.EmbedDim, Stride: cfg.Stride, Name: fmt.Sprintf("layers.%d", i)}
	}
	return out
}

// DefaultFeatures are four evenly spaced blocks ending with the last (2, 5,
// 8, 11 of 12 blocks; 5, 11, 17, 23 of vim-tiny's 24).
func (n *vimNet) DefaultFeatures() []int { return evenTaps(n.m.Config().Depth) }

func (n *vimNet) InputChannels() int       { return n.m.Config().Channels }
func (n *vimNet) InputMultiple() int       { return 1 }
func (n *vimNet) NumClasses() int          { return n.m.Config().NumClasses }
func (n *vimNet) Backend() kernels.Backend { return n.m.Backend() }

func (n *vimNet) EvalConfig() datasets.EvalTransform {
	e := n.m.Config().Eval
	return datasets.EvalTransform{Size: e.InputSize, CropPct: e.CropPct, Mean: e.Mean, Std: e.Std, Interpolation: e.Interpolation}
}
