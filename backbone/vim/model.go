package vim

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gomamba/gomamba/heads"
	"github.com/gomamba/gomamba/internal/reuse"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/mamba"
	"github.com/gomamba/gomamba/patch"
)

// Model is a VisionMamba network with its weights resident on one backend.
//
// A Model is immutable after construction apart from an internal cache of
// position embeddings per input grid (mutex-guarded) and a pool of scratch
// workspaces, so it is safe for concurrent use: every call brings its own
// activations; concurrent calls on one backend simply share its cores.
type Model struct {
	cfg Config
	be  kernels.Backend

	embed   patch.Embed
	cls     []*kernels.Tensor // NumTokens() tensors of (C): one, or head and tail
	posHost []float32         // native position table (rows × C), host copy for resizing
	posRows int
	pos     *kernels.Tensor // native table on be (rows, C)
	layers  []Block
	normF   norm
	head    *heads.Linear // nil when NumClasses == 0

	posCache patch.Cache[*kernels.Tensor]
	wsPool   reuse.Pool[*mamba.Workspace] // not sync.Pool: see package reuse
	// chunkBytes is the activation budget of one pass (0: DefaultChunkBytes).
	chunkBytes int64
}

// Block is one Vim layer: Add → norm → bidirectional Mamba (v2) mixer.
type Block struct {
	Norm  norm
	Mixer BiMixer
}

// norm is RMSNorm (B nil) or LayerNorm.
type norm struct {
	W, B      *kernels.Tensor
	eps       float32
	layerNorm bool
}

func (n *norm) forward(be kernels.Backend, dst, x *kernels.Tensor) {
	if n.layerNorm {
		be.LayerNorm(dst, x, n.W, n.B, n.eps)
		return
	}
	be.RMSNorm(dst, x, n.W, n.eps)
}

// addNormer is implemented by backends that fuse the residual add into the
// norm that follows it (Mamba's fused_add_norm): residual += h, then dst =
// RMSNorm (rms) or LayerNorm of residual with weight w and bias b (b nil for
// RMSNorm); dst may alias h. The CUDA backend has it; elsewhere addForward
// makes the two calls.
type addNormer interface {
	AddNorm(dst, residual, h, w, b *kernels.Tensor, eps float32, rms bool)
}

// addForward computes residual += h, then dst = norm(residual), in one
// pass where the backend fuses them (the same arithmetic either way). dst
// may alias h.
func (n *norm) addForward(be kernels.Backend, dst, residual, h *kernels.Tensor) {
	if an, ok := be.(addNormer); ok {
		an.AddNorm(dst, residual, h, n.W, n.B, n.eps, !n.layerNorm)
		return
	}
	be.Add(residual, residual, h)
	n.forward(be, dst, residual)
}

// BiMixer is Vim's bimamba "v2" mixer: a shared in_proj and out_proj around
// two Mamba branches, the second running on the time-reversed sequence with
// its own (_b) parameters; out = out_proj((y_f + flip(y_b))/2). Bwd has
// Reverse set, so it reads x and z and writes y_b in the original order
// (flip(branch(flip(x), flip(z))) without the three copies).
type BiMixer struct {
	// InProjX and InProjZ are the two halves of in_proj.weight (2E, C):
	// rows [0, E) make x, rows [E, 2E) make the gate z.
	InProjX, InProjZ *kernels.Tensor // (E, C) each
	OutProj          *kernels.Tensor // (C, E)
	Fwd              mamba.Branch
	Bwd              mamba.Branch
	// DivideOut halves y_f + flip(y_b) (if_divide_out).
	DivideOut bool
	// inProj is the whole in_proj.weight (2E, C) whose halves InProjX and
	// InProjZ are, on the CPU (nil elsewhere): one GEMM makes x and z.
	inProj *kernels.Tensor
	// outProjHalf is OutProj/2, made at load when DivideOut is set (nil
	// for a hand-built mixer, which scales the sum instead).
	outProjHalf *kernels.Tensor
}

