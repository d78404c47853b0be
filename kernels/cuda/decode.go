package cuda

import (
	"sync"

	"github.com/gomamba/gomamba/kernels"
)

// DecodeMaxRows is the most rows (batch entries) the Decode* ops take: the
// matrix-vector kernel keeps one accumulator per row in registers.
const DecodeMaxRows = 8

// decodeKernelNames are the kernels of src/decode.cu. They are looked up on
// first use rather than at Open, so that a PTX without them (an older
// GOMAMBA_CUDA_PTX file) leaves the rest of the backend working and
// DecodeKernels reports false.
var decodeKernelNames = []string{"gm_dec_gemv", "gm_dec_conv", "gm_dec_scan"}

type decodeFuncs struct {
	once  sync.Once
	funcs map[string]cuFunc // nil when the PTX lacks one of them
}

var (
	decodeMu  sync.Mutex
	decodeFns = map[*Backend]*decodeFuncs{}
)

func (be *Backend) decodeFuncs() map[string]cuFunc {
	decodeMu.Lock()
	d := decodeFns[be]
	if d == nil {
		d = &decodeFuncs{}
		decodeFns[be] = d
	}
	decodeMu.Unlock()
	d.once.Do(func() {
		m := map[string]cuFunc{}
		for _, name := range decodeKernelNames {
			f, err := drvFunc(be.ctx, be.mod, name)
			if err != nil {
				return
			}
			m[name] = f
		}
		d.funcs = m
	})
	return d.funcs
}

// DecodeKernels reports whether the loaded PTX has the decode-step kernels
// (DecodeLinear, DecodeConvStep, DecodeScanStep may only be called then).
func (be *Backend) DecodeKernels() bool { return be.decodeFuncs() != nil }

func (be *Backend) launchDecode(name string, grid, block uint32, args []uint64) {
	f, ok := be.decodeFuncs()[name]
	if !ok {
		panic("cuda: the loaded PTX has no kernel " + name + " (check DecodeKernels)")
	}
	be.setErr(drvLaunch(be.ctx, f, [3]uint32{grid, 1, 1}, [3]uint32{block, 1, 1}, be.stream, args))
}

// DecodeLinear is the matrix-vector product of decoding: for x (M, K) with
// M ≤ DecodeMaxRows rows, w (N, K), bias (N) or nil and dst (M, N),
//
//	dst[m, n] = (dst[m, n] if accumulate) + (bias[n] + Σ_k xs[m, k]·w[n, k])
//
// where xs = x, or RMSNorm(x)·norm over each row of K values (as RMSNorm
// with weight norm and eps) when norm is non-nil. One warp per output, with
// float4 loads when K is a multiple of 4: it reads w once at memory speed,
// where Linear's tiled GEMM would spread few rows over 64-row tiles. dst
// must not alias x.
func (be *Backend) DecodeLinear(dst, x, norm, w, bias *kernels.Tensor, eps float32, accumulate bool) {
	const op = "DecodeLinear"
	if w.Rank() != 2 || x.Rank() != 2 || dst.Rank() != 2 || x.Dim(1) != w.Dim(1) || dst.Dim(1) != w.Dim(0) ||
		dst.Dim(0) != x.Dim(0) || x.Dim(0) > DecodeMaxRows || (bias != nil && bias.Len() != w.Dim(0)) ||
		(norm != nil && norm.Len() != w.Dim(1)) {
		panicf(op, "x %v, norm %v, w %v, bias %v, dst %v (at most %d rows)", x, norm, w, bias, dst, DecodeMaxRows)
	}
	m, n, k := x.Dim(0), w.Dim(0), w.Dim(1)
	if m == 0 || n == 0 {
		return
	}
	// S warps per output column (split K) while that keeps at least one
	// float4 per lane in each slice and the grid has fewer than ~32 warps
	// per SM: few or long columns (x_proj, out_proj) otherwise leave the
	// GPU with too few loads in flight.
	const warps = threads / 32
	s := 1
	for s < warps && n*s < 32*be.sms && k/(2*s) >= 128 {
		s <<= 1
	}
	args := []uint64{be.dev(op, x), be.dev(op, norm), be.dev(op, w), be.dev(op, bias), be.dev(op, dst),
		i64(m), i64(n), i64(k), f32bits(eps), b64(accumulate), b64(k%4 == 0), i64(s)}
	cols := warps / s
	blocks := min((n+cols-1)/cols, be.sms*8)
	be.launchDecode("gm_dec_gemv", uint32(blocks), threads, args)
}

