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
// batch. It matters on GPUs: vim-tiny at 1248², batch 64, needs about
// 3.7 GB of activations in one piece; under this budget it runs 4 passes
// of 16 images (58 MB each), and its peak with the fp32 input batch on the
// GPU, 2.19 GiB, stays below timm DeiT-tiny's 2.29 GiB in bf16 (H200, same
// run). Larger budgets (SetChunkBytes) trade memory for throughput: there, 3
// passes of 22 images (1300 MiB) ran 13% faster (bf16: 290.7 against
// 257.0 img/s) at a 2.53 GiB peak. Batches of ordinary images are never
// split.
const DefaultChunkBytes = 1 << 30

// activationBytes estimates the scratch bytes one image of l tokens needs in
// one forward pass. On the sequential path (device backends, one CPU
// thread): five (E, L) sequences (x, z, y_f, which the backward scan adds
// y_b into, and the running branch's conv output and Δ), two (L, C) token tensors (residual,
// and hidden, which also holds the norm's output) and the two x_proj
// outputs (dt/B/C rows). Concurrent CPU branches add y_b and the second
// branch's conv output and Δ; a host backend also holds the whole pass's
// patch grid and tokens (device backends embed in groups of bounded size,
// embedGroupBytes).
func (m *Model) activationBytes(l int) int64 {
	c := int64(m.cfg.EmbedDim)
	e := int64(m.cfg.Inner())
	r, n := int64(m.cfg.Rank()), int64(m.cfg.DState)
	seqE, seqC := int64(5), int64(2)
	if concurrentBranches(m.be) {
		seqE = 8
	}
	if !m.pos.OnDevice() {
		seqC += 2
	}
	return 4 * int64(l) * (seqE*e + seqC*c + 2*(2*r+2*n))
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

// forwardChunked runs Forward on consecutive sub-batches of `per` images
// (per < Bt) and writes their features and logits into one (Bt, ·) pair. Each pass reads
// its images from x directly (a host x is uploaded group by group, see
// embedTokens), so no sub-batch copy of the input is held.
func (m *Model) forwardChunked(ctx context.Context, ws *mamba.Workspace, x *kernels.Tensor, per int) (features, logits *kernels.Tensor, err error) {
	be := m.be
	bt := x.Dim(0)
	features = be.New(bt, m.cfg.EmbedDim)
	if m.head != nil {
		logits = be.New(bt, m.head.Classes())
	}
	for next := 0; next < bt; next += per {
		// Every pass has the same shape (no scratch reallocated for a
		// short last one, which a caching allocator would hold twice): the
		// last pass ends at bt and recomputes up to per−1 images of the
		// one before, writing the same features again.
		lo, n := min(next, bt-per), per
		f, lg, err := m.forwardRange(ctx, ws, x, lo, n)
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
