package vim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
)

// Header is the part of an open checkpoint needed to recognise a Vim model
// and infer its configuration without reading tensor data: any
// checkpoint.Header (*checkpoint.File, checkpoint.Source).
type Header = checkpoint.Header

// ErrNotVim is returned (wrapped) when a checkpoint does not hold a
// VisionMamba (bimamba v2) state dict; callers can branch with errors.Is.
var ErrNotVim = errors.New("not a Vision Mamba (Vim) checkpoint")

// Sniff reports whether h looks like a Vim state dict: a conv patch
// embedding and bidirectional (v2) Mamba mixers.
func Sniff(h Header) bool {
	return checkpoint.Has(h, "patch_embed.proj.weight") && checkpoint.Has(h, "layers.0.mixer.in_proj.weight") &&
		checkpoint.Has(h, "layers.0.mixer.A_b_log")
}

var layerRe = regexp.MustCompile(`^layers\.(\d+)\.`)

// SidecarConfig is the optional config.json beside a checkpoint. Field names
// are VisionMamba's constructor arguments; only fields present override the
// values inferred from the tensors. A fixture's case.json layout with the
// arguments under "model_kwargs" is accepted too.
type SidecarConfig struct {
	ImgSize           *int     `json:"img_size"`
	PatchSize         *int     `json:"patch_size"`
	Stride            *int     `json:"stride"`
	NormEpsilon       *float32 `json:"norm_epsilon"`
	IfClsToken        *bool    `json:"if_cls_token"`
	UseMiddleClsToken *bool    `json:"use_middle_cls_token"`
	UseDoubleClsToken *bool    `json:"use_double_cls_token"`
	FinalPoolType     *string  `json:"final_pool_type"`
	IfDivideOut       *bool    `json:"if_divide_out"`
	BimambaType       *string  `json:"bimamba_type"`
	IfAbsPosEmbed     *bool    `json:"if_abs_pos_embed"`
	IfRope            *bool    `json:"if_rope"`
	IfBidirectional   *bool    `json:"if_bidirectional"`
	// Family is "vim" when present (written by gomamba's trainer).
	Family string `json:"family"`
	// Evaluation preprocessing (optional; ImageNet defaults otherwise).
	InputSize     *int      `json:"input_size"`
	CropPct       *float64  `json:"crop_pct"`
	Interpolation *string   `json:"interpolation"`
	Mean          []float64 `json:"mean"`
	Std           []float64 `json:"std"`
	// Labels names the classes (optional).
	Labels []string `json:"labels"`
	// ModelKwargs nests the same fields (fixture case.json layout).
	ModelKwargs *SidecarConfig `json:"model_kwargs"`
}

// ReadSidecar reads config.json from dir. A missing file returns (nil, nil).
func ReadSidecar(dir string) (*SidecarConfig, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vim: %w", err)
	}
	var sc SidecarConfig
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("vim: %s: %w", path, err)
	}
	if sc.ModelKwargs != nil {
		inner := *sc.ModelKwargs
		if inner.Labels == nil {
			inner.Labels = sc.Labels
		}
		if inner.Family == "" {
			inner.Family = sc.Family
		}
		return &inner, nil
	}
	return &sc, nil
}

