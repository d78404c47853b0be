package vmamba

import (
	"context"
	"fmt"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/scan2d"
)

// bufKey names a scratch tensor by role and shape (rank ≤ 6).
type bufKey struct {
	tag   string
	shape [6]int
}

// run is the scratch of one Forward call: activations are reused by shape,
// so blocks of a stage share their buffers and peak memory stays a small
// multiple of the largest stage.
type run struct {
	m     *Model
	be    kernels.Backend
	bufs  map[bufKey]*kernels.Tensor
	tiled map[*kernels.Tensor]*kernels.Tensor
	scan  *scan2d.Workspace
	key   [5]int // input shape and pad multiple the buffers were made for
}

func newRun(m *Model) *run {
	return &run{
		m: m, be: m.be,
		bufs:  map[bufKey]*kernels.Tensor{},
		tiled: map[*kernels.Tensor]*kernels.Tensor{},
		scan:  scan2d.NewWorkspace(m.be),
	}
}

// release frees every buffer (the run stays usable and re-makes them).
func (r *run) release() {
	for k, t := range r.bufs {
		r.be.Free(t)
		delete(r.bufs, k)
	}
	for k, t := range r.tiled {
		r.be.Free(t)
		delete(r.tiled, k)
	}
	r.scan.Release()
}

func (r *run) buf(tag string, shape ...int) *kernels.Tensor {
	k := bufKey{tag: tag}
	copy(k.shape[:], shape)
	if t, ok := r.bufs[k]; ok {
		return t
	}
	t := r.be.New(shape...)
	r.bufs[k] = t
	return t
}

// tile returns w (G, ...) repeated bt times as (bt·G, ...), so that a
// batched MatMul applies group g's matrix to every image (the official
// grouped conv1d / einsum over k).
func (r *run) tile(w *kernels.Tensor, bt int) *kernels.Tensor {
	if bt == 1 {
		return w
	}
	if t, ok := r.tiled[w]; ok && t.Dim(0) == bt*w.Dim(0) {
		return t
	}
	s := w.Shape()
	t := r.be.New(bt*s[0], s[1], s[2])
	for b := range bt {
		r.be.CopyBox(t, []int{b * s[0], 0, 0}, w, []int{0, 0, 0}, s)
	}
	r.tiled[w] = t
	return t
}

// ln2d is LayerNorm2d (channel-first LayerNorm over C); dst may alias x.
func (r *run) ln2d(dst, x, w, b *kernels.Tensor) {
	r.be.LayerNorm2d(dst, x, w, b, r.m.cfg.NormEps)
}

// pointwise is Linear2d: a 1×1 convolution with optional bias.
func (r *run) pointwise(dst, x, w, b *kernels.Tensor) {
	r.be.Conv2d(dst, x, w, b, kernels.Conv2dParams{})
}

// pointwiseAct is Linear2d followed by act, into dst.
func (r *run) pointwiseAct(dst, x, w, b *kernels.Tensor, act kernels.Activation) {
	if f, ok := r.be.(kernels.FusedPointwise); ok { // bias and act in the GEMM
		f.PointwiseConv(dst, x, w, b, act, false)
		return
	}
	r.pointwise(dst, x, w, b)
	r.be.Unary(dst, dst, act)
}

// pointwiseAdd is the residual dst += Linear2d(x); tmp (dst's shape) holds
// the product on backends without kernels.FusedPointwise, which add it in
// the GEMM (dst must not alias x).
func (r *run) pointwiseAdd(dst, x, w, b, tmp *kernels.Tensor) {
	if f, ok := r.be.(kernels.FusedPointwise); ok {
		f.PointwiseConv(dst, x, w, b, kernels.ActNone, true)
		return
	}
	r.pointwise(tmp, x, w, b)
	r.be.Add(dst, dst, tmp)
}

