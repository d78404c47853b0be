// Package patch holds the pieces that turn an image into a token sequence for
// vision transformers and Vision Mamba: the convolutional patch embedding
// (kernel = patch size, any stride, through Backend.Conv2d) and the resizing
// of learned absolute position embeddings to another grid.
//
// Two resizers are provided, because the official codes use two different
// ones and parity requires the exact one:
//
//   - [ResizeVim] reproduces hustvl/Vim's fine-tune interpolation
//     (vim/main.py): row 0 is kept as the "extra token" and the remaining
//     rows, read as a square grid, are resized with PyTorch's bicubic
//     (a = −0.75, align_corners=False, no antialias). It treats row 0 as the
//     cls slot even for middle-cls models — reproduced literally, because the
//     released "+" checkpoints were made that way.
//   - [ResizeGridAA] is PyTorch's antialiased bicubic (a = −0.5, Pillow-style
//     separable filter with support scaled when downsampling), used by timm's
//     resample_abs_pos_embed (DeiT).
//
// [Cache] memoises a resized table per grid size so that any-resolution
// inference pays for the interpolation once per size.
//
// All functions are pure; Cache is safe for concurrent use.
package patch
