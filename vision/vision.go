package vision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/heads"
	"github.com/gomamba/gomamba/heads/labels"
	"github.com/gomamba/gomamba/kernels"
)

// Model is a loaded image model: a family's Network plus its preprocessing
// and class names. A Model is immutable and safe for concurrent use by many
// goroutines; calls on one backend share its cores.
type Model struct {
	net    Network
	family string
	name   string
	labels []string
	eval   datasets.EvalTransform
}

// Option configures Load.
type Option func(*options)

type options struct {
	be        kernels.Backend
	family    string
	size      int
	labels    []string
	precision string
}

// WithBackend runs the model on be (default kernels.CPU()).
func WithBackend(be kernels.Backend) Option { return func(o *options) { o.be = be } }

// WithDevice is WithBackend under the name used by the CLI's --device.
func WithDevice(be kernels.Backend) Option { return WithBackend(be) }

// WithPrecision sets the precision of the backend's matrix products:
// "fp32" (the default; matches PyTorch fp32), "tf32" or "bf16" (GPU tensor
// cores round the GEMM inputs; storage, accumulation, the scan and the norms
// stay fp32; docs/gpu.md gives the measured differences). Only backends
// with a SetPrecision(string) error method (the CUDA backend) accept a
// reduced precision, and there the setting is the backend's: it applies to
// every model that shares it.
func WithPrecision(name string) Option { return func(o *options) { o.precision = name } }

// precisionSetter is implemented by backends with a selectable GEMM
// precision (kernels/cuda.Backend).
type precisionSetter interface{ SetPrecision(string) error }

// WithFamily skips sniffing and loads the checkpoint as the named family.
func WithFamily(name string) Option { return func(o *options) { o.family = name } }

// WithSize sets the evaluation crop side S (the shorter side is first
// resized to S/crop_pct); 0 keeps the checkpoint's native size. Networks
// that accept any resolution (Vim) interpolate their position embedding.
func WithSize(s int) Option { return func(o *options) { o.size = s } }

// WithLabels names the classes (overriding labels found beside the weights
// or the ImageNet-1k names used for 1000-class models); see labels.ReadFile
// to read them from a file.
func WithLabels(labels []string) Option { return func(o *options) { o.labels = labels } }

// ModelsDirEnv names the environment variable holding a folder of preset
// weights (<preset>.safetensors, <preset>.pth or <preset>/).
const ModelsDirEnv = "GOMAMBA_MODELS"

// Load loads a model from a checkpoint file (.safetensors or PyTorch .pth,
// sniffed by content), a folder of weights (checkpoint.OpenDir), or a preset
// name such as "vim-tiny", whose weights are looked up as
// <preset>.safetensors, <preset>.pth or <preset>/ in $GOMAMBA_MODELS and
// then ~/.cache/gomamba. The family is recognised from the tensor names
// (see RegisterFamily) unless WithFamily is given; a checkpoint no family
// recognises is refused with an error naming the file.
func Load(pathOrPreset string, opts ...Option) (*Model, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.be == nil {
		o.be = kernels.CPU()
	}
	if o.precision != "" {
		if ps, ok := o.be.(precisionSetter); ok {
			if err := ps.SetPrecision(o.precision); err != nil {
				return nil, fmt.Errorf("vision: %w", err)
			}
		} else if p := strings.ToLower(strings.TrimSpace(o.precision)); p != "fp32" {
			return nil, fmt.Errorf("vision: precision %q: backend %s computes in fp32 only", o.precision, o.be.Name())
		}
	}
	if o.size < 0 || o.size > 1<<14 {
		return nil, fmt.Errorf("vision: input size %d out of range", o.size)
	}
	if _, err := os.Stat(pathOrPreset); err == nil {
		return loadPath(pathOrPreset, "", o)
	}
	if fam, ok := presetFamily(pathOrPreset); ok {
		path, searched := findPresetWeights(pathOrPreset)
		if path == "" {
			msg := fmt.Sprintf("vision: preset %q: no weights found (looked for %s)", pathOrPreset, strings.Join(searched, ", "))
			if fam.WeightsHint != nil {
				msg += "; " + fam.WeightsHint(pathOrPreset)
			}
			return nil, errors.New(msg)
		}
		if o.family == "" {
			o.family = fam.Name
		}
		return loadPath(path, pathOrPreset, o)
	}
	return nil, fmt.Errorf("vision: %s: no such file or folder, and not a preset name (known presets: %s)", pathOrPreset, strings.Join(Presets(), ", "))
}

// findPresetWeights returns the first existing weight location of preset.
func findPresetWeights(preset string) (string, []string) {
	var dirs []string
	if d := os.Getenv(ModelsDirEnv); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "gomamba"))
	}
	var searched []string
	for _, d := range dirs {
		for _, name := range []string{preset + ".safetensors", preset + ".pth", preset} {
			p := filepath.Join(d, name)
			searched = append(searched, p)
			if _, err := os.Stat(p); err == nil {
				return p, searched
			}
		}
	}
	return "", searched
}

