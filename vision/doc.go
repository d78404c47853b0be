// Package vision is gomamba's public API for image models: load a
// checkpoint or a preset by name, classify images, extract dense features.
//
//	m, err := vision.Load("vim-tiny")               // or a .pth/.safetensors file or a folder
//	top, err := m.Classify(ctx, img, 5)             // []heads.Prediction{Index, Label, Prob}
//	maps, err := m.Features(ctx, img, nil)          // []FeatureMap{FeatureInfo{Channels, Stride, Name}, Data}
//
// Model families plug in through RegisterFamily (see family_vim.go): each
// recognises its checkpoints from tensor names and shapes (never file
// extensions), infers or takes a preset configuration, and returns a
// Network. Load refuses a checkpoint no family recognises, naming the file.
//
// Preprocessing is the family's evaluation transform (for Vim: resize the
// shorter side to 256 with Pillow-exact bicubic, center-crop 224, ImageNet
// normalisation); WithSize changes the crop side, and Vim then interpolates
// its position embedding to the new grid (cached per grid size).
//
// Concurrency: a Model is immutable after Load and safe for concurrent use;
// each call allocates its own activations, and calls on the same backend
// share its cores (for throughput, batch with ClassifyBatch rather than
// running many goroutines on a small machine).
package vision