func (r *run) forward(ctx context.Context, x *kernels.Tensor, opts *Options, toHost bool) (*Output, error) {
	be := r.be
	in := x
	if toHost {
		in = be.FromHost(x)
		if in != x {
			defer be.Free(in)
		}
	}
	raws, err := r.trunk(ctx, in, opts.PadMultiple, r.m.needed(opts))
	if err != nil {
		return nil, err
	}
	return r.head(raws, opts, toHost)
}

// needed lists the stages whose raw maps Forward needs: the requested ones
// and the last (for the pooled embedding).
func (m *Model) needed(opts *Options) map[int]bool {
	need := map[int]bool{m.cfg.Stages() - 1: true}
	for _, s := range opts.Stages {
		need[s] = true
	}
	return need
}

// trunk runs the stem and the stages on in (Bt, C, H, W), in backend
// memory, and returns fresh copies of the raw maps of the stages in need,
// cropped to the unpadded size (ceil(H/stride)).
func (r *run) trunk(ctx context.Context, in *kernels.Tensor, pad int, need map[int]bool) (map[int]*kernels.Tensor, error) {
	m, be, cfg := r.m, r.be, &r.m.cfg
	bt, h, w := in.Dim(0), in.Dim(2), in.Dim(3)
	if p := pad; p > 0 && (h%p != 0 || w%p != 0) {
		ph, pw := (h+p-1)/p*p, (w+p-1)/p*p
		padded := r.buf("input.pad", bt, cfg.InChans, ph, pw)
		be.CopyBox(padded, []int{0, 0, 0, 0}, in, []int{0, 0, 0, 0}, []int{bt, cfg.InChans, h, w})
		in = padded
	}
	cur := r.stem(in)
	raws := map[int]*kernels.Tensor{}
	ns := cfg.Stages()
	for i := range ns {
		for j := range m.w.blocks[i] {
			if err := ctx.Err(); err != nil {
				for _, t := range raws {
					be.Free(t)
				}
				return nil, fmt.Errorf("vmamba: forward: %w", err)
			}
			r.block(&m.w.blocks[i][j], cur)
		}
		if need[i] {
			vh, vw := m.StageSize(i, h, w)
			raw := be.New(bt, cfg.Dims[i], vh, vw)
			be.CopyBox(raw, []int{0, 0, 0, 0}, cur, []int{0, 0, 0, 0}, raw.Shape())
			raws[i] = raw
		}
		if i+1 < ns {
			cur = r.downsample(&m.w.down[i], cur, i)
		}
	}
	return raws, nil
}

// head turns raw stage maps into the Output: out-norms on the requested
// maps, and the pooled embedding and logits from the last stage. It takes
// ownership of raws. LayerNorms act per pixel, so they commute with
// cropping and tiling.
func (r *run) head(raws map[int]*kernels.Tensor, opts *Options, toHost bool) (*Output, error) {
	m, be, cfg := r.m, r.be, &r.m.cfg
	ns := cfg.Stages()
	lastRaw := raws[ns-1]
	bt := lastRaw.Dim(0)
	out := &Output{Stages: make([]*kernels.Tensor, len(opts.Stages))}
	kept := map[*kernels.Tensor]bool{}
	for pos, s := range opts.Stages {
		feat := raws[s]
		if m.lay.outNorms {
			feat = be.New(feat.Shape()...)
			r.ln2d(feat, raws[s], m.w.outNormW[s], m.w.outNormB[s])
		}
		out.Stages[pos] = feat
		kept[feat] = true
	}
	c := cfg.Dims[ns-1]
	pooled := be.New(bt, c)
	normed := r.buf("cls.norm", lastRaw.Shape()...)
	switch {
	case m.lay.classifier:
		r.ln2d(normed, lastRaw, m.w.clsNormW, m.w.clsNormB)
	case m.lay.outNorms:
		r.ln2d(normed, lastRaw, m.w.outNormW[ns-1], m.w.outNormB[ns-1])
	default:
		be.Copy(normed, lastRaw)
	}
	be.Mean(pooled, normed.Reshape(bt, c, -1), 2)
	if m.lay.classifier && m.w.headW != nil {
		logits := be.New(bt, cfg.NumClasses)
		be.Linear(logits, pooled, m.w.headW, m.w.headB)
		out.Logits = logits
	}
	out.Pooled = pooled
	for _, t := range raws {
		if !kept[t] {
			be.Free(t)
		}
	}
	if toHost {
		out.Logits = r.host(out.Logits)
		out.Pooled = r.host(out.Pooled)
		for i, t := range out.Stages {
			out.Stages[i] = r.host(t)
		}
	}
	if err := be.Sync(); err != nil {
		return nil, fmt.Errorf("vmamba: forward: %w", err)
	}
	return out, nil
}

