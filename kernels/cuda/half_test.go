package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// roundBF16 rounds f to the nearest bfloat16 (ties to even), as a float32.
func roundBF16(f float32) float32 {
	if f != f {
		return f
	}
	u := math.Float32bits(f)
	u += 0x7fff + (u>>16)&1
	return math.Float32frombits(u &^ 0xffff)
}

// roundF16 rounds f to the nearest IEEE binary16 value (ties to even,
// subnormals below 2^-14, ±Inf from 65520 up), as a float32.
func roundF16(f float32) float32 {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return f
	}
	a := math.Abs(x)
	if a >= 65520 {
		return float32(math.Copysign(math.Inf(1), x))
	}
	_, e := math.Frexp(a) // a = m·2^e, m in [0.5, 1): the exponent is e−1
	q := math.Ldexp(1, max(e-1, -14)-10)
	return float32(math.Copysign(math.RoundToEven(a/q)*q, x))
}

// roundTo returns a copy of t with every value rounded to dt.
func roundTo(t *kernels.Tensor, dt Dtype) *kernels.Tensor {
	r := t.Clone()
	for i, v := range r.Data {
		if dt == BF16 {
			r.Data[i] = roundBF16(v)
		} else {
			r.Data[i] = roundF16(v)
		}
	}
	return r
}

// halfFromHost uploads a host fp32 tensor and converts it on the device.
func halfFromHost(be *Backend, t *kernels.Tensor, dt Dtype) *HalfTensor {
	d := be.FromHost(t)
	h := be.ToHalf(d, dt)
	be.Free(d)
	return h
}

// halfToHost converts h back to fp32 on the device and downloads it.
func halfToHost(t testing.TB, be *Backend, h *HalfTensor) *kernels.Tensor {
	t.Helper()
	d := be.FromHalf(h)
	out := be.ToHost(d)
	be.Free(d)
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHalfRoundTrip checks ToHalf/FromHalf bit for bit against the host
// rounding (nearest even): normal values at many scales, ties, fp16
// subnormals and overflow, signed zeros, infinities and NaN, odd lengths.
func TestHalfRoundTrip(t *testing.T) {
	be := openGPU(t)
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1 + 1.0/256, 1 + 3.0/256, 1 + 1.0/2048, 1 + 3.0/2048,
		65504, 65519, 65520, -70000, 6.1e-5, 3e-6, 1e-8, 1e-40, 3.3e38, -3.4e38, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN())}
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 2, 7, 1000, 4097} {
		x := kernels.New(n)
		for i := range x.Data {
			x.Data[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(13)-6)))
		}
		copy(x.Data, special)
		for _, dt := range []Dtype{BF16, FP16} {
			h := halfFromHost(be, x, dt)
			if h.Len() != n || h.Dtype() != dt || !kernels.EqualShape(h.Shape(), x.Shape()) {
				t.Fatalf("%v: %v from %v", dt, h, x)
			}
			got := halfToHost(t, be, h)
			h.Free()
			want := roundTo(x, dt)
			for i := range want.Data {
				g, w := got.Data[i], want.Data[i]
				if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
					t.Errorf("%v n %d: %g -> %g, want %g", dt, n, x.Data[i], g, w)
					break
				}
			}
		}
	}
}

// halfScanCase is one shape and option set of TestSelectiveScanHalfVsCPU.
type halfScanCase struct {
	name        string
	bt, d, l, n int
	bc          string // scanBC kind: inv, var or grp
	g           int
	rev, opts   bool // opts: D, z, delta_bias and softplus
	acc         bool
}

