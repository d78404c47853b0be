package deit

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

// Header is the part of an open checkpoint needed to recognise a DeiT model
// and infer its configuration without reading tensor data: any
// checkpoint.Header (*checkpoint.File, checkpoint.Source).
type Header = checkpoint.Header

// ErrNotDeiT is returned (wrapped) when a checkpoint does not hold a timm
// VisionTransformer state dict; callers can branch with errors.Is.
var ErrNotDeiT = errors.New("not a DeiT/ViT (timm VisionTransformer) checkpoint")

// sniffKeys are the tensors every supported checkpoint has.
var sniffKeys = []string{"patch_embed.proj.weight", "cls_token", "pos_embed", "blocks.0.attn.qkv.weight", "blocks.0.mlp.fc1.weight"}

// Sniff reports whether h looks like a timm VisionTransformer state dict
// with a class token (DeiT, ViT): a conv patch embedding, cls_token,
// pos_embed and attention blocks under blocks.<i>.
func Sniff(h Header) bool {
	for _, k := range sniffKeys {
		if !checkpoint.Has(h, k) {
			return false
		}
	}
	return true
}

var blockRe = regexp.MustCompile(`^blocks\.(\d+)\.`)

// Args are timm VisionTransformer constructor arguments as they appear in a
// config.json ("model_args" of a timm hub config, or at the top level) or
// in a fixture's case.json ("timm_kwargs"). Absent fields are nil.
type Args struct {
	ImgSize      json.RawMessage `json:"img_size"` // int or [h, w]
	PatchSize    *int            `json:"patch_size"`
	InChans      *int            `json:"in_chans"`
	EmbedDim     *int            `json:"embed_dim"`
	Depth        *int            `json:"depth"`
	NumHeads     *int            `json:"num_heads"`
	MLPRatio     *float64        `json:"mlp_ratio"`
	QKVBias      *bool           `json:"qkv_bias"`
	ClassToken   *bool           `json:"class_token"`
	GlobalPool   *string         `json:"global_pool"`
	NoEmbedClass *bool           `json:"no_embed_class"`
	RegTokens    *int            `json:"reg_tokens"`
	InitValues   *float64        `json:"init_values"`
	FcNorm       *bool           `json:"fc_norm"`
	PosEmbed     *string         `json:"pos_embed"`
}

// PretrainedCfg is the evaluation part of timm's pretrained_cfg.
type PretrainedCfg struct {
	InputSize     []int     `json:"input_size"` // (channels, h, w)
	CropPct       *float64  `json:"crop_pct"`
	Interpolation *string   `json:"interpolation"`
	Mean          []float64 `json:"mean"`
	Std           []float64 `json:"std"`
}

// Sidecar is the optional config.json beside a checkpoint, in timm's hub
// layout ({"architecture": "deit_tiny_patch16_224", "num_classes": ...,
// "model_args": {...}, "pretrained_cfg": {...}}), with constructor
// arguments also accepted at the top level or under "timm_kwargs" (the
// golden fixture's case.json).
type Sidecar struct {
	// Architecture is a timm model name; deit_{tiny,small,base}_patch16_224
	// fix the number of heads.
	Architecture string `json:"architecture"`
	Args
	ModelArgs     *Args          `json:"model_args"`
	TimmKwargs    *Args          `json:"timm_kwargs"`
	PretrainedCfg *PretrainedCfg `json:"pretrained_cfg"`
	// Labels (or timm's label_names) name the classes (optional).
	Labels     []string `json:"labels"`
	LabelNames []string `json:"label_names"`
}

// ParseSidecar decodes a sidecar from JSON; path names it in errors.
func ParseSidecar(b []byte, path string) (*Sidecar, error) {
	var sc Sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, fmt.Errorf("deit: %s: %w", path, err)
	}
	if sc.Labels == nil {
		sc.Labels = sc.LabelNames
	}
	return &sc, nil
}

// ReadSidecar reads config.json from dir or, when there is none, a
// fixture's case.json. Neither present returns (nil, nil).
func ReadSidecar(dir string) (*Sidecar, error) {
	for _, name := range []string{"config.json", "case.json"} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("deit: %w", err)
		}
		return ParseSidecar(b, path)
	}
	return nil, nil
}