// DecodeConvStep advances Mamba's rolling conv state by one token, taking
// its input from in_proj's output: state (Bt, E, K) shifts left and takes
// x = xz[:, :E] (xz is (Bt, 2E), x then z), and
// xc (Bt, E) = silu(bias + Σ_k w[e, k]·state[b, e, k]) (Conv1dStep with
// ActSiLU). w is (E, K), bias (E) or nil.
func (be *Backend) DecodeConvStep(xc, state, xz, w, bias *kernels.Tensor) {
	const op = "DecodeConvStep"
	if state.Rank() != 3 || xc.Rank() != 2 || xz.Rank() != 2 || w.Rank() != 2 {
		panicf(op, "xc %v, state %v, xz %v, w %v", xc, state, xz, w)
	}
	bt, e, k := state.Dim(0), state.Dim(1), state.Dim(2)
	if xc.Dim(0) != bt || xc.Dim(1) != e || xz.Dim(0) != bt || xz.Dim(1) != 2*e || w.Dim(0) != e || w.Dim(1) != k ||
		k < 1 || (bias != nil && bias.Len() != e) {
		panicf(op, "xc %v, state %v, xz %v, w %v, bias %v", xc, state, xz, w, bias)
	}
	if bt*e == 0 {
		return
	}
	args := []uint64{be.dev(op, state), be.dev(op, xz), be.dev(op, w), be.dev(op, bias), be.dev(op, xc),
		i64(bt), i64(e), i64(k)}
	be.launchDecode("gm_dec_conv", uint32((bt*e+threads-1)/threads), threads, args)
}

// DecodeScanStep is dt_proj, softplus and SelectiveStateUpdate fused, with
// the operands where the decode step has them: state (Bt, E, N) updated in
// place, xc (Bt, E) the conv output, xz (Bt, 2E) with z = xz[:, E:],
// xdbl (Bt, R+2N) = x_proj output (dt_low | B | C), dtW (E, R), dtB (E) or
// nil, a (E, N) = A, d (E) or nil; y (Bt, E) receives
//
//	dt = softplus(dtB + dtW·dt_low); state = state·exp(dt·A) + dt·B·xc
//	y = (Σ_n state·C + d·xc)·silu(z)
//
// N must be at most 32 (one lane per state).
func (be *Backend) DecodeScanStep(y, state, xc, xz, xdbl, dtW, dtB, a, d *kernels.Tensor) {
	const op = "DecodeScanStep"
	if state.Rank() != 3 || y.Rank() != 2 || xc.Rank() != 2 || xz.Rank() != 2 || xdbl.Rank() != 2 || dtW.Rank() != 2 || a.Rank() != 2 {
		panicf(op, "y %v, state %v, xc %v, xz %v, xdbl %v, dtW %v, A %v", y, state, xc, xz, xdbl, dtW, a)
	}
	bt, e, n := state.Dim(0), state.Dim(1), state.Dim(2)
	r := dtW.Dim(1)
	if n > 32 || !kernels.SameShape(y, xc) || xc.Dim(0) != bt || xc.Dim(1) != e || xz.Dim(0) != bt || xz.Dim(1) != 2*e ||
		xdbl.Dim(0) != bt || xdbl.Dim(1) != r+2*n || dtW.Dim(0) != e || a.Dim(0) != e || a.Dim(1) != n ||
		(dtB != nil && dtB.Len() != e) || (d != nil && d.Len() != e) {
		panicf(op, "y %v, state %v, xc %v, xz %v, xdbl %v, dtW %v, dtB %v, A %v, D %v (N at most 32)", y, state, xc, xz, xdbl, dtW, dtB, a, d)
	}
	if bt*e == 0 || n == 0 {
		return
	}
	g := 1
	for g < n {
		g <<= 1
	}
	args := []uint64{be.dev(op, state), be.dev(op, xc), be.dev(op, xz), be.dev(op, xdbl), be.dev(op, dtW), be.dev(op, dtB),
		be.dev(op, a), be.dev(op, d), be.dev(op, y), i64(bt), i64(e), i64(n), i64(r), i64(g)}
	total := bt * e * g
	be.launchDecode("gm_dec_scan", uint32((total+threads-1)/threads), threads, args)
}