func loadPath(path, preset string, o options) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	var src checkpoint.Source
	dir := filepath.Dir(path)
	if st.IsDir() {
		set, err := checkpoint.OpenDir(path)
		if err != nil {
			return nil, fmt.Errorf("vision: load %s: %w", path, err)
		}
		defer set.Close()
		src, dir = set, path
	} else {
		f, err := checkpoint.Open(path)
		if err != nil {
			return nil, fmt.Errorf("vision: load %s: %w", path, err)
		}
		defer f.Close()
		src = f
	}
	var fam Family
	if o.family != "" {
		if fam, err = family(o.family); err != nil {
			return nil, err
		}
		if !fam.Sniff(src) {
			return nil, fmt.Errorf("vision: load %s: not a %s checkpoint (its tensors do not match the family)", path, fam.Name)
		}
	} else if fam, err = sniffOrExplain(src, path); err != nil {
		return nil, err
	}
	var net Network
	if preset != "" && fam.LoadPreset != nil {
		net, err = fam.LoadPreset(src, preset, o.be)
	} else {
		net, err = fam.Load(src, dir, o.be)
	}
	if err != nil {
		return nil, err
	}
	m := &Model{net: net, family: fam.Name, name: preset, eval: net.EvalConfig()}
	if m.name == "" {
		m.name = filepath.Base(path)
	}
	if o.size > 0 {
		m.eval.Size = o.size
	}
	m.eval.Grayscale = net.InputChannels() == 1
	if m.labels = o.labels; m.labels == nil {
		if m.labels, err = findLabels(dir, net.NumClasses()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func sniffOrExplain(src checkpoint.Source, path string) (Family, error) {
	if f, ok := sniff(src); ok {
		return f, nil
	}
	names := src.Names()
	show := names[:min(len(names), 4)]
	return Family{}, fmt.Errorf("vision: load %s: not a checkpoint of any known family (%s); its %d tensors start with %s",
		path, strings.Join(Families(), ", "), len(names), strings.Join(show, ", "))
}

// findLabels returns class names from dir (config.json "labels", or
// labels.txt / labels.json read by labels.ReadFile) when their count equals
// classes, else the ImageNet-1k names for 1000-class models, else nil.
func findLabels(dir string, classes int) ([]string, error) {
	if classes == 0 {
		return nil, nil
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		var c struct {
			Labels []string `json:"labels"`
		}
		if json.Unmarshal(b, &c) == nil && len(c.Labels) == classes {
			return c.Labels, nil
		}
	}
	for _, name := range []string{"labels.txt", "labels.json"} {
		if l, err := labels.ReadFile(filepath.Join(dir, name)); err == nil && len(l) == classes {
			return l, nil
		}
	}
	if classes == 1000 {
		return labels.ImageNet1k(), nil
	}
	return nil, nil
}

// Name returns the preset name or the checkpoint's file name.
func (m *Model) Name() string { return m.name }

// Family returns the family name ("vim", ...).
func (m *Model) Family() string { return m.family }

// Network returns the underlying network.
func (m *Model) Network() Network { return m.net }

// NumClasses returns the number of classes (0 without a head).
func (m *Model) NumClasses() int { return m.net.NumClasses() }

// Labels returns the class names (nil when unknown). Do not modify.
func (m *Model) Labels() []string { return m.labels }

// EvalTransform returns the preprocessing Classify applies.
func (m *Model) EvalTransform() datasets.EvalTransform { return m.eval }

// FeatureInfo lists the feature maps Features can return.
func (m *Model) FeatureInfo() []FeatureInfo { return m.net.FeatureInfo() }

// Preprocess applies the evaluation transform to img and returns a
// (1, C, S, S) host tensor.
func (m *Model) Preprocess(img image.Image) (*kernels.Tensor, error) {
	t, err := m.eval.Apply(img)
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	return t.Reshape(append([]int{1}, t.Shape()...)...), nil
}

// Logits runs a normalised host batch x (Bt, C, H, W) and returns the host
// logits (Bt, NumClasses).
func (m *Model) Logits(ctx context.Context, x *kernels.Tensor) (*kernels.Tensor, error) {
	if m.net.NumClasses() == 0 {
		return nil, fmt.Errorf("vision: %s has no classifier head", m.name)
	}
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	be := m.net.Backend()
	xd := be.FromHost(x)
	if xd != x {
		defer be.Free(xd)
	}
	_, logits, err := m.net.Forward(ctx, xd)
	if err != nil {
		return nil, err
	}
	out := be.ToHost(logits)
	if out != logits {
		be.Free(logits)
	}
	return out, nil
}

func (m *Model) checkInput(x *kernels.Tensor) error {
	if x.Rank() != 4 || x.Dim(1) != m.net.InputChannels() || x.Dim(0) == 0 {
		return fmt.Errorf("vision: input %v, want (batch, %d, H, W)", x.Shape(), m.net.InputChannels())
	}
	if k := m.net.InputMultiple(); k > 1 && (x.Dim(2)%k != 0 || x.Dim(3)%k != 0) {
		return fmt.Errorf("vision: input %dx%d: %s needs sides that are multiples of %d", x.Dim(3), x.Dim(2), m.family, k)
	}
	return nil
}

// Classify returns the k most probable classes of img.
func (m *Model) Classify(ctx context.Context, img image.Image, k int) ([]heads.Prediction, error) {
	out, err := m.ClassifyBatch(ctx, []image.Image{img}, k)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ClassifyBatch preprocesses imgs, runs them as one batch and returns the
// top-k classes of each.
func (m *Model) ClassifyBatch(ctx context.Context, imgs []image.Image, k int) ([][]heads.Prediction, error) {
	if len(imgs) == 0 {
		return nil, nil
	}
	var batch *kernels.Tensor
	for i, img := range imgs {
		t, err := m.Preprocess(img)
		if err != nil {
			return nil, fmt.Errorf("vision: image %d: %w", i, err)
		}
		if batch == nil {
			s := t.Shape()
			batch = kernels.New(len(imgs), s[1], s[2], s[3])
		}
		copy(batch.Data[i*t.Len():], t.Data)
	}
	logits, err := m.Logits(ctx, batch)
	if err != nil {
		return nil, err
	}
	n := m.net.NumClasses()
	out := make([][]heads.Prediction, len(imgs))
	for i := range imgs {
		out[i] = heads.TopK(logits.Data[i*n:(i+1)*n], k, m.labels)
	}
	return out, nil
}

// FeatureMap is one dense feature map of one image.
type FeatureMap struct {
	FeatureInfo
	// Data is (Channels, H', W') on the host.
	Data *kernels.Tensor
}

// FeatureOptions choose what Features returns. A nil *FeatureOptions means
// the network's default maps on the evaluation crop.
type FeatureOptions struct {
	// Indices select entries of FeatureInfo() (negative from the end);
	// nil means the network's defaults.
	Indices []int
	// Native keeps the image's own size (rounded to the network's input
	// multiple, longer side capped by MaxSide) instead of the evaluation
	// resize and crop.
	Native bool
	// MaxSide caps the longer side in Native mode (0: no cap).
	MaxSide int
}

// Features returns dense feature maps of img with their FeatureInfo.
func (m *Model) Features(ctx context.Context, img image.Image, opts *FeatureOptions) ([]FeatureMap, error) {
	if opts == nil {
		opts = &FeatureOptions{}
	}
	var x *kernels.Tensor
	var err error
	if opts.Native {
		nt := datasets.NativeTransform{Multiple: m.net.InputMultiple(), MaxSide: opts.MaxSide, Mean: m.eval.Mean, Std: m.eval.Std,
			Interpolation: m.eval.Interpolation, Grayscale: m.eval.Grayscale}
		x, err = nt.Apply(img)
		if err == nil {
			x = x.Reshape(append([]int{1}, x.Shape()...)...)
		}
	} else {
		x, err = m.Preprocess(img)
	}
	if err != nil {
		return nil, fmt.Errorf("vision: %w", err)
	}
	maps, err := m.FeaturesBatch(ctx, x, opts.Indices)
	if err != nil {
		return nil, err
	}
	for i := range maps {
		s := maps[i].Data.Shape()
		maps[i].Data = maps[i].Data.Reshape(s[1:]...)
	}
	return maps, nil
}

// FeaturesBatch returns the feature maps selected by indices (nil: the
// defaults) of a normalised host batch x (Bt, C, H, W); each Data is
// (Bt, Channels, H', W') on the host.
func (m *Model) FeaturesBatch(ctx context.Context, x *kernels.Tensor, indices []int) ([]FeatureMap, error) {
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	info := m.net.FeatureInfo()
	if indices == nil {
		indices = m.net.DefaultFeatures()
	}
	norm := make([]int, len(indices))
	for i, j := range indices {
		if j < 0 {
			j += len(info)
		}
		if j < 0 || j >= len(info) {
			return nil, fmt.Errorf("vision: feature index %d out of range (%d maps)", indices[i], len(info))
		}
		norm[i] = j
	}
	be := m.net.Backend()
	xd := be.FromHost(x)
	if xd != x {
		defer be.Free(xd)
	}
	ts, err := m.net.Features(ctx, xd, norm)
	if err != nil {
		return nil, err
	}
	out := make([]FeatureMap, len(ts))
	for i, t := range ts {
		h := be.ToHost(t)
		if h != t {
			be.Free(t)
		}
		out[i] = FeatureMap{FeatureInfo: info[norm[i]], Data: h}
	}
	return out, nil
}