// Forward runs the mixer on h (Bt, L, C) into out (Bt, L, C) using scratch
// from ws (names prefixed "vim."). out may alias h: h is read only by the
// in_proj products at the start, out written only by out_proj at the end.
func (m *BiMixer) Forward(be kernels.Backend, ws *mamba.Workspace, out, h *kernels.Tensor) {
	bt, l := h.Dim(0), h.Dim(1)
	e := m.Fwd.Inner()
	// x and z, channel-major (Bt, E, L): in_proj halves · hᵀ per batch.
	var x, z *kernels.Tensor
	if m.inProj != nil && bt == 1 && h.Data != nil {
		// One (2E, L) product; x and z are its two halves (host views).
		xz := ws.Get(be, "vim.xz", 2*e, l)
		be.MatMul(xz, m.inProj, h.Reshape(l, h.Dim(2)), false, true)
		x, z = xz.Narrow0(0, e).Reshape(1, e, l), xz.Narrow0(e, e).Reshape(1, e, l)
	} else {
		x = ws.Get(be, "vim.x", bt, e, l)
		z = ws.Get(be, "vim.z", bt, e, l)
		be.MatMul(x, m.InProjX, h, false, true)
		be.MatMul(z, m.InProjZ, h, false, true)
	}

	yf := ws.Get(be, "vim.yf", bt, e, l)
	var yb *kernels.Tensor
	if concurrentBranches(be) && m.Bwd.Reverse {
		yb = ws.Get(be, "vim.yb", bt, e, l)
		// The two directions are independent until the sum: run them on
		// two goroutines, each with its own scratch (their names coincide;
		// a Workspace also belongs to one backend). With two processors
		// each branch runs its ops inline (CPUSerial: no fork and join per
		// op); with more, the ops still fan out.
		sb := be
		if runtime.GOMAXPROCS(0) == 2 {
			sb = kernels.CPUSerial()
		}
		wsf, wsb := ws.Sub("vim.fwd"), ws.Sub("vim.bwd")
		if sb != be && bt == 1 && x.Data != nil {
			if m.balancedBranches(sb, wsf, wsb, yf, yb, x, z) {
				yb = nil // summed into yf
			}
		} else {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.Bwd.Forward(sb, wsb, yb, x, z)
			}()
			m.Fwd.Forward(sb, wsf, yf, x, z)
			wg.Wait()
		}
	} else if gs, ok := be.(kernels.GateSummer); ok && m.Bwd.Reverse {
		// Both scans ungated, then yf = (yf + yb)·silu(z) in one pass.
		prepareUngated(&m.Fwd, be, ws, yf, x, z).scan(be, 0, e)
		yb = ws.Get(be, "vim.yb", bt, e, l)
		prepareUngated(&m.Bwd, be, ws, yb, x, z).scan(be, 0, e)
		gs.GateSum(yf, yf, yb, z)
		yb = nil
	} else {
		m.Fwd.Forward(be, ws, yf, x, z)
		yb = m.backward(be, ws, yf, x, z)
	}
	if yb != nil {
		be.Add(yf, yf, yb)
	}
	outProj := m.OutProj
	switch {
	case m.DivideOut && m.outProjHalf != nil:
		outProj = m.outProjHalf
	case m.DivideOut:
		be.Scale(yf, yf, 0.5)
	}
	be.MatMul(out, yf, outProj, true, true) // yᵀ (L, E) · out_projᵀ (E, C)
}

