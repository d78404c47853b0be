package cuda

import (
	"math"

	"github.com/gomamba/gomamba/kernels"
)

// Convolutions: the depthwise conv1d (causal, anti-causal, one-step) and Conv2d.

// Conv1dCausal is the depthwise causal conv1d (x, dst (Bt, D, L); w (D, K)).
func (be *Backend) Conv1dCausal(dst, x, w, bias *kernels.Tensor, act kernels.Activation) {
	if x.Rank() != 3 || !kernels.SameShape(dst, x) || w.Rank() != 2 || w.Dim(0) != x.Dim(1) || (bias != nil && bias.Len() != x.Dim(1)) {
		panicf("Conv1dCausal", "x %v, w %v, bias %v, dst %v", x, w, bias, dst)
	}
	be.conv1d("Conv1dCausal", dst, x, w, bias, act, false)
}

// gm_conv1d_causal (src/conv.cu): each warp computes conv1dSeg consecutive
// outputs of one row, staged in its own shared-memory strip; kernels wider
// than conv1dMaxK taps, or more row segments than 32-bit index math covers,
// run on gm_conv1d_naive. H200, SiLU, x (22, 384, 6085): 248 µs, 3.07 TB/s
// against a 4.07 TB/s memcpy in the same run (the 2-D-grid kernel it
// replaces: 456 µs, 1.20 TB/s); (128, 384, 197): 59 µs against 105.
const (
	conv1dSeg   = 256
	conv1dWarps = 8
	conv1dMaxK  = 16
)

// conv1d launches gm_conv1d_causal (or gm_conv1d_naive); rev selects the
// anti-causal direction.
func (be *Backend) conv1d(op string, dst, x, w, bias *kernels.Tensor, act kernels.Activation, rev bool) {
	rows, l, k := x.Dim(0)*x.Dim(1), x.Dim(2), w.Dim(1)
	if rows == 0 || l == 0 {
		return
	}
	args := []uint64{be.dev(op, x), be.dev(op, w), be.dev(op, bias), be.dev(op, dst),
		i64(x.Dim(0)), i64(x.Dim(1)), i64(l), i64(k), i64(int(act)), b64(rev)}
	segs := rows * ((l + conv1dSeg - 1) / conv1dSeg)
	if k > conv1dMaxK || segs >= math.MaxInt32 || k*x.Dim(1) >= math.MaxInt32 {
		be.conv1dNaive(args, rows, l)
		return
	}
	blocks := (segs + conv1dWarps - 1) / conv1dWarps
	be.launch("gm_conv1d_causal", [3]uint32{uint32(blocks), 1, 1}, [3]uint32{32 * conv1dWarps, 1, 1}, args)
}

// conv1dNaive launches gm_conv1d_naive on conv1d's arguments: a thread per
// position along the grid's x axis, the rows of length l along y.
func (be *Backend) conv1dNaive(args []uint64, rows, l int) {
	be.launch("gm_conv1d_naive", [3]uint32{uint32((l + threads - 1) / threads), uint32(min(rows, 65535)), 1}, [3]uint32{threads, 1, 1}, args)
}

// Conv1dStep advances the rolling conv state (Bt, D, K) by one token.
func (be *Backend) Conv1dStep(dst, state, x, w, bias *kernels.Tensor, act kernels.Activation) {
	if state.Rank() != 3 || x.Rank() != 2 || x.Dim(0) != state.Dim(0) || x.Dim(1) != state.Dim(1) ||
		!kernels.SameShape(dst, x) || w.Rank() != 2 || w.Dim(0) != x.Dim(1) || w.Dim(1) != state.Dim(2) ||
		(bias != nil && bias.Len() != x.Dim(1)) {
		panicf("Conv1dStep", "state %v, x %v, w %v, bias %v, dst %v", state, x, w, bias, dst)
	}
	op := "Conv1dStep"
	args := []uint64{be.dev(op, state), be.dev(op, x), be.dev(op, w), be.dev(op, bias), be.dev(op, dst),
		i64(x.Dim(0)), i64(x.Dim(1)), i64(w.Dim(1)), i64(int(act))}
	n := x.Len()
	be.launch("gm_conv1d_step", [3]uint32{uint32((n + threads - 1) / threads), 1, 1}, [3]uint32{threads, 1, 1}, args)
}

// Conv2d is a grouped NCHW cross-correlation.
func (be *Backend) Conv2d(dst, x, w, bias *kernels.Tensor, p kernels.Conv2dParams) {
	sh, sw, g := max(p.StrideH, 1), max(p.StrideW, 1), max(p.Groups, 1)
	if x.Rank() != 4 || w.Rank() != 4 || dst.Rank() != 4 {
		panicf("Conv2d", "x %v, w %v, dst %v", x, w, dst)
	}
	bt, cin, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	cout, kh, kw := w.Dim(0), w.Dim(2), w.Dim(3)
	oh := (h+2*p.PadH-kh)/sh + 1
	ow := (wd+2*p.PadW-kw)/sw + 1
	if cin%g != 0 || cout%g != 0 || w.Dim(1) != cin/g || dst.Dim(0) != bt || dst.Dim(1) != cout || dst.Dim(2) != oh || dst.Dim(3) != ow ||
		(bias != nil && bias.Len() != cout) || p.PadH < 0 || p.PadW < 0 {
		panicf("Conv2d", "x %v, w %v, bias %v, dst %v, params %+v", x, w, bias, dst, p)
	}
	if g == 1 && be.conv2dGEMM(dst, x, w, bias, bt, cin, h, wd, cout, kh, kw, oh, ow, sh, sw, p.PadH, p.PadW) {
		return // dense: im2col + cuBLAS (conv_gemm.go)
	}
	op := "Conv2d"
	if g == cin && cout == cin && kh == 3 && kw == 3 {
		// Depthwise 3x3 (VMamba's SS2D conv): one block per (b, c) plane,
		// a thread per 4 rows of one output column (src/conv.cu).
		planes := bt * cin
		if planes == 0 || oh*ow == 0 {
			return
		}
		block := min(256, ((oh+3)/4*ow+31)/32*32)
		args := []uint64{be.dev(op, x), be.dev(op, w), be.dev(op, bias), be.dev(op, dst),
			i64(planes), i64(cin), i64(h), i64(wd), i64(oh), i64(ow), i64(sh), i64(sw), i64(p.PadH), i64(p.PadW)}
		be.launch("gm_dwconv2d_k3", [3]uint32{uint32(min(planes, math.MaxInt32)), 1, 1}, [3]uint32{uint32(block), 1, 1}, args)
		return
	}
	args := []uint64{be.dev(op, x), be.dev(op, w), be.dev(op, bias), be.dev(op, dst),
		i64(bt), i64(cin), i64(h), i64(wd), i64(cout), i64(kh), i64(kw), i64(oh), i64(ow), i64(sh), i64(sw), i64(p.PadH), i64(p.PadW), i64(g)}
	be.launch1D("gm_conv2d", dst.Len(), args)
}
