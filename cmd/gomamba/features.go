package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/backbone/vmamba"
	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/internal/npy"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/vision"
)

// featuresFlags are the options of `gomamba features`; they are generic over
// model families (everything goes through vision.Model).
type featuresFlags struct {
	model, device, out string
	layers             []int
	size, maxSide      int
	native, list, json bool
	quiet              bool
	// stages picks maps 1-based ("1,2,3,4" = VMamba's four stages); an
	// alternative to layers.
	stages string
	// pooled also saves the pooled embedding (the classifier's input) as
	// "pooled", for retrieval.
	pooled bool
	// pad zero-pads the normalised input to a multiple of pad and crops the
	// maps back to ceil(size/stride) (32 = VMamba's total stride).
	pad int
	// npy writes one .npy per map into the output folder.
	npy bool
	// maxMemGiB refuses inputs whose estimated scratch exceeds it (VMamba).
	maxMemGiB float64
	// tile runs VMamba in tile×tile pieces (bounded memory; see
	// vmamba.Options.Tile).
	tile int
}

func init() {
	var fl featuresFlags
	cmd := &cobra.Command{
		Use:   "features [--model M] [--layers I,J | --stages 1,2,3,4] [--size S | --native] [--pooled] -o DIR|OUT.safetensors|OUT.npz FILES|DIRS...",
		Short: "Extract dense feature maps (like timm features_only) from images",
		Long: `Run a model's backbone on images and save the selected dense feature maps.

Each input FILE becomes DIR/<name>.features.safetensors holding one (C, H', W') float32
tensor per selected map, named like the map ("layers.11" for Vim blocks, "layers.2" for
VMamba stages), with the feature info (channels, stride) in the metadata. --list prints
the maps the model offers. --layers picks maps by index into that list (negative counts
from the end; default: the model's usual four). By default images get the model's
evaluation resize and crop (--size S changes the crop side); --native keeps each image's
own size (rounded to the model's input multiple, longer side capped by --max-side).

--stages picks maps 1-based (VMamba: 1,2,3,4 = strides 4, 8, 16, 32). --pooled also saves
the pooled embedding (the classifier's input, for retrieval) as "pooled". --pad N zero-pads
the normalised input to a multiple of N (32 for VMamba's total stride) and crops the maps
back to ceil(size/stride); VMamba runs any size without it, like the official code.
--tile N (VMamba) runs very large images in NxN pieces and stitches the maps: memory is
bounded by the tile, but the scans do not cross tile borders, so values there differ.

-o names the output: a folder gets one <name>.features.safetensors per image (or, with
--npy, <name>/<map>.npy files); a path ending in .safetensors or .npz gets every image in
one file, entries named "<FILE>/<map>" and "<FILE>/pooled"; a path ending in .npy takes
exactly one map of one image.

With --json one line per image describes what was written, or {"file":..., "error":...}.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runFeatures(ctx, fl, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.model, "model", "m", "", "checkpoint file, folder or preset name (default: the built-in model if any, else vim-tiny)")
	f.IntSliceVar(&fl.layers, "layers", nil, "feature map indices (see --list; default: the model's)")
	f.IntVar(&fl.size, "size", 0, "evaluation crop side in pixels (0 = native size of the model)")
	f.BoolVar(&fl.native, "native", false, "keep each image's own size instead of resize+crop")
	f.IntVar(&fl.maxSide, "max-side", 1024, "with --native, cap the longer side (0 = no cap)")
	f.StringVarP(&fl.out, "out", "o", "", "output folder, or one .safetensors/.npz/.npy file")
	f.StringVar(&fl.stages, "stages", "", "feature maps by 1-based position, e.g. 1,2,3,4 (alternative to --layers)")
	f.BoolVar(&fl.pooled, "pooled", false, "also save the pooled embedding as \"pooled\"")
	f.IntVar(&fl.pad, "pad", 0, "zero-pad the input to a multiple of N and crop the maps back (0 = off)")
	f.BoolVar(&fl.npy, "npy", false, "with a folder -o, write one .npy per map instead of .safetensors")
	f.Float64Var(&fl.maxMemGiB, "max-mem", 16, "refuse images whose estimated working memory exceeds this many GiB")
	f.IntVar(&fl.tile, "tile", 0, "VMamba: run in NxN tiles (a multiple of 32) and stitch the maps; bounds memory, changes values near tile borders")
	f.BoolVar(&fl.list, "list", false, "print the model's feature maps and exit")
	f.BoolVar(&fl.json, "json", false, "print one JSON object per image")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	addDeviceFlag(f, &fl.device, "auto")
	rootCmd.AddCommand(cmd)
}

// featuresResult is one --json line.
type featuresResult struct {
	File  string        `json:"file"`
	Out   string        `json:"out,omitempty"`
	Maps  []featureDesc `json:"maps,omitempty"`
	Error string        `json:"error,omitempty"`
}

type featureDesc struct {
	vision.FeatureInfo
	Shape []int `json:"shape"`
}

func runFeatures(ctx context.Context, fl featuresFlags, args []string, stdout, stderr io.Writer) error {
	m, err := loadVisionModel(fl.model, fl.device, "", fl.size)
	if err != nil {
		return err
	}
	info := m.FeatureInfo()
	if fl.list {
		for i, fi := range info {
			fmt.Fprintf(stdout, "%3d  %-12s channels %4d  stride %3d\n", i, fi.Name, fi.Channels, fi.Stride)
		}
		return nil
	}
	if len(args) == 0 {
		return fmt.Errorf("features: no input files (or use --list)")
	}
	if fl.out == "" {
		return fmt.Errorf("features: --out is required (a folder, or a .safetensors/.npz/.npy file)")
	}
	indices := fl.layers
	if fl.stages != "" {
		if len(fl.layers) > 0 {
			return fmt.Errorf("features: use --layers or --stages, not both")
		}
		if indices, err = parseStages(fl.stages, len(info)); err != nil {
			return err
		}
	}
	if fl.pad < 0 || fl.pad > 4096 {
		return fmt.Errorf("features: --pad %d out of range [0, 4096]", fl.pad)
	}
	sink, err := newFeatureSink(fl.out, fl.npy, m)
	if err != nil {
		return err
	}
	files, failed := expandImageArgs(args)
	bar := newBar(len(files)+len(failed), stderr, fl.quiet, "features")
	nFail := 0
	emit := func(r featuresResult) {
		if r.Error != "" {
			nFail++
		}
		if bar != nil {
			bar.Clear()
		}
		switch {
		case fl.json:
			b, _ := json.Marshal(r)
			fmt.Fprintf(stdout, "%s\n", b)
		case r.Error != "":
			fmt.Fprintf(stderr, "gomamba: %s: %s\n", r.File, r.Error)
		default:
			parts := make([]string, len(r.Maps))
			for i, d := range r.Maps {
				parts[i] = fmt.Sprintf("%s %v", d.Name, d.Shape)
			}
			fmt.Fprintf(stdout, "%s -> %s: %s\n", r.File, r.Out, strings.Join(parts, ", "))
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	for _, r := range failed {
		emit(featuresResult{File: r.File, Error: r.Error})
	}
	opts := extractOptions{FeatureOptions: vision.FeatureOptions{Indices: indices, Native: fl.native, MaxSide: fl.maxSide},
		pooled: fl.pooled, pad: fl.pad, tile: fl.tile, maxBytes: int64(fl.maxMemGiB * (1 << 30))}
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := featuresResult{File: path}
		maps, err := extractOne(ctx, m, path, opts)
		if err == nil {
			r.Out, err = sink.add(path, maps)
		}
		if err != nil {
			r.Error = err.Error()
		} else {
			for _, fm := range maps {
				r.Maps = append(r.Maps, featureDesc{FeatureInfo: fm.FeatureInfo, Shape: fm.Data.Shape()})
			}
		}
		emit(r)
	}
	if err := sink.close(); err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if nFail > 0 {
		return fmt.Errorf("features: %d of %d files failed", nFail, len(files)+len(failed))
	}
	return nil
}

// parseStages turns "1,2,4" into 0-based map indices, checked against n maps.
func parseStages(s string, n int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 || v > n {
			return nil, fmt.Errorf("features: --stages %q: %q is not a stage in 1..%d", s, f, n)
		}
		out = append(out, v-1)
	}
	return out, nil
}

// extractOptions are the per-image options of extractOne.
type extractOptions struct {
	vision.FeatureOptions
	pooled   bool
	pad      int
	tile     int
	maxBytes int64
}

// extractOne decodes and preprocesses one image and returns its maps, each
// (C, H', W') on the host, followed by the pooled embedding (D) named
// "pooled" when asked for.
func extractOne(ctx context.Context, m *vision.Model, path string, o extractOptions) ([]vision.FeatureMap, error) {
	img, err := datasets.DecodeFile(path)
	if err != nil {
		return nil, err
	}
	net := m.Network()
	var x *kernels.Tensor
	if o.Native {
		ev := m.EvalTransform()
		nt := datasets.NativeTransform{Multiple: net.InputMultiple(), MaxSide: o.MaxSide, Mean: ev.Mean, Std: ev.Std,
			Interpolation: ev.Interpolation, Grayscale: ev.Grayscale}
		if x, err = nt.Apply(img); err != nil {
			return nil, err
		}
		x = x.Reshape(append([]int{1}, x.Shape()...)...)
	} else if x, err = m.Preprocess(img); err != nil {
		return nil, err
	}
	h, w := x.Dim(2), x.Dim(3)
	if p := o.pad; p > 1 && (h%p != 0 || w%p != 0) {
		padded := kernels.New(1, x.Dim(1), (h+p-1)/p*p, (w+p-1)/p*p)
		kernels.CPU().CopyBox(padded, []int{0, 0, 0, 0}, x, []int{0, 0, 0, 0}, x.Shape())
		x = padded
	}
	vm := vision.VMamba(net)
	if o.tile > 0 && vm == nil {
		return nil, fmt.Errorf("--tile is supported for VMamba models only (this is %s)", m.Family())
	}
	if vm != nil && o.maxBytes > 0 {
		eh, ew := x.Dim(2), x.Dim(3)
		if o.tile > 0 {
			eh, ew = min(eh, o.tile), min(ew, o.tile)
		}
		if need := vm.EstimateBytes(1, eh, ew); need > o.maxBytes {
			return nil, fmt.Errorf("a %dx%d input needs about %.1f GiB of working memory, over --max-mem %.1f GiB (use --max-side)",
				x.Dim(3), x.Dim(2), float64(need)/(1<<30), float64(o.maxBytes)/(1<<30))
		}
	}
	info := m.FeatureInfo()
	idx := o.Indices
	if idx == nil {
		idx = net.DefaultFeatures()
	}
	norm := make([]int, len(idx))
	for i, j := range idx {
		if j < 0 {
			j += len(info)
		}
		if j < 0 || j >= len(info) {
			return nil, fmt.Errorf("feature index %d out of range (%d maps)", idx[i], len(info))
		}
		norm[i] = j
	}
	be := net.Backend()
	toHost := func(t *kernels.Tensor) *kernels.Tensor {
		hst := be.ToHost(t)
		if hst != t {
			be.Free(t)
		}
		return hst
	}
	var maps []vision.FeatureMap
	var pooled *kernels.Tensor
	if o.tile > 0 {
		out, err := vm.Forward(ctx, x, &vmamba.Options{Stages: norm, Tile: o.tile})
		if err != nil {
			return nil, err
		}
		for i, t := range out.Stages {
			maps = append(maps, vision.FeatureMap{FeatureInfo: info[norm[i]], Data: t})
		}
		if o.pooled {
			pooled = out.Pooled
		}
	} else if pf, ok := net.(vision.PooledFeaturer); ok && o.pooled {
		xd := be.FromHost(x)
		ts, p, err := pf.FeaturesPooled(ctx, xd, norm)
		if xd != x {
			be.Free(xd)
		}
		if err != nil {
			return nil, err
		}
		for i, t := range ts {
			maps = append(maps, vision.FeatureMap{FeatureInfo: info[norm[i]], Data: toHost(t)})
		}
		pooled = toHost(p)
	} else {
		if maps, err = m.FeaturesBatch(ctx, x, norm); err != nil {
			return nil, err
		}
		if o.pooled {
			xd := be.FromHost(x)
			p, logits, err := net.Forward(ctx, xd)
			if xd != x {
				be.Free(xd)
			}
			if err != nil {
				return nil, err
			}
			if logits != nil {
				be.Free(logits)
			}
			pooled = toHost(p)
		}
	}
	for i := range maps {
		t := maps[i].Data
		if t.Rank() == 4 && (x.Dim(2) != h || x.Dim(3) != w) { // crop the padding back off
			st := maps[i].Stride
			ch, cw := min(t.Dim(2), (h+st-1)/st), min(t.Dim(3), (w+st-1)/st)
			c := kernels.New(1, t.Dim(1), ch, cw)
			kernels.CPU().CopyBox(c, []int{0, 0, 0, 0}, t, []int{0, 0, 0, 0}, c.Shape())
			t = c
		}
		maps[i].Data = t.Reshape(t.Shape()[1:]...)
	}
	if pooled != nil {
		maps = append(maps, vision.FeatureMap{FeatureInfo: vision.FeatureInfo{Name: "pooled", Channels: pooled.Dim(-1)},
			Data: pooled.Reshape(pooled.Dim(-1))})
	}
	return maps, nil
}

// featureSink stores extracted maps: per-image files in a folder, or every
// image in one .safetensors / .npz / .npy file written at close.
type featureSink struct {
	out, kind string // kind: "dir", "dir-npy", "safetensors", "npz", "npy"
	m         *vision.Model
	used      map[string]int
	named     []checkpoint.Named
	meta      map[string]string
	arrays    []npy.Array
	seen      map[string]bool
}

func newFeatureSink(out string, npyDir bool, m *vision.Model) (*featureSink, error) {
	s := &featureSink{out: out, m: m, used: map[string]int{}, seen: map[string]bool{},
		meta: map[string]string{"model": m.Name(), "family": m.Family()}}
	switch ext := strings.ToLower(filepath.Ext(out)); {
	case ext == ".safetensors":
		s.kind = "safetensors"
	case ext == ".npz":
		s.kind = "npz"
	case ext == ".npy":
		s.kind = "npy"
	default:
		s.kind = "dir"
		if npyDir {
			s.kind = "dir-npy"
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fmt.Errorf("features: %w", err)
		}
		return s, nil
	}
	if npyDir {
		return nil, fmt.Errorf("features: --npy needs a folder for -o, have %s", out)
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("features: -o %s: folder %s does not exist", out, filepath.Dir(out))
	}
	return s, nil
}

// base returns a unique output base name for an input path.
func (s *featureSink) base(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if n := s.used[base]; n > 0 {
		s.used[base] = n + 1
		return fmt.Sprintf("%s-%d", base, n)
	}
	s.used[base] = 1
	return base
}

// add stores one image's maps and says where they went.
func (s *featureSink) add(path string, maps []vision.FeatureMap) (string, error) {
	names := make([]string, len(maps))
	for i, fm := range maps {
		names[i] = fm.Name
		if i > 0 && fm.Name == maps[i-1].Name {
			names[i] = fmt.Sprintf("%s#%d", fm.Name, i)
		}
	}
	switch s.kind {
	case "dir":
		out := filepath.Join(s.out, s.base(path)+".features.safetensors")
		named := make([]checkpoint.Named, len(maps))
		meta := map[string]string{"model": s.m.Name(), "family": s.m.Family(), "source": filepath.Base(path)}
		for i, fm := range maps {
			named[i] = checkpoint.Named{Name: names[i], Tensor: fm.Data}
			b, _ := json.Marshal(fm.FeatureInfo)
			meta["feature_info."+names[i]] = string(b)
		}
		return out, checkpoint.SaveSafetensors(out, named, meta)
	case "dir-npy":
		dir := filepath.Join(s.out, s.base(path))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		for i, fm := range maps {
			if err := npy.WriteFile(filepath.Join(dir, names[i]+".npy"), fm.Data.Data, fm.Data.Shape()); err != nil {
				return "", err
			}
		}
		return dir, nil
	}
	for i, fm := range maps {
		key := path + "/" + names[i]
		if s.seen[key] {
			return "", fmt.Errorf("entry %s given twice", key)
		}
		s.seen[key] = true
		s.named = append(s.named, checkpoint.Named{Name: key, Tensor: fm.Data})
		s.arrays = append(s.arrays, npy.Array{Name: key, Data: fm.Data.Data, Shape: fm.Data.Shape()})
		b, _ := json.Marshal(fm.FeatureInfo)
		s.meta["feature_info."+names[i]] = string(b)
	}
	if s.kind == "npy" && len(s.arrays) > 1 {
		return "", fmt.Errorf("-o %s holds one array, but this run makes %d (use a .npz, a .safetensors or a folder with --npy)", s.out, len(s.arrays))
	}
	return s.out, nil
}

// close writes the single-file outputs.
func (s *featureSink) close() error {
	var err error
	switch s.kind {
	case "safetensors":
		err = checkpoint.SaveSafetensors(s.out, s.named, s.meta)
	case "npz":
		err = npy.WriteNPZ(s.out, s.arrays)
	case "npy":
		if len(s.arrays) == 1 {
			err = npy.WriteFile(s.out, s.arrays[0].Data, s.arrays[0].Shape)
		}
	}
	if err != nil {
		return fmt.Errorf("features: %w", err)
	}
	return nil
}