// host brings t to the host and frees its device copy.
func (r *run) host(t *kernels.Tensor) *kernels.Tensor {
	if t == nil {
		return nil
	}
	h := r.be.ToHost(t)
	if h != t {
		r.be.Free(t)
	}
	return h
}

// stem is patch_embed: v1 conv k4 s4 → LN; v2 conv k3 s2 p1 → LN → GELU →
// conv k3 s2 p1 → LN.
func (r *run) stem(x *kernels.Tensor) *kernels.Tensor {
	be, w, cfg := r.be, &r.m.w, &r.m.cfg
	bt, h, wd := x.Dim(0), x.Dim(2), x.Dim(3)
	c := cfg.Dims[0]
	if cfg.PatchEmbed == 1 {
		out := r.buf("stage0", bt, c, h/4, wd/4)
		be.Conv2d(out, x, w.pe0W, w.pe0B, kernels.Conv2dParams{StrideH: 4, StrideW: 4})
		r.ln2d(out, out, w.peN0W, w.peN0B)
		return out
	}
	s2 := kernels.Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	h1, w1 := (h+1)/2, (wd+1)/2
	mid := r.buf("stem.mid", bt, c/2, h1, w1)
	be.Conv2d(mid, x, w.pe0W, w.pe0B, s2)
	r.ln2d(mid, mid, w.peN0W, w.peN0B)
	be.Unary(mid, mid, kernels.ActGELU)
	out := r.buf("stage0", bt, c, (h1+1)/2, (w1+1)/2)
	be.Conv2d(out, mid, w.pe1W, w.pe1B, s2)
	r.ln2d(out, out, w.peN1W, w.peN1B)
	return out
}

// downsample joins stage i to i+1: v2/v3 conv (k2 s2 / k3 s2 p1) → LN;
// v1 PatchMerging2D (pad to even, 2×2 space-to-depth in the order
// x[0::2,0::2], x[1::2,0::2], x[0::2,1::2], x[1::2,1::2], LN, Linear).
func (r *run) downsample(d *downWeights, x *kernels.Tensor, i int) *kernels.Tensor {
	be, cfg := r.be, &r.m.cfg
	bt, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	next := cfg.Dims[i+1]
	tag := fmt.Sprint("stage", i+1) // never aliases x, the map of stage i
	switch cfg.Downsample {
	case 1:
		eh, ew := h+h%2, w+w%2
		src := x
		if eh != h || ew != w {
			src = r.buf("merge.pad", bt, c, eh, ew)
			be.CopyBox(src, []int{0, 0, 0, 0}, x, []int{0, 0, 0, 0}, []int{bt, c, h, w})
		}
		s2d := r.buf("merge.s2d", bt, 4*c, eh/2, ew/2)
		spaceToDepth(be, s2d, src)
		h2, w2 := eh/2, ew/2
		r.ln2d(s2d, s2d, d.normW, d.normB)
		out := r.buf(tag, bt, next, h2, w2)
		r.pointwise(out, s2d, d.reduction, nil)
		return out
	case 2:
		out := r.buf(tag, bt, next, h/2, w/2)
		be.Conv2d(out, x, d.convW, d.convB, kernels.Conv2dParams{StrideH: 2, StrideW: 2})
		r.ln2d(out, out, d.normW, d.normB)
		return out
	default:
		out := r.buf(tag, bt, next, (h+1)/2, (w+1)/2)
		be.Conv2d(out, x, d.convW, d.convB, kernels.Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1})
		r.ln2d(out, out, d.normW, d.normB)
		return out
	}
}

