package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/kernels"
)

// ImageSet is an in-memory labelled set of 8-bit images of one size, stored
// channel-major (C, H, W) per image, back to back.
type ImageSet struct {
	Pixels   []uint8
	Labels   []int
	Channels int
	Size     int // images are Size×Size
	Classes  []string
}

// Len returns the number of images.
func (s *ImageSet) Len() int { return len(s.Labels) }

func (s *ImageSet) image(i int) []uint8 {
	n := s.Channels * s.Size * s.Size
	return s.Pixels[i*n : (i+1)*n]
}

// Options controls a training run.
type Options struct {
	Config       Config
	Epochs       int
	BatchSize    int
	LR, MinLR    float64
	WarmupEpochs float64
	WeightDecay  float64
	ClipNorm     float64
	Seed         uint64
	// Augment enables random crops (zero padding Pad pixels) and horizontal flips.
	Augment bool
	Pad     int
	// Mean and Std normalise pixels (x/255 − mean)/std per channel.
	Mean, Std []float64
	// OutDir receives model.safetensors + config.json after every epoch and
	// state.safetensors (optimizer moments and progress) for resuming.
	OutDir string
	// Resume continues from OutDir's state when present.
	Resume bool
	// Workers is the number of goroutines (0 = GOMAXPROCS).
	Workers int
	// Progress is called after every step and every evaluation (may be nil).
	Progress func(Progress)
}

// Progress reports a training step or an evaluation.
type Progress struct {
	Epoch, Epochs int
	Step, Steps   int // within the epoch
	Loss, Acc     float64
	LR            float64
	ImagesPerSec  float64
	Eval          bool // an end-of-epoch evaluation
	TestAcc       float64
	TestLoss      float64
}

// Result summarises a finished run.
type Result struct {
	Epochs  int
	TestAcc float64
	History []Progress // per-epoch summaries (train loss/acc and test acc)
}

// ModelConfigFile is the config.json written beside a trained checkpoint.
// Architecture fields use the official VisionMamba constructor names (as the
// Vim loader's sidecar reads them); the eval fields say how to preprocess.
type ModelConfigFile struct {
	Family            string    `json:"family"`
	Name              string    `json:"name"`
	ImgSize           int       `json:"img_size"`
	PatchSize         int       `json:"patch_size"`
	Stride            int       `json:"stride"`
	Channels          int       `json:"channels"`
	EmbedDim          int       `json:"embed_dim"`
	Depth             int       `json:"depth"`
	DState            int       `json:"d_state"`
	NumClasses        int       `json:"num_classes"`
	NormEpsilon       float64   `json:"norm_epsilon"`
	IfClsToken        bool      `json:"if_cls_token"`
	UseMiddleClsToken bool      `json:"use_middle_cls_token"`
	BimambaType       string    `json:"bimamba_type"`
	IfDivideOut       bool      `json:"if_divide_out"`
	InputSize         int       `json:"input_size"`
	CropPct           float64   `json:"crop_pct"`
	Interpolation     string    `json:"interpolation"`
	Mean              []float64 `json:"mean"`
	Std               []float64 `json:"std"`
	Labels            []string  `json:"labels"`
	TestAccuracy      float64   `json:"test_accuracy,omitempty"`
	TrainedWith       string    `json:"trained_with,omitempty"`
}

