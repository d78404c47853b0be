package vision

import (
	"fmt"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/kernels"
)

// loaderFamily builds the Load and LoadPreset of a family whose backbone
// package loads the same way (Vim, DeiT): read the optional config.json
// sidecar beside the weights (readSidecar), infer the configuration from the
// tensors and the sidecar (infer) or take a named preset (preset), build the
// model from the checkpoint (build) and adapt it to Network (wrap).
func loaderFamily[S, C, M any](f Family,
	readSidecar func(dir string) (S, error),
	infer func(h checkpoint.Header, sc S) (C, error),
	preset func(name string) (C, bool),
	build func(src checkpoint.Source, cfg C, be kernels.Backend) (M, error),
	wrap func(M) Network,
) Family {
	f.Load = func(src checkpoint.Source, dir string, be kernels.Backend) (Network, error) {
		sc, err := readSidecar(dir)
		if err != nil {
			return nil, err
		}
		cfg, err := infer(src, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: load %s: %w", f.Name, src.Path(), err)
		}
		m, err := build(src, cfg, be)
		if err != nil {
			return nil, err
		}
		return wrap(m), nil
	}
	f.LoadPreset = func(src checkpoint.Source, name string, be kernels.Backend) (Network, error) {
		cfg, ok := preset(name)
		if !ok {
			return nil, fmt.Errorf("%s: unknown preset %q", f.Name, name)
		}
		m, err := build(src, cfg, be)
		if err != nil {
			return nil, err
		}
		return wrap(m), nil
	}
	return f
}

// evenTaps returns four evenly spaced block indices ending with the last
// (d/4−1, d/2−1, 3d/4−1, d−1), or every block when there are fewer than
// four: the default dense-feature taps of the plain (single-scale) backbones.
func evenTaps(d int) []int {
	if d < 4 {
		out := make([]int, d)
		for i := range out {
			out[i] = i
		}
		return out
	}
	return []int{d/4 - 1, d/2 - 1, 3*d/4 - 1, d - 1}
}