// backward runs the _b branch: anti-causally in place when Bwd.Reverse is
// set (flip(branch_b(flip(x), flip(z))) without the copies), its scan adding
// y_b into yf (ScanArgs.Accumulate: no separate Add pass over both; it
// returns nil), otherwise (a hand-built mixer) by flipping x and z in time,
// running it and flipping back, and it returns y_b for the caller to add.
func (m *BiMixer) backward(be kernels.Backend, ws *mamba.Workspace, yf, x, z *kernels.Tensor) *kernels.Tensor {
	if m.Bwd.Reverse {
		a := m.Bwd.PrepareScan(be, ws, yf, x, z)
		a.Accumulate = true
		be.SelectiveScan(a)
		return nil
	}
	yb := ws.Get(be, "vim.yb", x.Shape()...)
	xb := ws.Get(be, "vim.xb", x.Shape()...)
	zb := ws.Get(be, "vim.zb", x.Shape()...)
	be.Flip(xb, x, 2)
	be.Flip(zb, z, 2)
	ybf := ws.Get(be, "vim.ybf", x.Shape()...)
	m.Bwd.Forward(be, ws, ybf, xb, zb)
	be.Flip(yb, ybf, 2)
	return yb
}

// scanChunk is the number of channels that one goroutine of
// balancedBranches takes at a time.
const scanChunk = 64

// balancedBranches runs the two branches on two goroutines with serial ops
// (sb) like Forward's concurrent path, but shares their scans: each
// goroutine prepares its branch (conv, x_proj, dt_proj), then both take
// chunks of scanChunk channels until none is left. Where sb is a
// GateSummer a chunk is both directions' scans of its channels, ungated,
// then yf = (yf + yb)·silu(z) over them (GateSum: one SiLU per element
// instead of one in each scan, no Add pass afterwards; it returns true);
// otherwise chunks alternate between the directions, so that the slower
// backward scan does not leave the other goroutine idle, and the caller
// adds yb. Batch 1 in host memory (channel ranges are views).
func (m *BiMixer) balancedBranches(sb kernels.Backend, wsf, wsb *mamba.Workspace, yf, yb, x, z *kernels.Tensor) (summed bool) {
	e := x.Dim(1)
	chunks := (e + scanChunk - 1) / scanChunk
	gs, fused := sb.(kernels.GateSummer)
	units := 2 * chunks
	if fused {
		units = chunks
	}
	var args [2]*kernels.ScanArgs
	var dirs [2]dirScan
	var next atomic.Int64
	var ready, done sync.WaitGroup
	ready.Add(2)
	run := func(dir int) {
		br, ws, out := &m.Fwd, wsf, yf
		if dir == 1 {
			br, ws, out = &m.Bwd, wsb, yb
		}
		if fused {
			dirs[dir] = prepareUngated(br, sb, ws, out, x, z)
		} else {
			args[dir] = br.PrepareScan(sb, ws, out, x, z)
		}
		ready.Done()
		ready.Wait()
		for {
			i := int(next.Add(1) - 1)
			if i >= units {
				return
			}
			if !fused {
				// Alternate directions so both goroutines start on both.
				a, c0 := args[i%2], i/2*scanChunk
				sb.SelectiveScan(channelRange(a, c0, min(e, c0+scanChunk)))
				continue
			}
			c0 := i * scanChunk
			c1 := min(e, c0+scanChunk)
			dirs[0].scan(sb, c0, c1)
			dirs[1].scan(sb, c0, c1)
			gs.GateSum(rowRange(yf, c0, c1), rowRange(yf, c0, c1), rowRange(yb, c0, c1), rowRange(z, c0, c1))
		}
	}
	done.Add(1)
	go func() {
		defer done.Done()
		run(1)
	}()
	run(0)
	done.Wait()
	return fused
}

// dirScan is one direction's scan as prepareUngated leaves it: its
// operands, and where the backend projects Δ inside the scan
// (kernels.DeltaProjScanner) dt_proj's weight w (E, R) and the low-rank
// rows low (1, 1, R, L), Delta being nil.
type dirScan struct {
	a      *kernels.ScanArgs
	w, low *kernels.Tensor
}

// prepareUngated runs br's part before the scan, without the gate z (the
// caller gates the sum of both directions with GateSum), with Δ left to
// the scan where be can project it.
func prepareUngated(br *mamba.Branch, be kernels.Backend, ws *mamba.Workspace, y, x, z *kernels.Tensor) dirScan {
	a, w, low := br.PrepareScanProj(be, ws, y, x, z)
	a.Z = nil
	return dirScan{a, w, low}
}

