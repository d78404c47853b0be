// Package vim implements Vision Mamba (hustvl/Vim, vim/models_mamba.py
// VisionMamba) for inference: conv patch embedding → class token in the
// middle of the patch sequence (or first, two, or none) → absolute position
// embedding → Depth blocks of Add → RMSNorm → bidirectional Mamba ("bimamba
// v2": one in_proj/out_proj, a forward and a time-reversed branch, summed and
// halved) → final Add + RMSNorm → the cls token → linear head. It matches the
// official PyTorch code to ~1e-6 on the parity fixtures.
//
// The SSM branch is package mamba's Branch (shared with the Mamba LM); this
// package only wires two of them per block.
//
// Weights load strictly from the official .pth files (state dict under
// "model") or safetensors with the official key names, through
// checkpoint.Bind: missing, unexpected and wrongly shaped tensors are all
// reported in one error. The configuration is inferred from the tensor
// shapes (InferConfig); a config.json beside the checkpoint can state what
// shapes cannot (cls placement, stride at non-224 sizes). Presets name the
// released models (vim-tiny, vim-tiny+, vim-small, vim-small+, vim-base).
//
// Any input resolution works: the position embedding is resized to the
// patch grid with the official fine-tune interpolation (patch.ResizeVim) and
// cached per grid; activations grow linearly with the number of tokens
// because the selective scan streams over the sequence.
//
// A Model is safe for concurrent use.
package vim