// args merges the three places constructor arguments may sit: top level
// first, then model_args, then timm_kwargs.
func (sc *Sidecar) args() Args {
	var a Args
	for _, src := range []*Args{&sc.Args, sc.ModelArgs, sc.TimmKwargs} {
		if src == nil {
			continue
		}
		if a.ImgSize == nil {
			a.ImgSize = src.ImgSize
		}
		setInt(&a.PatchSize, src.PatchSize)
		setInt(&a.InChans, src.InChans)
		setInt(&a.EmbedDim, src.EmbedDim)
		setInt(&a.Depth, src.Depth)
		setInt(&a.NumHeads, src.NumHeads)
		setInt(&a.RegTokens, src.RegTokens)
		if a.MLPRatio == nil {
			a.MLPRatio = src.MLPRatio
		}
		if a.InitValues == nil {
			a.InitValues = src.InitValues
		}
		for _, p := range []struct{ dst, src **bool }{{&a.QKVBias, &src.QKVBias}, {&a.ClassToken, &src.ClassToken},
			{&a.NoEmbedClass, &src.NoEmbedClass}, {&a.FcNorm, &src.FcNorm}} {
			if *p.dst == nil {
				*p.dst = *p.src
			}
		}
		if a.GlobalPool == nil {
			a.GlobalPool = src.GlobalPool
		}
		if a.PosEmbed == nil {
			a.PosEmbed = src.PosEmbed
		}
	}
	return a
}

func setInt(dst **int, src *int) {
	if *dst == nil {
		*dst = src
	}
}

// imgSize decodes img_size (an int or [h, w]); 0 when absent.
func (a *Args) imgSize() (int, error) {
	if len(a.ImgSize) == 0 || string(a.ImgSize) == "null" {
		return 0, nil
	}
	var n int
	if json.Unmarshal(a.ImgSize, &n) == nil {
		return n, nil
	}
	var hw []int
	if json.Unmarshal(a.ImgSize, &hw) == nil && len(hw) == 2 {
		if hw[0] != hw[1] {
			return 0, fmt.Errorf("deit: img_size %v: only square native sizes are supported", hw)
		}
		return hw[0], nil
	}
	return 0, fmt.Errorf("deit: img_size %s is neither an integer nor [h, w]", a.ImgSize)
}

