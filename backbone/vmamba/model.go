package vmamba

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/reuse"
	"github.com/gomamba/gomamba/kernels"
)

// Model is a VMamba network with its weights on one backend. Its methods are
// safe for concurrent use: weights are read-only after loading and every
// Forward call has its own scratch.
type Model struct {
	cfg Config
	be  kernels.Backend
	w   weights
	lay layout
	// runs pools the scratch of finished Forward calls: a call on the same
	// input shape reuses every activation buffer (no allocation, no GC
	// churn); another shape first releases them. Not a sync.Pool: see
	// package reuse.
	runs reuse.Pool[*run]
}

// getRun returns pooled scratch for an input shape, or a fresh one.
func (m *Model) getRun(shape []int, pad int) *run {
	key := [5]int{shape[0], shape[1], shape[2], shape[3], pad}
	if r, ok := m.runs.Get(); ok {
		if r.key == key {
			return r
		}
		r.release()
		r.key = key
		return r
	}
	r := newRun(m)
	r.key = key
	return r
}

// FeatureInfo describes one stage's feature map, like timm's features_only.
type FeatureInfo struct {
	// Name is "stage0".."stage3".
	Name string
	// Channels is the map's width; Stride its total stride in pixels.
	Channels, Stride int
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Backend returns the backend the weights live on.
func (m *Model) Backend() kernels.Backend { return m.be }

// HasClassifier reports whether the model has classifier.norm (and a head
// when NumClasses > 0).
func (m *Model) HasClassifier() bool { return m.lay.classifier }

// HasOutNorms reports whether the model has Backbone_VSSM's per-stage
// out-norms (detection / segmentation checkpoints), applied to the stage
// feature maps.
func (m *Model) HasOutNorms() bool { return m.lay.outNorms }

// FeatureInfo lists the stage feature maps (strides 4, 8, 16, 32).
func (m *Model) FeatureInfo() []FeatureInfo {
	out := make([]FeatureInfo, m.cfg.Stages())
	for i := range out {
		out[i] = FeatureInfo{Name: "stage" + strconv.Itoa(i), Channels: m.cfg.Dims[i], Stride: m.cfg.Stride(i)}
	}
	return out
}

// New builds a model with deterministic random weights (seeded; for tests
// and benchmarks): N(0, 0.02²) matrices, unit norms, A_logs = log(1..N),
// Ds = 1 and the official delta_bias range. It has a classifier when
// cfg.NumClasses > 0 and no out-norms.
func New(cfg Config, be kernels.Backend, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, be: be, lay: layout{classifier: cfg.NumClasses > 0}}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ps := m.w.params(&m.cfg, m.lay)
	for _, p := range ps {
		t := kernels.New(p.shape...)
		randomFill(t, p.role, r.NormFloat64)
		*p.dst = t
	}
	m.w.prepare(ps, be)
	return m, nil
}

// LoadOptions tune Load. A nil *LoadOptions means the defaults.
type LoadOptions struct {
	// Config, when set, is the architecture to bind the weights to;
	// otherwise it is inferred from the checkpoint's tensor shapes
	// (InferConfig) and named after the file.
	Config *Config
	// EMA loads the "model_ema" state dict of a training checkpoint instead
	// of "model".
	EMA bool
}

// Load reads a VMamba checkpoint — the official .pth (a dict with "model"
// and usually "model_ema"), an mmdet/mmseg checkpoint (keys under
// "backbone."), or safetensors — and binds it strictly: missing, unexpected
// and wrongly shaped tensors are reported together. Legacy key names are
// renamed as VSSM._load_from_state_dict does.
func Load(path string, be kernels.Backend, opts *LoadOptions) (*Model, error) {
	if opts == nil {
		opts = &LoadOptions{}
	}
	copts := &checkpoint.Options{}
	if opts.EMA {
		copts.Entry = "model_ema"
	}
	f, err := checkpoint.OpenWith(path, copts)
	if err != nil {
		return nil, fmt.Errorf("vmamba: load %s: %w", path, err)
	}
	defer f.Close()
	var cfg Config
	if opts.Config != nil {
		cfg = *opts.Config
	} else if cfg, err = InferConfig(f); err != nil {
		return nil, fmt.Errorf("vmamba: load %s: %w", path, err)
	}
	m, err := FromSource(cfg, f, be)
	if err != nil {
		return nil, fmt.Errorf("vmamba: load %s: %w", path, err)
	}
	return m, nil
}

