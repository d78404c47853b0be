package vim

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/mamba"
)

// DefaultChunkBytes bounds the activations one forward pass keeps at a time:
// Forward runs a batch whose activations would exceed it as consecutive
// sub-batches (chunks) of equal size, so the peak memory of a large batch at
// a high resolution stays near this figure instead of growing with the
// batch. It matters on GPUs (vim-tiny at 1248², batch 64, needs about
// 5.2 GB in one piece); batches of ordinary images are never split.
const DefaultChunkBytes = 1792 << 20

// activationBytes estimates the scratch bytes one image of l tokens needs in
// one forward pass: the mixer's six (E, L) sequences (x, z, y_f, y_b and one
// branch's conv output and Δ), five (L, C) token tensors (patch grid, tokens,
// residual, hidden, normed) and the two x_proj outputs (dt/B/C rows).
func (m *Model) activationBytes(l int) int64 {
	c := int64(m.cfg.EmbedDim)
	e := int64(m.cfg.Inner())
	r, n := int64(m.cfg.Rank()), int64(m.cfg.DState)
	return 4 * int64(l) * (6*e + 5*c + 2*(2*r+2*n))
}

// chunkSize returns how many images of x one pass runs: all of them when
// their activations fit in m.chunkBytes (DefaultChunkBytes unless set with
// SetChunkBytes), else the smallest equal split that fits (at least 1).
func (m *Model) chunkSize(x *kernels.Tensor) (int, error) {
	bt := x.Dim(0)
	gh, gw, err := m.embed.Grid(x.Dim(2), x.Dim(3))
	if err != nil {
		return 0, fmt.Errorf("vim: %w", err)
	}
	budget := m.chunkBytes
	if budget <= 0 {
		budget = DefaultChunkBytes
	}
	per := m.activationBytes(gh*gw + m.cfg.Cls.NumTokens())
	fit := max(int(budget/per), 1)
	if fit >= bt {
		return bt, nil
	}
	parts := (bt + fit - 1) / fit
	return (bt + parts - 1) / parts, nil
}

// SetChunkBytes sets the activation budget of one forward pass (see
// DefaultChunkBytes); 0 restores the default. Call it before using the
// model from several goroutines.
func (m *Model) SetChunkBytes(b int64) { m.chunkBytes = b }

// forwardChunked runs Forward on consecutive sub-batches of `per` images and
// writes their features and logits into one (Bt, ·) pair.
func (m *Model) forwardChunked(ctx context.Context, ws *mamba.Workspace, x *kernels.Tensor, per int) (features, logits *kernels.Tensor, err error) {
	be := m.be
	bt := x.Dim(0)
	shape := x.Shape()
	features = be.New(bt, m.cfg.EmbedDim)
	if m.head != nil {
		logits = be.New(bt, m.head.Classes())
	}
	for lo := 0; lo < bt; lo += per {
		n := min(per, bt-lo)
		xs := ws.Get(be, "vim.chunk.x", append([]int{n}, shape[1:]...)...)
		be.CopyBox(xs, []int{0, 0, 0, 0}, x, []int{lo, 0, 0, 0}, []int{n, shape[1], shape[2], shape[3]})
		f, lg, err := m.forwardAll(ctx, ws, xs)
		if err != nil {
			return nil, nil, err
		}
		be.CopyBox(features, []int{lo, 0}, f, []int{0, 0}, []int{n, m.cfg.EmbedDim})
		be.Free(f)
		if lg != nil {
			be.CopyBox(logits, []int{lo, 0}, lg, []int{0, 0}, []int{n, lg.Dim(1)})
			be.Free(lg)
		}
	}
	return features, logits, nil
}
