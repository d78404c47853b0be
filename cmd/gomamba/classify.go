package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/heads"
	"github.com/gomamba/gomamba/heads/labels"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/vision"
)

// classifyFlags are the options of `gomamba classify`.
type classifyFlags struct {
	model, labels, device string
	topk, size, batch     int
	json, quiet           bool
}

func init() {
	var fl classifyFlags
	cmd := &cobra.Command{
		Use:   "classify [--model M] [--topk K] [--size S] [--json] FILES|DIRS...",
		Short: "Classify images with a Vision Mamba (or other registered) model",
		Long: `Classify images (JPEG, PNG, GIF, BMP, TIFF, WebP; sniffed by content) and print the
top-K classes of each. Folders are walked recursively; files in them that are not
images are skipped. A file that cannot be read or decoded is reported and the batch
continues; the exit status is non-zero if any file failed.

--model takes a checkpoint file (.pth or .safetensors), a folder, or a preset name
(vim-tiny, vim-small, ...) whose weights are looked up in $GOMAMBA_MODELS or
~/.cache/gomamba. Class names come from --labels (one per line), the checkpoint's
folder (config.json "labels" or labels.txt) or, for 1000-class models, ImageNet-1k.

With --json each line is {"file":..., "top":[{"index":301,"label":"ladybug","prob":0.93},...]}
or {"file":..., "error":...}.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runClassify(ctx, fl, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.model, "model", "m", "", "checkpoint file, folder or preset name (default: the built-in model if any, else vim-tiny)")
	f.IntVarP(&fl.topk, "topk", "k", 5, "number of classes to print per image")
	f.IntVar(&fl.size, "size", 0, "input crop side in pixels (0 = the model's native size)")
	f.BoolVar(&fl.json, "json", false, "print one JSON object per image")
	f.StringVar(&fl.labels, "labels", "", "file with one class name per line")
	f.IntVar(&fl.batch, "batch", 8, "images per forward pass")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress bar")
	addDeviceFlag(f, &fl.device, "auto")
	rootCmd.AddCommand(cmd)
}

// classifyResult is one output line.
type classifyResult struct {
	File  string             `json:"file"`
	Top   []heads.Prediction `json:"top,omitempty"`
	Error string             `json:"error,omitempty"`
}

// loadVisionModel applies the shared model flags.
func loadVisionModel(model, device, labelsPath string, size int) (*vision.Model, error) {
	be, err := openBackend(device)
	if err != nil {
		return nil, err
	}
	opts := []vision.Option{vision.WithBackend(be), vision.WithSize(size)}
	if labelsPath != "" {
		l, err := labels.ReadFile(labelsPath)
		if err != nil {
			return nil, err
		}
		opts = append(opts, vision.WithLabels(l))
	}
	if model == "" {
		if vision.DefaultName() != "" {
			return vision.Default(opts...)
		}
		model = "vim-tiny"
	}
	return vision.Load(model, opts...)
}

func runClassify(ctx context.Context, fl classifyFlags, args []string, stdout, stderr io.Writer) error {
	if fl.topk < 1 {
		return fmt.Errorf("classify: --topk %d must be at least 1", fl.topk)
	}
	if fl.size < 0 {
		return fmt.Errorf("classify: --size %d must not be negative", fl.size)
	}
	fl.batch = max(fl.batch, 1)
	m, err := loadVisionModel(fl.model, fl.device, fl.labels, fl.size)
	if err != nil {
		return err
	}
	if m.NumClasses() == 0 {
		return fmt.Errorf("classify: %s has no classifier head", m.Name())
	}
	files, failed := expandImageArgs(args)
	bar := newBar(len(files)+len(failed), stderr, fl.quiet, "classify")
	emit := func(r classifyResult) {
		if fl.json {
			b, _ := json.Marshal(r)
			fmt.Fprintf(stdout, "%s\n", b)
		} else if r.Error != "" {
			if bar != nil {
				bar.Clear()
			}
			fmt.Fprintf(stderr, "gomamba: %s: %s\n", r.File, r.Error)
		} else {
			parts := make([]string, len(r.Top))
			for i, p := range r.Top {
				if p.Label != "" {
					parts[i] = fmt.Sprintf("%s (%d) %.2f%%", p.Label, p.Index, 100*p.Prob)
				} else {
					parts[i] = fmt.Sprintf("class %d %.2f%%", p.Index, 100*p.Prob)
				}
			}
			if bar != nil {
				bar.Clear()
			}
			fmt.Fprintf(stdout, "%s: %s\n", r.File, strings.Join(parts, ", "))
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	nFail := 0
	for _, r := range failed {
		emit(r)
		nFail++
	}
	for start := 0; start < len(files); start += fl.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := files[start:min(start+fl.batch, len(files))]
		for _, r := range classifyChunk(ctx, m, chunk, fl.topk) {
			if r.Error != "" {
				nFail++
			}
			emit(r)
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if nFail > 0 {
		return fmt.Errorf("classify: %d of %d files failed", nFail, len(files)+len(failed))
	}
	return nil
}

// classifyChunk decodes and preprocesses files in parallel, runs the good
// ones as one batch and returns one result per file, in order.
func classifyChunk(ctx context.Context, m *vision.Model, files []string, k int) []classifyResult {
	res := make([]classifyResult, len(files))
	inputs := make([]*kernels.Tensor, len(files))
	var wg sync.WaitGroup
	for i, path := range files {
		res[i].File = path
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := datasets.DecodeFile(path)
			if err == nil {
				inputs[i], err = m.Preprocess(img)
			}
			if err != nil {
				res[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	var good []int
	for i, x := range inputs {
		if x != nil {
			good = append(good, i)
		}
	}
	if len(good) == 0 {
		return res
	}
	s := inputs[good[0]].Shape()
	batch := kernels.New(len(good), s[1], s[2], s[3])
	n := inputs[good[0]].Len()
	for j, i := range good {
		copy(batch.Data[j*n:(j+1)*n], inputs[i].Data)
	}
	logits, err := m.Logits(ctx, batch)
	for j, i := range good {
		if err != nil {
			res[i].Error = err.Error()
			continue
		}
		c := logits.Dim(1)
		res[i].Top = heads.TopK(logits.Data[j*c:(j+1)*c], k, m.Labels())
	}
	return res
}

// expandImageArgs turns FILES|DIRS into a sorted list of image files:
// folders are walked and their non-image files skipped (sniffed by magic
// bytes); explicit files are kept whatever they hold, so a bad one is
// reported. Unreadable arguments come back as failed results.
func expandImageArgs(args []string) (files []string, failed []classifyResult) {
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			failed = append(failed, classifyResult{File: a, Error: errors.Unwrap(err).Error()})
			continue
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				failed = append(failed, classifyResult{File: p, Error: err.Error()})
				return nil
			}
			if d.Type().IsRegular() && isImageFile(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			failed = append(failed, classifyResult{File: a, Error: err.Error()})
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, failed
}

// isImageFile reports whether a file starts with a known image signature.
func isImageFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [16]byte
	n, _ := io.ReadFull(f, head[:])
	return datasets.Sniff(head[:n]) != ""
}

// newBar returns a progress bar on w when w is a terminal or there is more
// than one item, unless quiet; nil otherwise.
func newBar(n int, w io.Writer, quiet bool, what string) *progressbar.ProgressBar {
	if quiet || n == 0 {
		return nil
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if !tty && n <= 1 {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"))
}
