// Package train trains Vision Mamba models from scratch on the CPU.
//
// It holds the backward passes of everything a Vim needs (patch embedding,
// cls insertion and position table, RMSNorm, the bidirectional v2 mixer with
// its causal conv1d and selective scan, the head and softmax cross-entropy),
// AdamW with decoupled weight decay, warm-up + cosine learning rates, global
// gradient clipping and a data-parallel trainer that saves safetensors
// checkpoints with the official Vim key names plus a config.json, so that
// vision.Load (and `gomamba classify/eval`) read a trained model directly.
//
// The math is generic over float32 and float64: training runs in float32,
// the gradient checks in float64 against central finite differences
// (TestModelGradient). The training forward equals the official Vim forward
// (TestForwardMatchesOfficialVim) and gomamba's inference path
// (TestBuiltinInferenceMatchesTraining).
//
// Train is safe to call from one goroutine at a time per Options.OutDir; it
// uses Options.Workers goroutines internally.
//
// Example:
//
//	res, err := train.Train(ctx, train.Options{
//		Config: train.Presets["vim-micro"], Epochs: 6, BatchSize: 128,
//		LR: 2e-3, MinLR: 1e-5, WarmupEpochs: 1, WeightDecay: 0.05, ClipNorm: 1,
//		Augment: true, Pad: 2, Mean: []float64{0.286}, Std: []float64{0.353},
//		OutDir: "runs/vim-micro",
//	}, trainSet, testSet)
package train