// scan runs channels [c0, c1) of the scan (host views for a part of a
// batch-1 scan).
func (d dirScan) scan(be kernels.Backend, c0, c1 int) {
	a, w := d.a, d.w
	if c0 != 0 || c1 != a.U.Dim(1) {
		a = channelRange(a, c0, c1)
		if w != nil {
			w = w.Narrow0(c0, c1-c0)
		}
	}
	if w != nil {
		be.(kernels.DeltaProjScanner).SelectiveScanDeltaProj(a, w, d.low)
		return
	}
	be.SelectiveScan(a)
}

// channelRange returns a's operands restricted to channels [c0, c1) of a
// batch-1 scan (host views; time-varying B and C are shared by all
// channels).
func channelRange(a *kernels.ScanArgs, c0, c1 int) *kernels.ScanArgs {
	rows := func(t *kernels.Tensor) *kernels.Tensor { return rowRange(t, c0, c1) }
	vec := func(t *kernels.Tensor) *kernels.Tensor {
		if t == nil {
			return nil
		}
		return t.Narrow0(c0, c1-c0)
	}
	r := *a
	r.U, r.Delta, r.Z, r.Out = rows(a.U), rows(a.Delta), rows(a.Z), rows(a.Out)
	r.A, r.D, r.DeltaBias = vec(a.A), vec(a.D), vec(a.DeltaBias)
	return &r
}

// rowRange returns channels [c0, c1) of t (1, D, L), nil for nil (a host
// view).
func rowRange(t *kernels.Tensor, c0, c1 int) *kernels.Tensor {
	if t == nil {
		return nil
	}
	l := t.Dim(2)
	return t.Reshape(t.Dim(1), l).Narrow0(c0, c1-c0).Reshape(1, c1-c0, l)
}