// FromSource binds the tensors of src to a model of configuration cfg (see
// Load). The classifier and Backbone_VSSM's out-norms are bound when src has
// them; a checkpoint with neither classifier nor out-norms is a bare trunk.
func FromSource(cfg Config, src checkpoint.Source, be kernels.Backend) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rename := keyMapping(src.Names())
	has := func(key string) bool {
		for _, n := range src.Names() {
			if rename(n) == key {
				return true
			}
		}
		return false
	}
	m := &Model{cfg: cfg, be: be, lay: layout{classifier: has("classifier.norm.weight"), outNorms: has("outnorm0.weight")}}
	if !m.lay.classifier {
		m.cfg.NumClasses = 0
	}
	ps := m.w.params(&m.cfg, m.lay)
	bs := make([]checkpoint.Binding, len(ps))
	for i, p := range ps {
		bs[i] = checkpoint.Binding{Name: p.name, Dst: p.dst, Shape: p.shape}
	}
	if err := checkpoint.Bind(src, bs, &checkpoint.BindOptions{Rename: rename}); err != nil {
		return nil, err
	}
	m.w.prepare(ps, be)
	return m, nil
}

var legacyBlockKey = regexp.MustCompile(`^layers\.(\d+)\.blocks\.(\d+)\.(ln_1|self_attention)(\..*)$`)

// keyMapping returns the renaming of checkpoint keys to official VSSM keys:
// for mmdet/mmseg checkpoints only the "backbone." tensors are kept (neck and
// heads are dropped) and the prefix removed; a DataParallel "module." prefix
// is removed; then the legacy renames of VSSM._load_from_state_dict apply:
// patch_embed.proj → patch_embed.0, patch_embed.norm → patch_embed.2, blocks'
// ln_1 → norm and self_attention → op, top-level norm → classifier.norm and
// head → classifier.head. An empty result drops the tensor.
func keyMapping(names []string) func(string) string {
	prefix := ""
	for _, p := range []string{"backbone.", "module."} {
		for _, s := range names {
			if strings.HasPrefix(s, p) {
				prefix = p
				break
			}
		}
		if prefix != "" {
			break
		}
	}
	return func(s string) string {
		if prefix != "" {
			if !strings.HasPrefix(s, prefix) {
				if prefix == "backbone." {
					return "" // neck, heads
				}
				return s
			}
			s = s[len(prefix):]
		}
		switch {
		case strings.HasPrefix(s, "patch_embed.proj"):
			return "patch_embed.0" + s[len("patch_embed.proj"):]
		case strings.HasPrefix(s, "patch_embed.norm"):
			return "patch_embed.2" + s[len("patch_embed.norm"):]
		case strings.HasPrefix(s, "norm"):
			return "classifier.norm" + s[len("norm"):]
		case strings.HasPrefix(s, "head"):
			return "classifier.head" + s[len("head"):]
		}
		if g := legacyBlockKey.FindStringSubmatch(s); g != nil {
			part := "norm"
			if g[3] == "self_attention" {
				part = "op"
			}
			return "layers." + g[1] + ".blocks." + g[2] + "." + part + g[4]
		}
		return s
	}
}