// Train runs AdamW with warm-up + cosine decay on train, evaluating on test
// after every epoch, saving checkpoints to opts.OutDir.
func Train(ctx context.Context, opts Options, trainSet, test *ImageSet) (*Result, error) {
	c := opts.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if trainSet.Channels != c.InChans || trainSet.Size != c.ImgSize {
		return nil, fmt.Errorf("train: data is %d×%d×%d, model expects %d×%d×%d", trainSet.Channels, trainSet.Size, trainSet.Size, c.InChans, c.ImgSize, c.ImgSize)
	}
	if opts.BatchSize < 1 || opts.Epochs < 1 {
		return nil, errors.New("train: batch size and epochs must be positive")
	}
	if len(opts.Mean) != c.InChans || len(opts.Std) != c.InChans {
		return nil, fmt.Errorf("train: need %d mean/std values", c.InChans)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	specs := c.Specs()
	params := NewParams[float32](specs)
	Init(c, params, opts.Seed)
	opt := NewAdamW(specs, opts.WeightDecay)
	startEpoch := 0
	res := &Result{}
	if opts.Resume && opts.OutDir != "" {
		ep, hist, err := loadState(opts.OutDir, params, opt)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if err == nil {
			startEpoch = ep
			res.History = hist
		}
	}
	stepsPerEpoch := (trainSet.Len() + opts.BatchSize - 1) / opts.BatchSize
	total := stepsPerEpoch * opts.Epochs
	warm := int(opts.WarmupEpochs * float64(stepsPerEpoch))

	type worker struct {
		s    *sample[float32]
		grad *Params[float32]
		img  []float32
		px   []uint8 // augmented pixels
		rng  *rand.Rand
	}
	ws := make([]*worker, workers)
	for i := range ws {
		n := c.InChans * c.ImgSize * c.ImgSize
		ws[i] = &worker{s: newSample[float32](c), grad: NewParams[float32](specs), img: make([]float32, n), px: make([]uint8, n)}
	}
	batches, err := datasets.NewBatches(trainSet.Len(), opts.BatchSize, true, false, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	for epoch := startEpoch; epoch < opts.Epochs; epoch++ {
		batches.SetEpoch(uint64(epoch))
		var eLoss float64
		var eCorrect, eSeen int
		t0 := time.Now()
		for step := 0; step < stepsPerEpoch; step++ {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			batch, ok := batches.Next()
			if !ok {
				break
			}
			losses := make([]float64, workers)
			correct := make([]int, workers)
			var wg sync.WaitGroup
			for wi, w := range ws {
				w.grad.Zero()
				w.rng = rand.New(rand.NewPCG(opts.Seed^uint64(epoch)<<20, uint64(step*workers+wi)))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := wi; j < len(batch); j += workers {
						idx := batch[j]
						px := trainSet.image(idx)
						if opts.Augment {
							px = augment(w.px, px, trainSet.Channels, trainSet.Size, opts.Pad, w.rng)
						}
						normalize(w.img, px, trainSet.Channels, trainSet.Size, opts.Mean, opts.Std)
						logits := w.s.forward(params, w.img)
						if argmax(logits) == trainSet.Labels[idx] {
							correct[wi]++
						}
						l, dl := w.s.crossEntropy(trainSet.Labels[idx])
						losses[wi] += l
						inv := 1 / float32(len(batch))
						for k := range dl {
							dl[k] *= inv
						}
						w.s.backward(params, w.grad, dl)
					}
				}()
			}
			wg.Wait()
			g := ws[0].grad
			for _, w := range ws[1:] {
				for k, v := range w.grad.Data {
					g.Data[k] += v
				}
			}
			ClipGradNorm(g, opts.ClipNorm)
			lr := CosineLR(epoch*stepsPerEpoch+step, warm, total, opts.LR, opts.MinLR)
			opt.Update(params, g, lr)
			for wi := range ws {
				eLoss += losses[wi]
				eCorrect += correct[wi]
			}
			eSeen += len(batch)
			if opts.Progress != nil {
				opts.Progress(Progress{Epoch: epoch + 1, Epochs: opts.Epochs, Step: step + 1, Steps: stepsPerEpoch,
					Loss: eLoss / float64(eSeen), Acc: float64(eCorrect) / float64(eSeen), LR: lr,
					ImagesPerSec: float64(eSeen) / time.Since(t0).Seconds()})
			}
		}
		acc, tl := Evaluate(ctx, c, params, test, opts.Mean, opts.Std, workers)
		p := Progress{Epoch: epoch + 1, Epochs: opts.Epochs, Step: stepsPerEpoch, Steps: stepsPerEpoch, Loss: eLoss / float64(eSeen),
			Acc: float64(eCorrect) / float64(eSeen), Eval: true, TestAcc: acc, TestLoss: tl,
			ImagesPerSec: float64(eSeen) / time.Since(t0).Seconds()}
		res.History = append(res.History, p)
		res.TestAcc = acc
		res.Epochs = epoch + 1
		if opts.Progress != nil {
			opts.Progress(p)
		}
		if opts.OutDir != "" {
			if err := SaveModel(opts.OutDir, c, params, opts, trainSet.Classes, acc); err != nil {
				return res, err
			}
			if err := saveState(opts.OutDir, epoch+1, opt, res.History); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// augment applies torchvision-style RandomCrop(size, padding=pad) and
// RandomHorizontalFlip to a channel-major image (each channel plane is
// transformed alike), writing into dst.
func augment(dst, src []uint8, ch, size, pad int, r *rand.Rand) []uint8 {
	top, left := r.IntN(2*pad+1)-pad, r.IntN(2*pad+1)-pad
	flip := r.IntN(2) == 1
	n := size * size
	for c := 0; c < ch; c++ {
		plane := dst[c*n : (c+1)*n]
		datasets.CropShift(plane, src[c*n:(c+1)*n], size, size, 1, left, top)
		if flip {
			datasets.HFlip(plane, size, size, 1)
		}
	}
	return dst
}

// normalize converts 8-bit channel-major pixels to (x/255 − mean)/std.
func normalize(dst []float32, px []uint8, ch, size int, mean, std []float64) {
	n := size * size
	for c := 0; c < ch; c++ {
		m, s := float32(mean[c]), float32(std[c])
		for i, v := range px[c*n : (c+1)*n] {
			dst[c*n+i] = (float32(v)/255 - m) / s
		}
	}
}

func argmax[T Float](v []T) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// Evaluate returns top-1 accuracy and mean cross-entropy of params on set.
func Evaluate(ctx context.Context, c Config, params *Params[float32], set *ImageSet, mean, std []float64, workers int) (acc, loss float64) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	correct := make([]int, workers)
	losses := make([]float64, workers)
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSample[float32](c)
			img := make([]float32, c.InChans*c.ImgSize*c.ImgSize)
			for i := wi; i < set.Len(); i += workers {
				if i%256 == 0 && ctx.Err() != nil {
					return
				}
				normalize(img, set.image(i), set.Channels, set.Size, mean, std)
				logits := s.forward(params, img)
				if argmax(logits) == set.Labels[i] {
					correct[wi]++
				}
				l, _ := s.crossEntropy(set.Labels[i])
				losses[wi] += l
			}
		}()
	}
	wg.Wait()
	var n int
	var l float64
	for i := range correct {
		n += correct[i]
		l += losses[i]
	}
	return float64(n) / float64(set.Len()), l / float64(set.Len())
}

func tensorsOf(p *Params[float32]) []checkpoint.Named {
	out := make([]checkpoint.Named, 0, len(p.Specs))
	for _, s := range p.Specs {
		out = append(out, checkpoint.Named{Name: s.Name, Tensor: kernels.MustFromSlice(p.Get(s.Name), s.Shape...)})
	}
	return out
}

// SaveModel writes OutDir/model.safetensors (official Vim key names) and
// OutDir/config.json.
func SaveModel(dir string, c Config, p *Params[float32], o Options, labels []string, testAcc float64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	cfg := ModelConfigFile{Family: "vim", Name: c.Name, ImgSize: c.ImgSize, PatchSize: c.Patch, Stride: c.Stride,
		Channels: c.InChans, EmbedDim: c.Dim, Depth: c.Depth, DState: c.DState, NumClasses: c.Classes,
		NormEpsilon: c.NormEps, IfClsToken: true, UseMiddleClsToken: true, BimambaType: "v2", IfDivideOut: true,
		InputSize: c.ImgSize, CropPct: 1, Interpolation: "bicubic", Mean: o.Mean, Std: o.Std,
		Labels: labels, TestAccuracy: testAcc, TrainedWith: "gomamba train"}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := checkpoint.SaveSafetensors(filepath.Join(dir, "model.safetensors"), tensorsOf(p), map[string]string{"format": "pt", "family": "vim"}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), append(js, '\n'), 0o644)
}

