// Package deit implements the DeiT / ViT baseline (timm's VisionTransformer
// with the deit_*_patch16_224 flags) for inference, so that gomamba can run
// the attention baseline in the same binary as Vision Mamba for same-run
// comparisons.
//
// The network: a 16×16/s16 conv patch embedding (package patch), the
// learned class token first, a learned position table that includes the
// class slot, Depth pre-norm blocks x += proj(MHSA(LN1(x))),
// x += fc2(GELU(fc1(LN2(x)))) with exact-erf GELU and LayerNorm eps 1e-6,
// a final LayerNorm, and a linear head on token 0. Attention is composed
// from kernels.Backend ops only: three Linear projections (the stored
// qkv.weight is split into its [q | k | v] thirds at load), Permute to
// (batch·heads, L, head_dim), Scale by head_dim^−½, batched MatMul with a
// transposed key, Softmax, MatMul with the values — timm's explicit
// (non-fused) path. When the score matrix would exceed 256 MiB it is built
// in chunks of query rows, so memory stays linear in the token count; time
// stays quadratic, as in any ViT (a 1024² image has 4097 tokens and costs
// about 28× the attention FLOPs of 224² per token).
//
// It matches timm 1.0.29 on the parity fixture to ~5e-7 (logits and
// pre_logits), at the native size and at another size.
//
// Weights load strictly from timm state dicts — the original DeiT .pth files
// ({'model': state_dict}) or hub safetensors — through checkpoint.Bind:
// missing, unexpected and wrongly shaped tensors are reported together. The
// configuration is inferred from tensor shapes (InferConfig); the number of
// heads, which shapes cannot tell, comes from a config.json beside the
// checkpoint (timm hub layout, "num_heads" or "architecture") or a fixture's
// case.json, else from the preset of the same width (head_dim 64). Presets:
// deit-tiny (192 wide, 3 heads, 5.7M parameters, 72.2% ImageNet top-1),
// deit-small (384, 6, 22M, 79.8%), deit-base (768, 12, 86M, 81.8%).
// Distilled DeiT, register tokens, layer scale and average pooling are not
// implemented and are refused with a message saying so.
//
// Any input size works, like timm's dynamic_img_size=True: the patch grid's
// position table is timm's resample_abs_pos_embed of the stored one (class
// row kept, grid resized with PyTorch's antialiased bicubic, a = −0.5; see
// patch.ResizeGridAA), cached per grid.
//
// A Model is safe for concurrent use.
package deit