// concurrentBranches reports whether BiMixer runs its two directions on
// two goroutines: on the CPU backend with more than one processor.
func concurrentBranches(be kernels.Backend) bool {
	return be.Name() == "cpu" && runtime.GOMAXPROCS(0) > 1
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Backend returns the backend holding the weights.
func (m *Model) Backend() kernels.Backend { return m.be }

// Dim returns the token width C.
func (m *Model) Dim() int { return m.cfg.EmbedDim }

func (m *Model) workspace() *mamba.Workspace {
	if ws, ok := m.wsPool.Get(); ok {
		return ws
	}
	return mamba.NewWorkspace()
}

// clsIndex returns the positions of the cls tokens in a sequence of M patch
// tokens, and where patch tokens start/split.
func (m *Model) clsIndex(patches int) []int {
	switch m.cfg.Cls {
	case ClsMiddle:
		return []int{patches / 2}
	case ClsHead:
		return []int{0}
	case ClsDouble:
		return []int{0, patches + 1}
	}
	return nil
}

// posFor returns the position table for a gh×gw grid on the model's backend:
// the stored table for the native grid, otherwise the official Vim
// fine-tune interpolation of it (patch.ResizeVim), cached per grid.
func (m *Model) posFor(gh, gw int) (*kernels.Tensor, error) {
	g := m.cfg.Grid()
	if gh == g && gw == g {
		return m.pos, nil
	}
	return m.posCache.Get(gh, gw, func() (*kernels.Tensor, error) {
		c := m.cfg.EmbedDim
		nt := m.cfg.Cls.NumTokens()
		tab, err := patch.ResizeVim(m.posHost, m.posRows, c, nt, gh, gw)
		if err != nil {
			return nil, fmt.Errorf("vim: position embedding for a %dx%d grid: %w", gh, gw, err)
		}
		return m.be.FromHost(kernels.MustFromSlice(tab, nt+gh*gw, c)), nil
	})
}

// checkInput reports an input that is not an image batch (Bt, Channels,
// H, W) for this model.
func (m *Model) checkInput(x *kernels.Tensor) error {
	if x.Rank() != 4 || x.Dim(1) != m.cfg.Channels {
		return fmt.Errorf("vim: input %v, want (batch, %d, H, W)", x.Shape(), m.cfg.Channels)
	}
	return nil
}

// run is the trunk: it embeds x (Bt, Cin, H, W), adds cls tokens and
// positions, runs the blocks and the final norm. visit, if non-nil, sees
// each block's mixer output and residual stream (before the next add).
// It returns the final normalised tokens (Bt, L, C).
func (m *Model) run(ctx context.Context, ws *mamba.Workspace, x *kernels.Tensor, visit func(i int, hidden, residual *kernels.Tensor) error) (out *kernels.Tensor, gh, gw int, err error) {
	if err := m.checkInput(x); err != nil {
		return nil, 0, 0, err
	}
	return m.runRange(ctx, ws, x, 0, x.Dim(0), visit)
}

// runRange is run on images [first, first+bt) of x, which its callers
// (run, Forward) have passed through checkInput. On a device backend x may
// be a host tensor (see embedTokens).
func (m *Model) runRange(ctx context.Context, ws *mamba.Workspace, x *kernels.Tensor, first, bt int, visit func(i int, hidden, residual *kernels.Tensor) error) (out *kernels.Tensor, gh, gw int, err error) {
	be := m.be
	gh, gw, err = m.embed.Grid(x.Dim(2), x.Dim(3))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("vim: %w", err)
	}
	c := m.cfg.EmbedDim
	np := gh * gw
	nt := m.cfg.Cls.NumTokens()
	l := np + nt
	residual := ws.Get(be, "vim.residual", bt, l, c)
	m.embedTokens(ws, residual, x, first, bt, gh, gw)
	pos, err := m.posFor(gh, gw)
	if err != nil {
		return nil, 0, 0, err
	}
	be.Add(residual, residual, pos)

	// Blocks: residual += hidden (first block: residual = embedded input);
	// hidden = mixer(norm(residual)).
	// The mixer input (normed) and output (hidden) share one buffer: the
	// mixer reads its input before it writes its output, and the add+norm
	// reads hidden before it writes normed.
	hidden := ws.Get(be, "vim.hidden", bt, l, c)
	normed := hidden
	for i := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		blk := &m.layers[i]
		if i > 0 {
			blk.Norm.addForward(be, normed, residual, hidden)
		} else {
			blk.Norm.forward(be, normed, residual)
		}
		blk.Mixer.Forward(be, ws, hidden, normed)
		if visit != nil {
			if err := visit(i, hidden, residual); err != nil {
				return nil, 0, 0, err
			}
		}
	}
	m.normF.addForward(be, normed, residual, hidden)
	return normed, gh, gw, nil
}

// embedGroupBytes bounds the device scratch of the patch embedding: a
// device backend embeds a pass's images in groups whose input copy, patch
// grid and token rows stay under it, so that neither the whole input batch
// nor a whole pass's grid has to be held on the device.
const embedGroupBytes = 96 << 20