// InferConfig derives a Config from tensor shapes: embed dim, channels and
// patch from patch_embed.proj.weight; depth from the block indices; the MLP
// width from fc1; qkv bias from its presence; classes from head.weight; the
// native grid from pos_embed (1 cls row + a square grid). The number of
// heads cannot be read from shapes: it comes from sc (num_heads, or a timm
// architecture name) or else from the preset with the same width (head
// width 64, as every DeiT), and is an error otherwise. ViT variants this
// package does not implement (distillation or register tokens, layer
// scale, fc_norm, no class token) are refused with a message saying so.
func InferConfig(h Header, sc *Sidecar) (Config, error) {
	if !Sniff(h) {
		var missing []string
		for _, k := range sniffKeys {
			if !checkpoint.Has(h, k) {
				missing = append(missing, k)
			}
		}
		return Config{}, fmt.Errorf("deit: %w (no tensor %v)", ErrNotDeiT, missing)
	}
	if sc == nil {
		sc = &Sidecar{}
	}
	a := sc.args()
	for _, u := range []struct {
		bad  bool
		what string
	}{
		{a.ClassToken != nil && !*a.ClassToken, "class_token=False"},
		{a.GlobalPool != nil && *a.GlobalPool != "token" && *a.GlobalPool != "", fmt.Sprintf("global_pool=%q", deref(a.GlobalPool))},
		{a.NoEmbedClass != nil && *a.NoEmbedClass, "no_embed_class=True"},
		{a.RegTokens != nil && *a.RegTokens > 0, "register tokens"},
		{a.InitValues != nil && *a.InitValues != 0, "layer scale (init_values)"},
		{a.FcNorm != nil && *a.FcNorm, "fc_norm"},
		{a.PosEmbed != nil && *a.PosEmbed != "learn", fmt.Sprintf("pos_embed=%q", deref(a.PosEmbed))},
		{checkpoint.Has(h, "dist_token"), "the distillation token (deit_*_distilled)"},
		{checkpoint.Has(h, "reg_token"), "register tokens"},
		{checkpoint.Has(h, "blocks.0.ls1.gamma"), "layer scale (blocks.*.ls1.gamma)"},
		{checkpoint.Has(h, "fc_norm.weight"), "fc_norm (global average pooling)"},
	} {
		if u.bad {
			return Config{}, fmt.Errorf("deit: %s is not supported (only timm's DeiT flags: cls token first, learned pos_embed with the cls slot, token pooling)", u.what)
		}
	}
	cfg := Config{Name: "inferred", NormEps: 1e-6, Eval: TimmEval}
	pw := checkpoint.Shape(h, "patch_embed.proj.weight")
	if len(pw) != 4 || pw[2] != pw[3] || pw[0] <= 0 || pw[1] <= 0 || pw[2] <= 0 {
		return Config{}, fmt.Errorf("deit: patch_embed.proj.weight has shape %v, want (C, channels, p, p)", pw)
	}
	cfg.EmbedDim, cfg.Channels, cfg.Patch = pw[0], pw[1], pw[2]
	c := cfg.EmbedDim
	for _, n := range h.Names() {
		if mm := blockRe.FindStringSubmatch(n); mm != nil {
			if i, err := strconv.Atoi(mm[1]); err == nil && i < 1<<16 {
				cfg.Depth = max(cfg.Depth, i+1)
			}
		}
	}
	if q := checkpoint.Shape(h, "blocks.0.attn.qkv.weight"); len(q) != 2 || q[0] != 3*c || q[1] != c {
		return Config{}, fmt.Errorf("deit: blocks.0.attn.qkv.weight has shape %v, want (%d, %d)", q, 3*c, c)
	}
	cfg.QKVBias = checkpoint.Has(h, "blocks.0.attn.qkv.bias")
	if f := checkpoint.Shape(h, "blocks.0.mlp.fc1.weight"); len(f) == 2 && f[1] == c && f[0] > 0 {
		cfg.MLPHidden = f[0]
	} else {
		return Config{}, fmt.Errorf("deit: blocks.0.mlp.fc1.weight has shape %v, want (hidden, %d)", f, c)
	}
	if hw := checkpoint.Shape(h, "head.weight"); len(hw) == 2 {
		cfg.NumClasses = hw[0]
	}
	pe := checkpoint.Shape(h, "pos_embed")
	if len(pe) != 3 || pe[0] != 1 || pe[2] != c {
		return Config{}, fmt.Errorf("deit: pos_embed has shape %v, want (1, rows, %d)", pe, c)
	}
	cells := pe[1] - 1
	g := int(math.Sqrt(float64(max(cells, 0))))
	for g*g < cells {
		g++
	}
	if cells <= 0 || g*g != cells {
		return Config{}, fmt.Errorf("deit: pos_embed has %d rows: not 1 cls row plus a square grid", pe[1])
	}
	cfg.ImgSize = g * cfg.Patch
	if n, err := a.imgSize(); err != nil {
		return Config{}, err
	} else if n > 0 {
		if n/cfg.Patch != g {
			return Config{}, fmt.Errorf("deit: config img_size %d with patch %d gives a %d-grid, but pos_embed holds a %d-grid", n, cfg.Patch, n/cfg.Patch, g)
		}
		cfg.ImgSize = n
	}
	if a.PatchSize != nil && *a.PatchSize != cfg.Patch {
		return Config{}, fmt.Errorf("deit: config patch_size %d, but patch_embed.proj.weight has %d", *a.PatchSize, cfg.Patch)
	}
	if a.EmbedDim != nil && *a.EmbedDim != c {
		return Config{}, fmt.Errorf("deit: config embed_dim %d, but the tensors have %d", *a.EmbedDim, c)
	}
	switch {
	case a.NumHeads != nil:
		cfg.Heads = *a.NumHeads
	case timmArch[sc.Architecture] != "":
		cfg.Heads = presets[timmArch[sc.Architecture]].Heads
	default:
		for _, p := range presets {
			if p.EmbedDim == c {
				cfg.Heads = p.Heads
			}
		}
	}
	if cfg.Heads == 0 {
		return Config{}, fmt.Errorf("deit: cannot tell the number of attention heads of a width-%d model: put a config.json with \"num_heads\" beside the checkpoint", c)
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// applyEval copies pretrained_cfg's preprocessing into e.
func (sc *Sidecar) applyEval(e *EvalConfig) error {
	p := sc.PretrainedCfg
	if p == nil {
		return nil
	}
	if len(p.InputSize) == 3 {
		if p.InputSize[1] <= 0 || p.InputSize[1] > 1<<14 {
			return fmt.Errorf("deit: config input_size %v", p.InputSize)
		}
		e.InputSize = p.InputSize[1]
	}
	if p.Interpolation != nil {
		e.Interpolation = *p.Interpolation
	}
	if err := datasets.ParseNormalization(p.CropPct, p.Mean, p.Std, &e.CropPct, &e.Mean, &e.Std); err != nil {
		return fmt.Errorf("deit: config %w", err)
	}
	return nil
}

// FromCheckpoint binds the tensors of src to a model of configuration cfg
// with checkpoint.Bind — strictly: every parameter must be present with its
// exact shape and no other tensor may be present; all problems are
// reported together in a *checkpoint.BindError — and uploads them to be.
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
		return nil, fmt.Errorf("deit: load %s: %w", src.Path(), err)
	}
	m.finish(be)
	return m, nil
}

// Load opens a DeiT/ViT checkpoint file (safetensors, or a PyTorch .pth
// with the state dict at the top level or under "model" as the original
// DeiT release files), infers its configuration (reading config.json — or a
// fixture's case.json — beside it when present) and loads it onto be.
func Load(path string, be kernels.Backend) (*Model, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return nil, fmt.Errorf("deit: load %s: %w", path, err)
	}
	defer f.Close()
	sc, err := ReadSidecar(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	cfg, err := InferConfig(f, sc)
	if err != nil {
		return nil, fmt.Errorf("deit: load %s: %w", path, err)
	}
	cfg.Name = filepath.Base(path)
	return FromCheckpoint(f, cfg, be)
}