// TestSelectiveScanHalfVsCPU compares the 16-bit scan with the CPU
// backend's fp32 scan run on the same inputs rounded to bf16/fp16 on the
// host. Tolerance: the output's own rounding, at most half an ulp, i.e.
// 2^-8 (bf16) or 2^-11 (fp16) of |y|, doubled because fp32 differences
// between the two scans can move y across a rounding boundary (a whole
// ulp), plus the fp32 scan's own tolerance 2e-5·max(1, max|y|) (which also
// covers fp16's subnormal outputs, absolute error ≤ 2^-25). LastState is
// fp32: 2e-5·max(1, max|h|).
func TestSelectiveScanHalfVsCPU(t *testing.T) {
	be := openGPU(t)
	cases := []halfScanCase{
		{"n1_var", 2, 33, 37, 1, "var", 1, false, true, false},
		{"n4_grouped_rev_acc", 2, 64, 50, 4, "grp", 4, true, true, true},
		{"n16_var_rev", 2, 40, 33, 16, "var", 1, true, true, false},
		{"n16_var_L1", 1, 40, 1, 16, "var", 1, false, true, false},
		{"n16_inv_acc", 2, 35, 19, 16, "inv", 1, false, true, true},
		{"n16_grp1_long", 2, 97, 301, 16, "grp", 1, false, true, false},
		{"n16_grouped_rev_long", 1, 96, 259, 16, "grp", 3, true, true, true},
		{"n64_var", 1, 33, 45, 64, "var", 1, false, true, false},
		{"n64_grouped_rev_acc", 2, 66, 29, 64, "grp", 3, true, false, true},
		{"n3_odd_rev_plain", 3, 31, 17, 3, "var", 1, true, false, false},
		{"n12_inv_rev", 1, 45, 23, 12, "inv", 1, true, true, false},
	}
	for _, dt := range []Dtype{BF16, FP16} {
		eps := 1.0 / 256
		if dt == FP16 {
			eps = 1.0 / 2048
		}
		for i, c := range cases {
			t.Run(fmt.Sprintf("%v_%s", dt, c.name), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(31+i), uint64(dt)))
				u := randT(r, 1, c.bt, c.d, c.l)
				delta := uniT(r, 0, 0.5, c.bt, c.d, c.l)
				if c.opts {
					delta = randT(r, 0.5, c.bt, c.d, c.l)
				}
				bm, cm := scanBC(r, c.bc, c.bt, c.d, c.g, c.n, c.l), scanBC(r, c.bc, c.bt, c.d, c.g, c.n, c.l)
				a := scanNegA(r, c.d, c.n)
				prior := randT(r, 1, c.bt, c.d, c.l)
				if !c.acc {
					prior = nanTensor(c.bt, c.d, c.l)
				}
				want := roundTo(prior, dt)
				wantLast := kernels.New(c.bt, c.d, c.n)
				ref := &kernels.ScanArgs{U: roundTo(u, dt), Delta: roundTo(delta, dt), A: a, B: roundTo(bm, dt), C: roundTo(cm, dt),
					Out: want, LastState: wantLast, Reverse: c.rev, Accumulate: c.acc}
				var z *kernels.Tensor
				if c.opts {
					z = randT(r, 1, c.bt, c.d, c.l)
					ref.D, ref.Z, ref.DeltaBias, ref.DeltaSoftplus = randT(r, 1, c.d), roundTo(z, dt), uniT(r, -4, -2, c.d), true
				}
				kernels.CPU().SelectiveScan(ref)

				ga := &HalfScanArgs{U: halfFromHost(be, u, dt), Delta: halfFromHost(be, delta, dt), A: be.FromHost(a),
					B: halfFromHost(be, bm, dt), C: halfFromHost(be, cm, dt), Out: halfFromHost(be, prior, dt),
					LastState: poisoned(be, c.bt, c.d, c.n), DeltaSoftplus: c.opts, Reverse: c.rev, Accumulate: c.acc}
				if c.opts {
					ga.D, ga.Z, ga.DeltaBias = be.FromHost(ref.D), halfFromHost(be, z, dt), be.FromHost(ref.DeltaBias)
				}
				be.SelectiveScanHalf(ga)
				got := halfToHost(t, be, ga.Out)
				scale := 2e-5 * math.Max(1, maxAbs(want.Data))
				worst := 0.0
				for k, w := range want.Data {
					d := math.Abs(float64(got.Data[k]) - float64(w))
					if !(d <= 2*eps*math.Abs(float64(w))+scale) {
						t.Fatalf("out[%d] = %g, want %g (|diff| %.3g > %.3g)", k, got.Data[k], w, d, 2*eps*math.Abs(float64(w))+scale)
					}
					worst = math.Max(worst, d/(math.Abs(float64(w))+1e-30))
				}
				dl := expectClose(t, be, "last_state", ga.LastState, wantLast, 2e-5*math.Max(1, maxAbs(wantLast.Data)))
				t.Logf("max relative |diff| of out %.3g (eps %.3g), last state %.3g", worst, eps, dl)
				for _, h := range []*HalfTensor{ga.U, ga.Delta, ga.B, ga.C, ga.Z, ga.Out} {
					h.Free()
				}
				for _, x := range []*kernels.Tensor{ga.A, ga.D, ga.DeltaBias, ga.LastState} {
					be.Free(x)
				}
			})
		}
	}
}

// BenchmarkSelectiveScanHalf times the bf16 and fp16 scans at Bt 64, D 384,
// L 1024, N 16 (var B/C, D, z, delta_bias, softplus; forwards and reversed)
// beside the fp32 scan on the same values, each reporting the bandwidth of
// the bytes it actually moves (u, delta, z, B, C read and out written once:
// 2 bytes per element for bf16/fp16, 4 for fp32) and a device-to-device
// memcpy of the same traffic, all in the same run.
func BenchmarkSelectiveScanHalf(b *testing.B) {
	be := openGPU(b)
	const bt, d, l, n = 64, 384, 1024, 16
	f := benchScanArgs(be, rand.New(rand.NewPCG(5, 6)), bt, d, l, n)
	defer freeScanArgs(be, f)
	elems := 4*bt*d*l + 2*bt*n*l
	for _, dt := range []Dtype{0, BF16, FP16} {
		var h *HalfScanArgs
		if dt != 0 {
			h = &HalfScanArgs{U: be.ToHalf(f.U, dt), Delta: be.ToHalf(f.Delta, dt), A: f.A, B: be.ToHalf(f.B, dt), C: be.ToHalf(f.C, dt),
				D: f.D, Z: be.ToHalf(f.Z, dt), DeltaBias: f.DeltaBias, DeltaSoftplus: true, Out: be.ToHalf(f.Out, dt)}
		}
		for _, rev := range []bool{false, true} {
			name, bytes := "fp32", 4*elems
			if dt != 0 {
				name, bytes = dt.String(), 2*elems
			}
			name += fmt.Sprintf("_Bt%d_D%d_L%d_N%d", bt, d, l, n)
			if rev {
				name += "_rev"
			}
			b.Run(name, func(b *testing.B) {
				var sec float64
				if h == nil {
					f.Reverse = rev
					sec = gpuLoop(b, be, func() { be.SelectiveScan(f) })
				} else {
					h.Reverse = rev
					sec = gpuLoop(b, be, func() { be.SelectiveScanHalf(h) })
				}
				reportScanGBs(b, be, sec, bytes)
			})
		}
		if h != nil {
			for _, x := range []*HalfTensor{h.U, h.Delta, h.B, h.C, h.Z, h.Out} {
				x.Free()
			}
		}
	}
}
