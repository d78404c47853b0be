package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
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
}

func init() {
	var fl featuresFlags
	cmd := &cobra.Command{
		Use:   "features [--model M] [--layers I,J] [--size S | --native] --out DIR FILES|DIRS...",
		Short: "Extract dense feature maps (like timm features_only) from images",
		Long: `Run a model's backbone on images and save the selected dense feature maps.

Each input FILE becomes DIR/<name>.features.safetensors holding one (C, H', W') float32
tensor per selected map, named like the map ("layers.11" for Vim blocks, "layers.2" for
VMamba stages), with the feature info (channels, stride) in the metadata. --list prints
the maps the model offers. --layers picks maps by index into that list (negative counts
from the end; default: the model's usual four). By default images get the model's
evaluation resize and crop (--size S changes the crop side); --native keeps each image's
own size (rounded to the model's input multiple, longer side capped by --max-side).

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
	f.StringVarP(&fl.out, "out", "o", "", "output folder for the .safetensors files")
	f.BoolVar(&fl.list, "list", false, "print the model's feature maps and exit")
	f.BoolVar(&fl.json, "json", false, "print one JSON object per image")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	addDeviceFlag(f, &fl.device)
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
		return fmt.Errorf("features: --out DIR is required")
	}
	if err := os.MkdirAll(fl.out, 0o755); err != nil {
		return fmt.Errorf("features: %w", err)
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
	opts := &vision.FeatureOptions{Indices: fl.layers, Native: fl.native, MaxSide: fl.maxSide}
	used := map[string]int{}
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		emit(extractOne(ctx, m, path, opts, fl.out, used))
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

// extractOne computes and saves the maps of one image. used makes output
// names unique when two inputs share a base name.
func extractOne(ctx context.Context, m *vision.Model, path string, opts *vision.FeatureOptions, outDir string, used map[string]int) featuresResult {
	r := featuresResult{File: path}
	img, err := datasets.DecodeFile(path)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	maps, err := m.Features(ctx, img, opts)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if n := used[base]; n > 0 {
		used[base] = n + 1
		base = fmt.Sprintf("%s-%d", base, n)
	} else {
		used[base] = 1
	}
	out := filepath.Join(outDir, base+".features.safetensors")
	named := make([]checkpoint.Named, len(maps))
	meta := map[string]string{"model": m.Name(), "family": m.Family(), "source": filepath.Base(path)}
	for i, fm := range maps {
		name := fm.Name
		if i > 0 && fm.Name == maps[i-1].Name {
			name = fmt.Sprintf("%s#%d", fm.Name, i)
		}
		named[i] = checkpoint.Named{Name: name, Tensor: fm.Data}
		b, _ := json.Marshal(fm.FeatureInfo)
		meta["feature_info."+name] = string(b)
		r.Maps = append(r.Maps, featureDesc{FeatureInfo: fm.FeatureInfo, Shape: fm.Data.Shape()})
	}
	if err := checkpoint.SaveSafetensors(out, named, meta); err != nil {
		r.Error = err.Error()
		r.Maps = nil
		return r
	}
	r.Out = out
	return r
}
