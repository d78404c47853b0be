// Package vmamba is VMamba, the Visual State Space Model (MzeroMiko/VMamba
// classification/models/vmamba.py: VSSM and Backbone_VSSM), written against
// the kernels.Backend interface so it runs on the CPU and CUDA backends.
//
// The network is a stem (patch embed, stride 4), four stages of VSS blocks
// joined by stride-2 downsampling (strides 4/8/16/32), and a classifier
// (LayerNorm → global average pool → Linear). A VSS block is
// x + SS2D(norm(x)) then, for v2 models, x + MLP(norm2(x)). SS2D reads its
// feature map in four orders (package scan2d), runs one selective scan over
// the 4·d_inner channels with grouped B/C (G = 4), merges the directions back
// and normalises (../shared/spec/vmamba.md).
//
// Presets (Preset, Presets) carry the released configurations and their
// evaluation preprocessing: vmamba-tiny (T s1l8, 30M, 82.6% top-1),
// vmamba-small (S s2l15, 50M, 83.6%) and vmamba-base (B s2l15, 89M, 83.9%),
// the other v2 variants and the v0 "vanilla" models. Load reads the official
// .pth training checkpoints ("model" or, with EMA, "model_ema"),
// mmdet/mmseg backbone checkpoints and safetensors, and infers the
// configuration from tensor shapes when none is given; binding is strict.
//
// Forward accepts any H×W: like the official code it runs at the input's own
// size (each stride-2 step gives ceil(size/2)), or, with
// Options.PadMultiple = 32, pads to the total stride and crops the maps back.
// Memory grows linearly with the pixel count (the scan streams; see
// EstimateBytes). Stage maps are the outputs of each stage's blocks before
// downsampling — raw for classifier checkpoints (as the golden fixtures), or
// through Backbone_VSSM's out-norms when the checkpoint has them.
//
// A Model is safe for concurrent Forward calls.
package vmamba
