package vision

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
)

// FeatureInfo describes one dense feature map a network can return, like
// timm's features_only feature_info: its channel count, its stride in input
// pixels (monotone non-decreasing over a network's list) and a name (the
// module it comes from, e.g. "layers.11" or "layers.2").
type FeatureInfo struct {
	Channels int    `json:"channels"`
	Stride   int    `json:"stride"`
	Name     string `json:"name"`
}

// Network is what a model family plugs into a Model: a loaded network with
// its weights on one backend. Implementations must be safe for concurrent use
// (each call brings its own activations).
type Network interface {
	// Forward runs a normalised batch x (Bt, InputChannels(), H, W) held
	// in Backend()'s memory and returns the pooled features (Bt, D) and the
	// logits (Bt, NumClasses()), nil when the network has no head, both in
	// Backend()'s memory.
	Forward(ctx context.Context, x *kernels.Tensor) (features, logits *kernels.Tensor, err error)
	// Features returns the dense maps selected by indices into
	// FeatureInfo() (negative indices count from the end), each
	// (Bt, Channels, ~H/Stride, ~W/Stride) in Backend()'s memory.
	Features(ctx context.Context, x *kernels.Tensor, indices []int) ([]*kernels.Tensor, error)
	// FeatureInfo lists every feature map Features can return.
	FeatureInfo() []FeatureInfo
	// DefaultFeatures are the indices Features uses when none are given.
	DefaultFeatures() []int
	// InputChannels is the number of image channels (3, or 1 for grey).
	InputChannels() int
	// InputMultiple is the number that H and W must be multiples of (1
	// when any size of at least one patch works).
	InputMultiple() int
	// NumClasses is the classifier width (0 without a head).
	NumClasses() int
	// EvalConfig is the preprocessing the weights expect.
	EvalConfig() datasets.EvalTransform
	// Backend holds the weights.
	Backend() kernels.Backend
}

// Family plugs a model family (Vim, VMamba, ...) into Load. Families
// register themselves from an init function in vision/family_<name>.go.
type Family struct {
	// Name is the family's short name ("vim", "vmamba").
	Name string
	// Sniff reports, from tensor names and shapes only, whether src holds
	// this family's weights.
	Sniff func(src checkpoint.Source) bool
	// Load builds the network from src, inferring its configuration; dir
	// is the folder holding the weights (for a config.json beside them).
	Load func(src checkpoint.Source, dir string, be kernels.Backend) (Network, error)
	// Presets are the named configurations the family knows.
	Presets []string
	// LoadPreset builds a preset's network from src, strictly checking the
	// tensors against the preset's configuration.
	LoadPreset func(src checkpoint.Source, preset string, be kernels.Backend) (Network, error)
	// WeightsHint says where to get a preset's official weights (shown
	// when they are not found locally). Optional.
	WeightsHint func(preset string) string
}

var (
	familiesMu sync.RWMutex
	families   = map[string]Family{}
)

// RegisterFamily makes a family available to Load. It panics if the name is
// empty or already registered, or Sniff or Load is nil (a programming error
// in an init function).
func RegisterFamily(f Family) {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	if f.Name == "" || f.Sniff == nil || f.Load == nil {
		panic("vision: RegisterFamily needs a name, Sniff and Load")
	}
	if _, dup := families[f.Name]; dup {
		panic("vision: family " + f.Name + " registered twice")
	}
	families[f.Name] = f
}

// Families returns the registered family names, sorted.
func Families() []string {
	familiesMu.RLock()
	defer familiesMu.RUnlock()
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Presets returns every registered preset name, sorted.
func Presets() []string {
	familiesMu.RLock()
	defer familiesMu.RUnlock()
	var names []string
	for _, f := range families {
		names = append(names, f.Presets...)
	}
	slices.Sort(names)
	return names
}

func family(name string) (Family, error) {
	familiesMu.RLock()
	defer familiesMu.RUnlock()
	f, ok := families[name]
	if !ok {
		return Family{}, fmt.Errorf("vision: unknown family %q (known: %v)", name, Families())
	}
	return f, nil
}

func presetFamily(preset string) (Family, bool) {
	familiesMu.RLock()
	defer familiesMu.RUnlock()
	for _, f := range families {
		if slices.Contains(f.Presets, preset) {
			return f, true
		}
	}
	return Family{}, false
}

func sniff(src checkpoint.Source) (Family, bool) {
	for _, n := range Families() {
		f, _ := family(n)
		if f.Sniff(src) {
			return f, true
		}
	}
	return Family{}, false
}
