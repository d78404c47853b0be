package patch

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// Embed is a convolutional patch embedding: a Conv2d with a square kernel of
// Patch pixels, stride Stride and no padding, mapping (Bt, Cin, H, W) images
// to (Bt, Dim, Gh, Gw) grids. Its fields are read-only after construction, so
// an Embed is safe for concurrent use.
type Embed struct {
	Weight *kernels.Tensor // (Dim, Cin, Patch, Patch)
	Bias   *kernels.Tensor // (Dim) or nil
	Patch  int             // kernel size in pixels
	Stride int             // step between patches in pixels (Patch for non-overlapping)
}

// Dim returns the embedding width (output channels).
func (e *Embed) Dim() int { return e.Weight.Dim(0) }

// InChannels returns the number of image channels the embedding expects.
func (e *Embed) InChannels() int { return e.Weight.Dim(1) }

// Grid returns the patch grid for an h×w image: (h − Patch)/Stride + 1 rows
// and likewise columns, or an error when the image is smaller than a patch.
func (e *Embed) Grid(h, w int) (gh, gw int, err error) {
	return GridSize(h, w, e.Patch, e.Stride)
}

// GridSize returns the number of patch rows and columns of an h×w image for a
// patch × patch kernel with the given stride (PyTorch Conv2d, no padding).
func GridSize(h, w, patch, stride int) (gh, gw int, err error) {
	if patch <= 0 || stride <= 0 {
		return 0, 0, fmt.Errorf("patch: invalid patch %d / stride %d", patch, stride)
	}
	if h < patch || w < patch {
		return 0, 0, fmt.Errorf("patch: image %dx%d is smaller than one %dx%d patch", w, h, patch, patch)
	}
	return (h-patch)/stride + 1, (w-patch)/stride + 1, nil
}

// Forward writes the patch grid of x (Bt, Cin, H, W) into dst
// (Bt, Dim, Gh, Gw). Shapes must agree (see Grid); the backend panics
// otherwise.
func (e *Embed) Forward(be kernels.Backend, dst, x *kernels.Tensor) {
	be.Conv2d(dst, x, e.Weight, e.Bias, kernels.Conv2dParams{StrideH: e.Stride, StrideW: e.Stride})
}

// Tokens runs Forward and flattens the grid to a row-major token sequence
// (Bt, Gh·Gw, Dim) (token m = row·Gw + col, as PyTorch's
// flatten(2).transpose(1, 2)). It allocates the result on be.
func (e *Embed) Tokens(be kernels.Backend, x *kernels.Tensor) (tokens *kernels.Tensor, gh, gw int, err error) {
	if x.Rank() != 4 || x.Dim(1) != e.InChannels() {
		return nil, 0, 0, fmt.Errorf("patch: input %v, want (batch, %d, H, W)", x.Shape(), e.InChannels())
	}
	gh, gw, err = e.Grid(x.Dim(2), x.Dim(3))
	if err != nil {
		return nil, 0, 0, err
	}
	bt, c := x.Dim(0), e.Dim()
	grid := be.New(bt, c, gh, gw)
	e.Forward(be, grid, x)
	tokens = be.New(bt, gh*gw, c)
	be.Permute(tokens, grid.Reshape(bt, c, gh*gw), 0, 2, 1)
	be.Free(grid)
	return tokens, gh, gw, nil
}