// InferConfig reads a VMamba configuration from a checkpoint's tensor names
// and shapes without loading any data: stage widths and depths, d_state,
// ssm_ratio, dt_rank, z gating, conv bias, MLP ratio, stem and downsample
// versions, and the number of classes. The preprocessing is ImageNetEval.
func InferConfig(src checkpoint.Source) (Config, error) {
	rename := keyMapping(src.Names())
	shapes := map[string][]int{}
	for _, n := range src.Names() {
		if k := rename(n); k != "" {
			info, _ := src.Info(n)
			shapes[k] = info.Shape
		}
	}
	get := func(key string, rank int) ([]int, error) {
		s, ok := shapes[key]
		if !ok {
			return nil, fmt.Errorf("not a VMamba checkpoint: no tensor %s", key)
		}
		if len(s) != rank {
			return nil, fmt.Errorf("tensor %s has shape %v, want rank %d", key, s, rank)
		}
		return s, nil
	}
	cfg := Config{Name: filepath.Base(src.Path()), InChans: 3, PatchSize: 4, NormEps: 1e-5, Eval: ImageNetEval}
	pe, err := get("patch_embed.0.weight", 4)
	if err != nil {
		return Config{}, err
	}
	cfg.InChans = pe[1]
	switch {
	case pe[2] == 4 && pe[3] == 4:
		cfg.PatchEmbed = 1
	case pe[2] == 3 && pe[3] == 3:
		cfg.PatchEmbed = 2
	default:
		return Config{}, fmt.Errorf("patch_embed.0.weight %v: unknown stem", pe)
	}
	for i := 0; ; i++ {
		if _, ok := shapes[fmt.Sprintf("layers.%d.blocks.0.norm.weight", i)]; !ok {
			if _, ok := shapes[fmt.Sprintf("layers.%d.downsample.1.weight", i)]; !ok {
				break
			}
		}
		p := fmt.Sprintf("layers.%d.blocks.", i)
		depth := 0
		for {
			if _, ok := shapes[fmt.Sprintf("%s%d.norm.weight", p, depth)]; !ok {
				break
			}
			depth++
		}
		if depth == 0 {
			return Config{}, fmt.Errorf("stage %d has no blocks", i)
		}
		nw, err := get(p+"0.norm.weight", 1)
		if err != nil {
			return Config{}, err
		}
		dim := nw[0]
		xp, err := get(p+"0.op.x_proj_weight", 3)
		if err != nil {
			return Config{}, err
		}
		al, err := get(p+"0.op.A_logs", 2)
		if err != nil {
			return Config{}, err
		}
		dt, err := get(p+"0.op.dt_projs_weight", 3)
		if err != nil {
			return Config{}, err
		}
		in, err := get(p+"0.op.in_proj.weight", 2)
		if err != nil {
			return Config{}, err
		}
		di, n, r := xp[2], al[1], dt[2]
		if i == 0 {
			cfg.DState = n
			cfg.SSMRatio = float64(di) / float64(dim)
			cfg.Gated = in[0] == 2*di
			if in[0] != di && in[0] != 2*di {
				return Config{}, fmt.Errorf("%s0.op.in_proj.weight %v: want %d or %d rows", p, in, di, 2*di)
			}
			_, cfg.ConvBias = shapes[p+"0.op.conv2d.bias"]
			cv, err := get(p+"0.op.conv2d.weight", 4)
			if err != nil {
				return Config{}, err
			}
			cfg.ConvKernel = cv[2]
			if fc1, ok := shapes[p+"0.mlp.fc1.weight"]; ok && len(fc1) == 2 {
				cfg.MLPRatio = float64(fc1[0]) / float64(dim)
			}
		}
		cfg.Dims = append(cfg.Dims, dim)
		cfg.Depths = append(cfg.Depths, depth)
		if r != (dim+15)/16 {
			cfg.DTRank = r // only a constant non-auto rank is representable
		}
		if d, ok := shapes[fmt.Sprintf("layers.%d.downsample.1.weight", i)]; ok && len(d) == 4 {
			cfg.Downsample = 3
			if d[2] == 2 {
				cfg.Downsample = 2
			}
		} else if _, ok := shapes[fmt.Sprintf("layers.%d.downsample.reduction.weight", i)]; ok {
			cfg.Downsample = 1
		}
	}
	if len(cfg.Dims) == 0 {
		return Config{}, errors.New("not a VMamba checkpoint: no layers.0.blocks")
	}
	if cfg.Downsample == 0 {
		cfg.Downsample = 3 // a single stage: never used
	}
	if h, ok := shapes["classifier.head.weight"]; ok && len(h) == 2 {
		cfg.NumClasses = h[0]
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Options tune Forward. A nil *Options means: logits and pooled embedding
// only, at the input's own size.
type Options struct {
	// Stages lists the stage feature maps to return (0-based indices).
	Stages []int
	// PadMultiple, when > 0, zero-pads the input at the bottom and right to
	// a multiple of it (32 = the total stride) and crops every feature map
	// back to ceil(size/stride). 0 runs at the input's own size like the
	// official code (which already accepts any H×W: its stride-2 convs
	// produce ceil(H/2)).
	PadMultiple int
	// Tile, when > 0 (a multiple of 32, the total stride), runs the image in
	// Tile×Tile pieces and stitches the stage maps, so that scratch memory
	// is bounded by the tile instead of the image. Each tile sees only
	// itself (the scans do not cross tile borders), so the maps differ from
	// a whole-image run near the borders; LayerNorms and the pooled mean are
	// applied to the stitched maps.
	Tile int
}

// Output is the result of Forward (host tensors).
type Output struct {
	// Logits (Bt, NumClasses); nil without a classifier head.
	Logits *kernels.Tensor
	// Pooled (Bt, C_last) is the global average of the normalised last
	// stage (classifier.norm, or the last out-norm for backbone
	// checkpoints): the input of the classifier head, for retrieval.
	Pooled *kernels.Tensor
	// Stages holds the maps requested in Options.Stages, in that order,
	// channel-first (Bt, C_i, H_i, W_i): the raw stage outputs before
	// downsampling, passed through Backbone_VSSM's out-norms when the
	// checkpoint has them.
	Stages []*kernels.Tensor
}

// StageSize returns the spatial size of stage i's map for an h×w input
// (ceil division by the stride at every stride-2 step, as the official
// convolutions do).
func (m *Model) StageSize(stage, h, w int) (int, int) {
	if m.cfg.PatchEmbed == 1 {
		h, w = h/4, w/4
	} else {
		h, w = (h+1)/2, (w+1)/2
		h, w = (h+1)/2, (w+1)/2
	}
	for range stage {
		if m.cfg.Downsample == 2 {
			h, w = h/2, w/2
		} else {
			h, w = (h+1)/2, (w+1)/2
		}
	}
	return h, w
}

// EstimateBytes estimates the peak scratch memory of Forward for a batch of
// bt images of h×w pixels (it grows linearly with the pixel count).
func (m *Model) EstimateBytes(bt, h, w int) int64 {
	var peak int64
	for i := range m.cfg.Stages() {
		sh, sw := m.StageSize(i, h, w)
		l := int64(sh) * int64(sw)
		di, dim := int64(m.cfg.Inner(i)), int64(m.cfg.Dims[i])
		n := int64(m.cfg.Rank(i) + 2*m.cfg.DState)
		// xs, ys, merge temporaries (4·Di·L each, three of them plus halves),
		// projections, the MLP hidden map and the block activations.
		per := l * (di*(4*5+6) + 4*n + dim*8 + int64(m.cfg.Hidden(i)))
		peak = max(peak, per)
	}
	sh, sw := (h+1)/2, (w+1)/2
	stem := int64(sh) * int64(sw) * int64(m.cfg.Dims[0]) * 2
	return 4 * int64(bt) * (max(peak, stem) + int64(h)*int64(w)*int64(m.cfg.InChans))
}

// Forward runs the network on x (Bt, InChans, H, W), a normalised host
// batch, and returns host tensors. Any H, W ≥ 1 is accepted. ctx is checked
// between blocks.
func (m *Model) Forward(ctx context.Context, x *kernels.Tensor, opts *Options) (*Output, error) {
	return m.forward(ctx, x, opts, true)
}

// ForwardBackend is Forward for an input already in the model's backend
// memory; the returned tensors stay in backend memory (the caller may
// Backend().Free them).
func (m *Model) ForwardBackend(ctx context.Context, x *kernels.Tensor, opts *Options) (*Output, error) {
	return m.forward(ctx, x, opts, false)
}

func (m *Model) forward(ctx context.Context, x *kernels.Tensor, opts *Options, toHost bool) (*Output, error) {
	// Many short parallel ops (stage-3/4 GEMMs of 0.1-0.6 ms, norms,
	// adds): keep the kernels' helper threads spinning between them
	// instead of waking one per op (vmamba-tiny 224², 2 threads here,
	// alternating runs: median 125-175 -> 112-129 ms/img). No goroutines
	// of our own run meanwhile.
	defer kernels.HoldWorkers()()
	if opts == nil {
		opts = &Options{}
	}
	if x == nil || x.Rank() != 4 || x.Dim(1) != m.cfg.InChans || x.Dim(0) < 1 || x.Dim(2) < 1 || x.Dim(3) < 1 {
		var s []int
		if x != nil {
			s = x.Shape()
		}
		return nil, fmt.Errorf("vmamba: input %v: want (batch, %d, H, W)", s, m.cfg.InChans)
	}
	for _, s := range opts.Stages {
		if s < 0 || s >= m.cfg.Stages() {
			return nil, fmt.Errorf("vmamba: stage %d out of range [0, %d)", s, m.cfg.Stages())
		}
	}
	if opts.PadMultiple < 0 || opts.PadMultiple > 1<<12 {
		return nil, fmt.Errorf("vmamba: pad multiple %d out of range", opts.PadMultiple)
	}
	if m.cfg.PatchEmbed == 1 && (x.Dim(2) < 4 || x.Dim(3) < 4) {
		return nil, fmt.Errorf("vmamba: input %v is smaller than the 4×4 patch", x.Shape())
	}
	seen := map[int]bool{}
	for _, s := range opts.Stages {
		if seen[s] {
			return nil, fmt.Errorf("vmamba: stage %d requested twice", s)
		}
		seen[s] = true
	}
	if t := opts.Tile; t < 0 || (t > 0 && t%m.cfg.Stride(m.cfg.Stages()-1) != 0) {
		return nil, fmt.Errorf("vmamba: tile %d must be a positive multiple of the total stride %d", t, m.cfg.Stride(m.cfg.Stages()-1))
	}
	if opts.Tile > 0 && (x.Dim(2) > opts.Tile || x.Dim(3) > opts.Tile) {
		return m.forwardTiled(ctx, x, opts, toHost)
	}
	r := m.getRun(x.Shape(), opts.PadMultiple)
	out, err := r.forward(ctx, x, opts, toHost)
	m.runs.Put(r)
	return out, err
}

// forwardTiled runs Forward tile by tile (Options.Tile) and stitches the
// raw stage maps before the per-pixel norms and the pooling.
func (m *Model) forwardTiled(ctx context.Context, x *kernels.Tensor, opts *Options, toHost bool) (*Output, error) {
	be, cfg := m.be, &m.cfg
	in := x
	if toHost {
		in = be.FromHost(x)
		if in != x {
			defer be.Free(in)
		}
	}
	bt, c, h, w := in.Dim(0), in.Dim(1), in.Dim(2), in.Dim(3)
	need := m.needed(opts)
	full := map[int]*kernels.Tensor{}
	freeAll := func() {
		for _, t := range full {
			be.Free(t)
		}
	}
	for s := range need {
		sh, sw := m.StageSize(s, h, w)
		full[s] = be.New(bt, cfg.Dims[s], sh, sw)
	}
	for ty := 0; ty < h; ty += opts.Tile {
		for tx := 0; tx < w; tx += opts.Tile {
			th, tw := min(opts.Tile, h-ty), min(opts.Tile, w-tx)
			tile := be.New(bt, c, th, tw)
			be.CopyBox(tile, []int{0, 0, 0, 0}, in, []int{0, 0, ty, tx}, tile.Shape())
			r := m.getRun(tile.Shape(), opts.PadMultiple)
			raws, err := r.trunk(ctx, tile, opts.PadMultiple, need)
			m.runs.Put(r)
			be.Free(tile)
			if err != nil {
				freeAll()
				return nil, err
			}
			for s, t := range raws {
				st := cfg.Stride(s)
				be.CopyBox(full[s], []int{0, 0, ty / st, tx / st}, t, []int{0, 0, 0, 0}, t.Shape())
				be.Free(t)
			}
		}
	}
	r := m.getRun(in.Shape(), -1) // head only: its buffers are small
	out, err := r.head(full, opts, toHost)
	m.runs.Put(r)
	return out, err
}

// Sniff reports, from tensor names only, whether src holds VMamba weights
// (official, legacy, mmdet/mmseg "backbone." or DataParallel "module."
// keys).
func Sniff(src checkpoint.Source) bool {
	rename := keyMapping(src.Names())
	var stem, xproj bool
	for _, n := range src.Names() {
		switch k := rename(n); {
		case k == "patch_embed.0.weight":
			stem = true
		case strings.HasPrefix(k, "layers.0.blocks.0.op.x_proj_weight"):
			xproj = true
		}
	}
	return stem && xproj
}