type stateMeta struct {
	Epoch   int        `json:"epoch"`
	Step    int        `json:"optimizer_step"`
	History []Progress `json:"history"`
}

func saveState(dir string, epoch int, opt *AdamW, hist []Progress) error {
	meta, _ := json.Marshal(stateMeta{Epoch: epoch, Step: opt.Step, History: hist})
	ts := []checkpoint.Named{
		{Name: "adamw.m", Tensor: kernels.MustFromSlice(opt.m.Data, len(opt.m.Data))},
		{Name: "adamw.v", Tensor: kernels.MustFromSlice(opt.v.Data, len(opt.v.Data))},
	}
	if err := checkpoint.SaveSafetensors(filepath.Join(dir, "state.safetensors"), ts, nil); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "state.json"), append(meta, '\n'), 0o644)
}

func loadState(dir string, p *Params[float32], opt *AdamW) (int, []Progress, error) {
	stPath := filepath.Join(dir, "state.safetensors")
	if _, err := os.Stat(stPath); err != nil {
		return 0, nil, err
	}
	m, err := checkpoint.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return 0, nil, fmt.Errorf("train: resume: %w", err)
	}
	defer m.Close()
	for _, s := range p.Specs {
		t, err := m.Tensor(s.Name)
		if err != nil {
			return 0, nil, fmt.Errorf("train: resume: %w", err)
		}
		if t.Len() != s.size() {
			return 0, nil, fmt.Errorf("train: resume: %s has %d values, model needs %d", s.Name, t.Len(), s.size())
		}
		copy(p.Get(s.Name), t.Data)
	}
	st, err := checkpoint.Open(stPath)
	if err != nil {
		return 0, nil, fmt.Errorf("train: resume: %w", err)
	}
	defer st.Close()
	for name, dst := range map[string][]float32{"adamw.m": opt.m.Data, "adamw.v": opt.v.Data} {
		t, err := st.Tensor(name)
		if err != nil {
			return 0, nil, fmt.Errorf("train: resume: %w", err)
		}
		if t.Len() != len(dst) {
			return 0, nil, fmt.Errorf("train: resume: %s size mismatch", name)
		}
		copy(dst, t.Data)
	}
	var meta stateMeta
	mj, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return 0, nil, fmt.Errorf("train: resume: %w", err)
	}
	if err := json.Unmarshal(mj, &meta); err != nil {
		return 0, nil, fmt.Errorf("train: resume %s: %w", stPath, err)
	}
	opt.Step = meta.Step
	if meta.Epoch < 0 {
		return 0, nil, fmt.Errorf("train: resume %s: bad epoch", stPath)
	}
	return meta.Epoch, meta.History, nil
}