// embedTokens writes the embedded sequence of images [first, first+bt) of x
// (·, Cin, H, W) into residual (bt, L, C): patch tokens in row-major grid order with the cls
// token(s) inserted (positions are added by the caller). On a device backend
// the images go through in groups of at most embedGroupBytes of scratch; x
// may then also be a host tensor, each group being uploaded when it is
// reached.
func (m *Model) embedTokens(ws *mamba.Workspace, residual, x *kernels.Tensor, first, bt, gh, gw int) {
	be := m.be
	cin, h, w := x.Dim(1), x.Dim(2), x.Dim(3)
	c, np := m.cfg.EmbedDim, gh*gw
	onDevice := m.pos.OnDevice()
	g := bt
	if onDevice {
		g = min(bt, max(1, int(embedGroupBytes/(4*int64(cin*h*w+2*np*c)))))
	}
	for lo := 0; lo < bt; lo += g {
		n := min(g, bt-lo)
		xs := x
		switch {
		case !onDevice && n < x.Dim(0):
			xs = x.Narrow0(first+lo, n)
		case onDevice && (n < x.Dim(0) || !x.OnDevice()):
			xs = prefix(ws.Get(be, "vim.embed.x", g, cin, h, w), n, cin, h, w)
			if x.OnDevice() {
				be.CopyBox(xs, []int{0, 0, 0, 0}, x, []int{first + lo, 0, 0, 0}, []int{n, cin, h, w})
			} else {
				be.Copy(xs, x.Narrow0(first+lo, n)) // upload
			}
		}
		grid := prefix(ws.Get(be, "vim.grid", g, c, gh, gw), n, c, gh, gw)
		m.embed.Forward(be, grid, xs)
		tokens := prefix(ws.Get(be, "vim.tokens", g, np, c), n, np, c)
		be.Permute(tokens, grid.Reshape(n, c, np), 0, 2, 1)
		// Patches with the cls token(s) inserted, into images [lo, lo+n).
		src, dst := 0, 0
		for k, at := range m.clsIndex(np) {
			if cnt := at - dst; cnt > 0 {
				be.CopyBox(residual, []int{lo, dst, 0}, tokens, []int{0, src, 0}, []int{n, cnt, c})
				src += cnt
				dst += cnt
			}
			for b := range n {
				be.CopyBox(residual, []int{lo + b, at, 0}, m.cls[k].Reshape(1, 1, c), []int{0, 0, 0}, []int{1, 1, c})
			}
			dst++
		}
		if cnt := residual.Dim(1) - dst; cnt > 0 {
			be.CopyBox(residual, []int{lo, dst, 0}, tokens, []int{0, src, 0}, []int{n, cnt, c})
		}
	}
}

// prefix returns the first shape[0] rows of t (a scratch tensor whose first
// dimension is at least that) as a tensor of the given shape: a view of the
// same storage (host or device), so that a short last group reuses the group
// buffers instead of reallocating them.
func prefix(t *kernels.Tensor, shape ...int) *kernels.Tensor {
	if t.Dim(0) == shape[0] {
		return t
	}
	return t.Narrow0(0, shape[0]).Reshape(shape...)
}

func (m *Model) pooling(patches int) heads.Pooling {
	switch m.cfg.Cls {
	case ClsNone:
		if m.cfg.FinalPool == "mean" {
			return heads.Pooling{Kind: heads.PoolMean}
		}
		return heads.Pooling{Kind: heads.PoolLast}
	default:
		return heads.Pooling{Kind: heads.PoolTokens, Index: m.clsIndex(patches)}
	}
}

// Forward runs the network on x (Bt, Channels, H, W), a normalised image
// batch in the backend's memory or, on a device backend, in host memory (it
// is then uploaded a few images at a time as the pass reaches them, so the
// whole batch never occupies device memory), and returns the pooled features (Bt, C)
// (the official forward_features: the cls token for the released flags) and
// the logits (Bt, NumClasses), nil when the model has no head. Any H, W of
// at least one patch is accepted: the position embedding is interpolated to
// the grid with the official fine-tune rule and cached per grid.
func (m *Model) Forward(ctx context.Context, x *kernels.Tensor) (features, logits *kernels.Tensor, err error) {
	ws := m.workspace()
	defer m.wsPool.Put(ws)
	if err := m.checkInput(x); err != nil {
		return nil, nil, err
	}
	per, err := m.chunkSize(x)
	if err != nil {
		return nil, nil, err
	}
	if per < x.Dim(0) {
		return m.forwardChunked(ctx, ws, x, per)
	}
	return m.forwardRange(ctx, ws, x, 0, x.Dim(0))
}

