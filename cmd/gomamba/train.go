package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/train"
)

func init() {
	var (
		model, data, out string
		o                train.Options
		meanStd          []float64
		quiet            bool
	)
	cmd := &cobra.Command{
		Use:   "train --model vim-micro --data fashion-mnist --epochs N --out DIR",
		Short: "Train a small Vision Mamba from scratch on the CPU",
		Long: `Train a Vision Mamba (bimamba v2, middle cls token) with AdamW, warm-up + cosine
learning rate, gradient clipping and light augmentation (random crop with zero padding,
horizontal flip). After every epoch the model is evaluated on the test split and saved
to DIR/model.safetensors + DIR/config.json (official Vim key names, readable by
'gomamba classify/eval --model DIR'); DIR/state.safetensors + state.json hold the
optimizer state, so --resume continues an interrupted run. DIR/train_log.jsonl records
every epoch.

--data fashion-mnist reads the idx files of Debian's dataset-fashion-mnist package
(/usr/share/datasets/fashion-mnist), or give the folder holding them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, ok := train.Presets[model]
			if !ok {
				return fmt.Errorf("train: unknown model %q (known: %s)", model, strings.Join(trainPresetNames(), ", "))
			}
			o.Config = cfg
			trainSet, testSet, err := loadTrainingData(data, cfg)
			if err != nil {
				return err
			}
			if len(meanStd) == 0 {
				meanStd = []float64{0.2860, 0.3530} // Fashion-MNIST training-set statistics
			}
			if len(meanStd) != 2*cfg.InChans {
				return fmt.Errorf("train: --mean-std needs %d values (means then stds)", 2*cfg.InChans)
			}
			o.Mean, o.Std = meanStd[:cfg.InChans], meanStd[cfg.InChans:]
			o.OutDir = out
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			logf, err := os.OpenFile(filepath.Join(out, "train_log.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			defer logf.Close()
			var bar *progressbar.ProgressBar
			start := time.Now()
			o.Progress = func(p train.Progress) {
				if p.Eval {
					if bar != nil {
						bar.Finish()
						bar = nil
					}
					line, _ := json.Marshal(map[string]any{"epoch": p.Epoch, "train_loss": p.Loss, "train_acc": p.Acc,
						"test_loss": p.TestLoss, "test_acc": p.TestAcc, "images_per_sec": p.ImagesPerSec, "elapsed_s": time.Since(start).Seconds()})
					logf.Write(append(line, '\n'))
					logf.Sync()
					// plot every epoch of the run, resumed ones included
					if hist, err := train.ReadLog(logf.Name()); err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
					} else if err := train.PlotHistory(filepath.Join(out, "curve.png"), hist); err != nil {
						fmt.Fprintln(cmd.ErrOrStderr(), "warning:", err)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "epoch %d/%d  train loss %.4f acc %.4f  test loss %.4f acc %.4f  (%.0f img/s)\n",
						p.Epoch, p.Epochs, p.Loss, p.Acc, p.TestLoss, p.TestAcc, p.ImagesPerSec)
					return
				}
				if quiet {
					return
				}
				if bar == nil {
					bar = progressbar.NewOptions(p.Steps, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
						progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs)),
						progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(200*time.Millisecond))
				}
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f acc %.4f lr %.2e %.0f img/s", p.Epoch, p.Epochs, p.Loss, p.Acc, p.LR, p.ImagesPerSec))
				bar.Set(p.Step)
			}
			res, err := train.Train(ctx, o, trainSet, testSet)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained %s for %d epochs: test accuracy %.4f, saved to %s\n", model, res.Epochs, res.TestAcc, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "vim-micro", "architecture preset to train")
	f.StringVar(&data, "data", "fashion-mnist", "fashion-mnist, or a folder with its idx(.gz) files")
	f.StringVarP(&out, "out", "o", "runs/vim-micro", "output folder for checkpoints and the log")
	f.IntVar(&o.Epochs, "epochs", 10, "number of epochs")
	f.IntVar(&o.BatchSize, "batch", 128, "batch size")
	f.Float64Var(&o.LR, "lr", 2e-3, "peak learning rate")
	f.Float64Var(&o.MinLR, "min-lr", 1e-5, "final learning rate of the cosine schedule")
	f.Float64Var(&o.WarmupEpochs, "warmup", 1, "warm-up length in epochs")
	f.Float64Var(&o.WeightDecay, "weight-decay", 0.05, "AdamW weight decay (not on norms, biases, tables, A_log, D)")
	f.Float64Var(&o.ClipNorm, "clip", 1, "clip the global gradient norm (0 = off)")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed (init, shuffling, augmentation)")
	f.BoolVar(&o.Augment, "augment", true, "random crop (zero padding) and horizontal flip")
	f.IntVar(&o.Pad, "pad", 2, "padding of the random crop")
	f.Float64SliceVar(&meanStd, "mean-std", nil, "normalisation: means then stds per channel (default Fashion-MNIST 0.2860,0.3530)")
	f.BoolVar(&o.Resume, "resume", false, "continue from the state saved in --out")
	f.IntVar(&o.Workers, "workers", 0, "worker goroutines (0 = GOMAXPROCS)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar (epoch lines only)")
	rootCmd.AddCommand(cmd)
}

func trainPresetNames() []string {
	var n []string
	for k := range train.Presets {
		n = append(n, k)
	}
	return n
}
