package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/vision"
)

type evalFlags struct {
	model, data, device, labels string
	mean, std                   []float64
	batch, limit                int
	json, quiet                 bool
}

// evalResult is the --json output of gomamba eval.
type evalResult struct {
	Accuracy float64 `json:"accuracy"`
	Correct  int     `json:"correct"`
	Count    int     `json:"count"`
	Model    string  `json:"model"`
	Data     string  `json:"data"`
	Seconds  float64 `json:"seconds"`
}

func init() {
	var fl evalFlags
	cmd := &cobra.Command{
		Use:   "eval [--model M] --data fashion-mnist|DIR [--mean m --std s] [--json]",
		Short: "Measure top-1 accuracy of an image classifier on a labelled test set",
		Long: `Run a classifier over a labelled test set and print its top-1 accuracy.

--data fashion-mnist (default) reads the 10,000 test images of Debian's
dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist), or a folder holding
the idx(.gz) files; any other folder is read as an ImageFolder (one subfolder per class,
sorted names = label indices, like torchvision) and every image goes through the model's
evaluation transform. Without --model the built-in default model is used. Any Vim
checkpoint works, official-layout .pth files included (input channels are read from the
patch-embedding weights). --mean/--std override the model's normalisation (one value per
input channel).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runEval(ctx, fl, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.model, "model", "m", "", "checkpoint file, folder or preset (default: the built-in model)")
	f.StringVar(&fl.data, "data", "fashion-mnist", "fashion-mnist, a folder of its idx files, or an ImageFolder")
	f.Float64SliceVar(&fl.mean, "mean", nil, "per-channel mean (default: the model's)")
	f.Float64SliceVar(&fl.std, "std", nil, "per-channel std (default: the model's)")
	f.IntVar(&fl.batch, "batch", 64, "images per forward pass")
	f.IntVar(&fl.limit, "limit", 0, "evaluate only the first N images (0 = all)")
	f.StringVar(&fl.labels, "labels", "", "file with one class name per line")
	f.BoolVar(&fl.json, "json", false, `print {"accuracy":..., "correct":..., "count":...}`)
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	addDeviceFlag(f, &fl.device, "auto")
	rootCmd.AddCommand(cmd)
}

// evalSource yields normalised input tensors and labels in batches.
type evalSource interface {
	Len() int
	// Fill writes images [lo, hi) into x (hi−lo, C, S, S) and returns their labels.
	Fill(x *kernels.Tensor, lo, hi int) ([]int, error)
}

// idxSource serves Fashion-MNIST-style 8-bit images normalised directly
// (the model's transform is the identity at the native 28×28 size).
type idxSource struct {
	set       *datasets.ImageSet
	mean, std float32
}

func (s *idxSource) Len() int { return s.set.Len() }

func (s *idxSource) Fill(x *kernels.Tensor, lo, hi int) ([]int, error) {
	n := s.set.Height * s.set.Width
	lab := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		dst := x.Data[(i-lo)*n : (i-lo+1)*n]
		for j, p := range s.set.Pixels(i) {
			dst[j] = (float32(p)/255 - s.mean) / s.std
		}
		lab = append(lab, int(s.set.Labels[i]))
	}
	return lab, nil
}

// folderSource decodes ImageFolder files through the model's transform.
type folderSource struct {
	f *datasets.ImageFolder
	m *vision.Model
}

func (s *folderSource) Len() int { return len(s.f.Samples) }

func (s *folderSource) Fill(x *kernels.Tensor, lo, hi int) ([]int, error) {
	per := x.Len() / x.Dim(0)
	lab := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		smp := s.f.Samples[i]
		img, err := datasets.DecodeFile(smp.Path)
		if err != nil {
			return nil, err
		}
		t, err := s.m.Preprocess(img)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", smp.Path, err)
		}
		copy(x.Data[(i-lo)*per:(i-lo+1)*per], t.Data)
		lab = append(lab, smp.Label)
	}
	return lab, nil
}

func runEval(ctx context.Context, fl evalFlags, stdout, stderr io.Writer) error {
	m, err := loadVisionModel(fl.model, fl.device, fl.labels, 0)
	if err != nil {
		return err
	}
	ev := m.EvalTransform()
	ch := 3
	if ev.Grayscale {
		ch = 1
	}
	for _, v := range [][]float64{fl.mean, fl.std} {
		if v != nil && len(v) != ch {
			return fmt.Errorf("eval: --mean/--std need %d value(s) for this %d-channel model", ch, ch)
		}
	}
	for c := 0; c < ch; c++ {
		if fl.mean != nil {
			ev.Mean[c] = float32(fl.mean[c])
		}
		if fl.std != nil {
			if fl.std[c] == 0 {
				return fmt.Errorf("eval: --std must not be zero")
			}
			ev.Std[c] = float32(fl.std[c])
		}
	}
	var src evalSource
	size := ev.Size
	if fl.data == "fashion-mnist" || isIDXDir(fl.data) {
		set, err := loadFashion(fl.data, "test")
		if err != nil {
			return err
		}
		if ch != 1 || set.Height != size || set.Width != size {
			return fmt.Errorf("eval: %s is 1×%d×%d images; model %s takes %d×%d×%d (use an ImageFolder of images for other models)", fl.data, set.Height, set.Width, m.Name(), ch, size, size)
		}
		src = &idxSource{set: set, mean: ev.Mean[0], std: ev.Std[0]}
	} else {
		f, err := datasets.LoadImageFolder(fl.data)
		if err != nil {
			return err
		}
		if m.NumClasses() > 0 && len(f.Classes) > m.NumClasses() {
			return fmt.Errorf("eval: %s has %d classes, model %s predicts %d", fl.data, len(f.Classes), m.Name(), m.NumClasses())
		}
		src = &folderSource{f: f, m: m}
	}
	n := src.Len()
	if fl.limit > 0 {
		n = min(n, fl.limit)
	}
	if n == 0 {
		return fmt.Errorf("eval: %s holds no images", fl.data)
	}
	bs := max(1, fl.batch)
	var bar *progressbar.ProgressBar
	if !fl.quiet && !fl.json {
		bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("eval"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond))
	}
	start := time.Now()
	correct := 0
	for lo := 0; lo < n; lo += bs {
		hi := min(n, lo+bs)
		x := kernels.New(hi-lo, ch, size, size)
		labs, err := src.Fill(x, lo, hi)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		logits, err := m.Logits(ctx, x)
		if err != nil {
			return err
		}
		k := logits.Dim(1)
		for i, l := range labs {
			row := logits.Data[i*k : (i+1)*k]
			best := 0
			for j := range row {
				if row[j] > row[best] {
					best = j
				}
			}
			if best == l {
				correct++
			}
		}
		if bar != nil {
			bar.Add(hi - lo)
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	res := evalResult{Accuracy: float64(correct) / float64(n), Correct: correct, Count: n, Model: m.Name(), Data: fl.data, Seconds: time.Since(start).Seconds()}
	if fl.json {
		return json.NewEncoder(stdout).Encode(res)
	}
	_, err = fmt.Fprintf(stdout, "%s on %s: top-1 accuracy %.4f (%d/%d) in %.1fs\n", res.Model, res.Data, res.Accuracy, correct, n, res.Seconds)
	return err
}

// isIDXDir reports whether dir holds Fashion-MNIST-style idx files.
func isIDXDir(dir string) bool {
	for _, name := range []string{"t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"} {
		if _, err := os.Stat(dir + "/" + name); err == nil {
			return true
		}
	}
	return false
}