// forwardRange is Forward on images [first, first+bt) of x in one pass.
func (m *Model) forwardRange(ctx context.Context, ws *mamba.Workspace, x *kernels.Tensor, first, bt int) (features, logits *kernels.Tensor, err error) {
	out, gh, gw, err := m.runRange(ctx, ws, x, first, bt, nil)
	if err != nil {
		return nil, nil, err
	}
	features = m.be.New(bt, m.cfg.EmbedDim)
	if err := heads.Pool(m.be, features, out, m.pooling(gh*gw)); err != nil {
		return nil, nil, fmt.Errorf("vim: %w", err)
	}
	if m.head != nil {
		logits = m.be.New(bt, m.head.Classes())
		m.head.Forward(m.be, logits, features)
	}
	return features, logits, nil
}

// FeatureSource chooses which per-block tensor DenseFeatures returns.
type FeatureSource int

// Feature sources.
const (
	// MixerOutput is the block's mixer output (hustvl/Vim seg backbone's
	// default, use_residual_as_feature=False).
	MixerOutput FeatureSource = iota
	// ResidualStream is the residual stream after the block (its input plus
	// its mixer output).
	ResidualStream
)

// DenseFeatures runs the trunk on x and returns, for each block index in
// blocks (0-based; negative counts from the end), its token map with the cls
// token(s) removed, reshaped to (Bt, C, Gh, Gw) (row-major patch grid). The
// trunk stops after the last requested block.
func (m *Model) DenseFeatures(ctx context.Context, x *kernels.Tensor, blocks []int, src FeatureSource) ([]*kernels.Tensor, error) {
	want := make(map[int][]int) // block → output slots
	last := -1
	for k, b := range blocks {
		if b < 0 {
			b += m.cfg.Depth
		}
		if b < 0 || b >= m.cfg.Depth {
			return nil, fmt.Errorf("vim: feature block %d out of range (depth %d)", blocks[k], m.cfg.Depth)
		}
		want[b] = append(want[b], k)
		last = max(last, b)
	}
	if len(blocks) == 0 {
		return nil, nil
	}
	if err := m.checkInput(x); err != nil {
		return nil, err
	}
	gh, gw, err := m.embed.Grid(x.Dim(2), x.Dim(3))
	if err != nil {
		return nil, fmt.Errorf("vim: %w", err)
	}
	ws := m.workspace()
	defer m.wsPool.Put(ws)
	out := make([]*kernels.Tensor, len(blocks))
	errStop := errors.New("stop")
	_, _, _, err = m.run(ctx, ws, x, func(i int, hidden, residual *kernels.Tensor) error {
		slots, ok := want[i]
		if !ok {
			return nil
		}
		t := hidden
		if src == ResidualStream {
			t = ws.Get(m.be, "vim.feat.sum", hidden.Shape()...)
			m.be.Add(t, residual, hidden)
		}
		fm := m.tokenMap(ws, t, gh, gw)
		for j, s := range slots {
			if j == 0 {
				out[s] = fm
			} else {
				out[s] = m.be.New(fm.Shape()...)
				m.be.Copy(out[s], fm)
			}
		}
		if i == last {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	return out, nil
}

// tokenMap drops the cls tokens of t (Bt, L, C) and returns (Bt, C, gh, gw).
func (m *Model) tokenMap(ws *mamba.Workspace, t *kernels.Tensor, gh, gw int) *kernels.Tensor {
	be := m.be
	bt, c := t.Dim(0), t.Dim(2)
	np := gh * gw
	tok := ws.Get(be, "vim.feat.tokens", bt, np, c)
	dst, src := 0, 0
	for _, at := range m.clsIndex(np) {
		if n := at - src; n > 0 {
			be.CopyBox(tok, []int{0, dst, 0}, t, []int{0, src, 0}, []int{bt, n, c})
			dst += n
		}
		src = at + 1
	}
	if n := np - dst; n > 0 {
		be.CopyBox(tok, []int{0, dst, 0}, t, []int{0, src, 0}, []int{bt, n, c})
	}
	fm := be.New(bt, c, np)
	be.Permute(fm, tok, 0, 2, 1)
	return fm.Reshape(bt, c, gh, gw)
}