// InferConfig derives a Config from tensor shapes alone: embed dim,
// channels and patch from patch_embed.proj.weight; depth from the layer
// indices; d_inner, d_state, d_conv and dt_rank from the first mixer; classes
// from head.weight; RMSNorm vs LayerNorm from norm_f.bias; cls tokens from
// their names; and the image size and stride from the pos_embed length
// (stride s with (224 − p)/s + 1 = grid when one exists, as the released
// checkpoints, else stride = patch and image = grid·patch). sc, if non-nil,
// overrides what shapes cannot say (cls placement, divide-out, epsilon,
// stride, image size). The result uses the ImageNet evaluation settings.
func InferConfig(h Header, sc *SidecarConfig) (Config, error) {
	if !Sniff(h) {
		return Config{}, fmt.Errorf("vim: %w (missing patch_embed.proj.weight, layers.0.mixer.in_proj.weight or layers.0.mixer.A_b_log)", ErrNotVim)
	}
	if sc == nil {
		sc = &SidecarConfig{}
	}
	for _, unsupported := range []struct {
		flag *bool
		want bool
		name string
	}{{sc.IfRope, false, "if_rope"}, {sc.IfBidirectional, false, "if_bidirectional"}, {sc.IfAbsPosEmbed, true, "if_abs_pos_embed"}} {
		if unsupported.flag != nil && *unsupported.flag != unsupported.want {
			return Config{}, fmt.Errorf("vim: %s=%v is not supported", unsupported.name, *unsupported.flag)
		}
	}
	if sc.BimambaType != nil && *sc.BimambaType != "v2" {
		return Config{}, fmt.Errorf("vim: bimamba_type %q is not supported (only \"v2\")", *sc.BimambaType)
	}
	cfg := Config{Name: "inferred", Channels: 3, DConv: 4, Expand: 2, NormEps: 1e-5, Cls: ClsMiddle, FinalPool: "mean", DivideOut: true, Eval: ImageNetEval}
	pw := checkpoint.Shape(h, "patch_embed.proj.weight")
	if len(pw) != 4 || pw[2] != pw[3] || pw[0] <= 0 || pw[1] <= 0 || pw[2] <= 0 {
		return Config{}, fmt.Errorf("vim: patch_embed.proj.weight has shape %v, want (C, channels, p, p)", pw)
	}
	cfg.EmbedDim, cfg.Channels, cfg.Patch = pw[0], pw[1], pw[2]
	depth := 0
	for _, n := range h.Names() {
		if mm := layerRe.FindStringSubmatch(n); mm != nil {
			if i, err := strconv.Atoi(mm[1]); err == nil && i < 1<<16 {
				depth = max(depth, i+1)
			}
		}
	}
	cfg.Depth = depth
	in := checkpoint.Shape(h, "layers.0.mixer.in_proj.weight")
	if len(in) != 2 || in[0]%2 != 0 || in[0]/2%cfg.EmbedDim != 0 {
		return Config{}, fmt.Errorf("vim: layers.0.mixer.in_proj.weight has shape %v, want (2·expand·%d, %d)", in, cfg.EmbedDim, cfg.EmbedDim)
	}
	cfg.Expand = in[0] / 2 / cfg.EmbedDim
	if a := checkpoint.Shape(h, "layers.0.mixer.A_log"); len(a) == 2 {
		cfg.DState = a[1]
	}
	if cw := checkpoint.Shape(h, "layers.0.mixer.conv1d.weight"); len(cw) == 3 {
		cfg.DConv = cw[2]
	}
	if dw := checkpoint.Shape(h, "layers.0.mixer.dt_proj.weight"); len(dw) == 2 {
		cfg.DTRank = dw[1]
	}
	if hw := checkpoint.Shape(h, "head.weight"); len(hw) == 2 {
		cfg.NumClasses = hw[0]
	}
	if checkpoint.Has(h, "norm_f.bias") {
		cfg.LayerNorm = true
	}
	single, double := checkpoint.Has(h, "cls_token"), checkpoint.Has(h, "cls_token_head")
	switch {
	case double:
		cfg.Cls = ClsDouble
	case single:
		cfg.Cls = ClsMiddle
		if sc.UseMiddleClsToken != nil && !*sc.UseMiddleClsToken {
			cfg.Cls = ClsHead
		}
	default:
		cfg.Cls = ClsNone
	}
	if sc.NormEpsilon != nil {
		cfg.NormEps = *sc.NormEpsilon
	}
	if sc.FinalPoolType != nil {
		cfg.FinalPool = *sc.FinalPoolType
	}
	if sc.IfDivideOut != nil {
		cfg.DivideOut = *sc.IfDivideOut
	}
	// Grid, stride and image size.
	pe := checkpoint.Shape(h, "pos_embed")
	if len(pe) != 3 || pe[0] != 1 || pe[2] != cfg.EmbedDim {
		return Config{}, fmt.Errorf("vim: pos_embed has shape %v, want (1, rows, %d)", pe, cfg.EmbedDim)
	}
	cells := pe[1] - cfg.Cls.NumTokens()
	g := int(math.Sqrt(float64(max(cells, 0))))
	for g*g < cells {
		g++
	}
	if cells <= 0 || g*g != cells {
		return Config{}, fmt.Errorf("vim: pos_embed has %d rows: not %d cls token(s) plus a square grid", pe[1], cfg.Cls.NumTokens())
	}
	switch {
	case sc.Stride != nil || sc.ImgSize != nil:
		if sc.Stride != nil {
			cfg.Stride = *sc.Stride
		} else {
			cfg.Stride = cfg.Patch
		}
		if sc.ImgSize != nil {
			cfg.ImgSize = *sc.ImgSize
		} else {
			cfg.ImgSize = (g-1)*cfg.Stride + cfg.Patch
		}
	default:
		cfg.Stride, cfg.ImgSize = cfg.Patch, g*cfg.Patch
		for s := cfg.Patch; s >= 1; s-- {
			if 224 >= cfg.Patch && (224-cfg.Patch)%s == 0 && (224-cfg.Patch)/s+1 == g {
				cfg.Stride, cfg.ImgSize = s, 224
				break
			}
		}
	}
	if cfg.Stride <= 0 || cfg.ImgSize < cfg.Patch {
		return Config{}, fmt.Errorf("vim: image size %d and stride %d do not fit patch %d", cfg.ImgSize, cfg.Stride, cfg.Patch)
	}
	if sc.PatchSize != nil && *sc.PatchSize != cfg.Patch {
		return Config{}, fmt.Errorf("vim: config.json patch_size %d, but patch_embed.proj.weight has %d", *sc.PatchSize, cfg.Patch)
	}
	if cfg.Grid() != g {
		return Config{}, fmt.Errorf("vim: image %d, patch %d, stride %d give a %d-grid, but pos_embed holds a %d-grid", cfg.ImgSize, cfg.Patch, cfg.Stride, cfg.Grid(), g)
	}
	cfg.Eval.InputSize = cfg.ImgSize
	if err := sc.applyEval(&cfg.Eval); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// FromCheckpoint binds the tensors of src to a model of configuration cfg
// with checkpoint.Bind — strictly: every parameter must be present with its
// exact shape and no other tensor may be present; all problems are reported
// together in a *checkpoint.BindError — and uploads them to be.
func FromCheckpoint(src checkpoint.Source, cfg Config, be kernels.Backend) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, params := skeleton(cfg)
	bs := make([]checkpoint.Binding, len(params))
	for i, p := range params {
		bs[i] = checkpoint.Binding{Name: p.name, Dst: p.dst, Shape: p.shape}
	}
	if err := checkpoint.Bind(src, bs, nil); err != nil {
		return nil, fmt.Errorf("vim: load %s: %w", src.Path(), err)
	}
	if err := m.finish(be); err != nil {
		return nil, fmt.Errorf("vim: load %s: %w", src.Path(), err)
	}
	return m, nil
}

// Load opens a Vim checkpoint file (safetensors or a PyTorch .pth whose
// state dict is under "model"), infers its configuration (reading
// config.json beside it when present) and loads it onto be.
func Load(path string, be kernels.Backend) (*Model, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vim: load %s: %w", path, err)
	}
	defer f.Close()
	sc, err := ReadSidecar(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	cfg, err := InferConfig(f, sc)
	if err != nil {
		return nil, fmt.Errorf("vim: load %s: %w", path, err)
	}
	cfg.Name = filepath.Base(path)
	return FromCheckpoint(f, cfg, be)
}

// applyEval copies the sidecar's preprocessing fields into e.
func (sc *SidecarConfig) applyEval(e *EvalConfig) error {
	if sc.InputSize != nil {
		if *sc.InputSize <= 0 {
			return fmt.Errorf("vim: config.json input_size %d", *sc.InputSize)
		}
		e.InputSize = *sc.InputSize
	}
	if sc.Interpolation != nil {
		e.Interpolation = *sc.Interpolation
	}
	if err := datasets.ParseNormalization(sc.CropPct, sc.Mean, sc.Std, &e.CropPct, &e.Mean, &e.Std); err != nil {
		return fmt.Errorf("vim: config.json %w", err)
	}
	return nil
}