// block is one VSSBlock, in place on x (Bt, C, H, W):
// x += SS2D(norm(x)); x += fc2(GELU(fc1(norm2(x)))) when there is an MLP.
func (r *run) block(b *blockWeights, x *kernels.Tensor) {
	s := x.Shape()
	t := r.buf("block.norm", s...)
	r.ln2d(t, x, b.normW, b.normB)
	y := r.buf("block.branch", s...)
	r.ss2d(&b.op, x, t, y) // x += SS2D(t)
	if b.fc1W == nil {
		return
	}
	r.ln2d(t, x, b.norm2W, b.norm2B)
	hid := r.buf("block.hidden", s[0], b.fc1W.Dim(0), s[2], s[3])
	r.pointwiseAct(hid, t, b.fc1W, b.fc1B, kernels.ActGELU)
	r.pointwiseAdd(x, hid, b.fc2W, b.fc2B, y)
}

// ss2d is the SS2D module (forward_type v05_noz, or with the z gate when
// gated): in_proj → depthwise conv → SiLU → cross-scan → per-direction x_proj
// and dt_proj → one selective scan over 4·Di channels with grouped B/C →
// cross-merge → out_norm (→ ·SiLU(z)) → out_proj, whose result is added to
// dst (the residual connection). dst, x and tmp (scratch for backends
// without kernels.FusedPointwise) are (Bt, Dm, H, W); dst must not alias x.
func (r *run) ss2d(p *ss2dWeights, dst, x, tmp *kernels.Tensor) {
	be := r.be
	bt, h, w := x.Dim(0), x.Dim(2), x.Dim(3)
	l := h * w
	di, rk, n := p.di, p.r, p.n
	zero4 := []int{0, 0, 0, 0}

	proj := r.buf("ss2d.in", bt, p.inProj.Dim(0), h, w)
	r.pointwise(proj, x, p.inProj, nil)
	xc, z := proj, (*kernels.Tensor)(nil)
	if p.gated { // x = first Di channels, z = SiLU(second Di)
		xc = r.buf("ss2d.x", bt, di, h, w)
		be.CopyBox(xc, zero4, proj, zero4, []int{bt, di, h, w})
		z = r.buf("ss2d.z", bt, di, h, w)
		be.CopyBox(z, zero4, proj, []int{0, di, 0, 0}, []int{bt, di, h, w})
		be.Unary(z, z, kernels.ActSiLU)
	}
	pad := p.kernelSize / 2
	xs := r.buf("ss2d.xs", bt, 2, di, l)
	conv := r.buf("ss2d.conv", bt, di, h, w)
	if bt == 1 && xs.Data != nil { // host memory: the conv writes direction 0 in place
		conv = xs.Reshape(2, di, h, w).Narrow0(0, 1)
	}
	be.Conv2d(conv, xc, p.conv, p.convBias, kernels.Conv2dParams{PadH: pad, PadW: pad, Groups: di})
	be.Unary(conv, conv, kernels.ActSiLU)

	// Directions 2 and 3 read the sequences of 0 and 1 backwards: they run
	// as reverse scans over the same two sequences (x_proj and dt_proj act
	// per position, so their outputs are simply in forward order), which
	// saves the flipped copies of the cross-scan and the cross-merge.
	r.scan.CrossScanPair(xs, conv)
	// x_dbl[b,k] = x_proj_weight[k] · xs[b,k]: (R+2N, L) per direction;
	// directions k and k+2 read the same sequence, so one MatMul computes
	// both pairs (row block h of xdbl[b,k] is direction k + 2h).
	xdbl := r.buf("ss2d.xdbl", bt*2, 2*(rk+2*n), l)
	be.MatMul(xdbl, r.tile(p.xProjBoth, bt), xs.Reshape(bt*2, di, l), false, false)
	// On a backend that projects Δ inside the scan (the CPU), the reverse
	// pair also adds its outputs into the forward pair's (Accumulate), so
	// the cross-merge starts from the pair sums.
	dps, fusedDelta := be.(kernels.DeltaProjScanner)
	var ys [2]*kernels.Tensor
	for half := range ys {
		q := &p.pair[half]
		tag := fmt.Sprint("ss2d.", half, ".")
		row := half * (rk + 2*n)
		dtLow := r.buf(tag+"dtlow", bt*2, rk, l)
		be.CopyBox(dtLow, []int{0, 0, 0}, xdbl, []int{0, row, 0}, []int{bt * 2, rk, l})
		bs := r.buf(tag+"B", bt, 2, n, l)
		be.CopyBox(bs.Reshape(bt*2, n, l), []int{0, 0, 0}, xdbl, []int{0, row + rk, 0}, []int{bt * 2, n, l})
		cs := r.buf(tag+"C", bt, 2, n, l)
		be.CopyBox(cs.Reshape(bt*2, n, l), []int{0, 0, 0}, xdbl, []int{0, row + rk + n, 0}, []int{bt * 2, n, l})
		ys[half] = r.buf(tag+"ys", bt, 2, di, l)
		if fusedDelta && half == 1 {
			ys[1] = ys[0]
		}
		args := &kernels.ScanArgs{
			U: xs.Reshape(bt, 2*di, l),
			A: q.a, B: bs, C: cs, D: q.ds,
			DeltaBias: q.dtBias, DeltaSoftplus: true,
			Out: ys[half].Reshape(bt, 2*di, l), Reverse: half == 1,
			Accumulate: fusedDelta && half == 1,
		}
		// dts[b,k] = dt_projs_weight[k] · dts_low[b,k]: (Di, L); no bias
		// here. Made inside the scan, block by block, where the backend
		// can (the CPU's N = 1 scan).
		if fusedDelta {
			dps.SelectiveScanDeltaProj(args, q.dtProj.Reshape(2*di, rk), dtLow.Reshape(bt, 2, rk, l))
			continue
		}
		dts := r.buf(tag+"dts", bt*2, di, l)
		be.MatMul(dts, r.tile(q.dtProj, bt), dtLow, false, false)
		args.Delta = dts.Reshape(bt, 2*di, l)
		be.SelectiveScan(args)
	}
	y := r.buf("ss2d.y", bt, di, h, w)
	if fusedDelta {
		r.scan.CrossMergeSum(y, ys[0])
	} else {
		r.scan.CrossMergePair(y, ys[0], ys[1])
	}
	r.ln2d(y, y, p.outNormW, p.outNormB)
	if z != nil {
		be.Mul(y, y, z)
	}
	r.pointwiseAdd(dst, y, p.outProj, nil, tmp)
}

// spaceToDepth is PatchMerging2D's gather of an even-sized src (Bt, C, H, W)
// into dst (Bt, 4C, H/2, W/2): channel block k holds x[0::2, 0::2],
// x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] for k = 0..3 (odd row before
// odd column, the Swin order). Viewing src as (Bt, C, H/2, a, W/2, b), dst is
// its permutation to (Bt, b, a, C, H/2, W/2): channel (2b+a)·C + c.
func spaceToDepth(be kernels.Backend, dst, src *kernels.Tensor) {
	bt, c, h, w := src.Dim(0), src.Dim(1), src.Dim(2), src.Dim(3)
	h2, w2 := h/2, w/2
	be.Permute(dst.Reshape(bt, 2, 2, c, h2, w2), src.Reshape(bt, c, h2, 2, w2, 2), 0, 5, 3, 1, 2, 4)
}
