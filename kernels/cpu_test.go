package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// rndT returns a host tensor of uniform values in [-scale, scale).
func rndT(r *rand.Rand, scale float64, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32((2*r.Float64() - 1) * scale)
	}
	return t
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// closeTo fails unless |got−want| ≤ atol + rtol·|want| everywhere.
func closeTo(t *testing.T, what string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		d := math.Abs(float64(got[i]) - want[i])
		if math.IsNaN(d) || d > atol+rtol*math.Abs(want[i]) {
			if at < 0 || d > worst || math.IsNaN(d) {
				worst, at = d, i
			}
		}
	}
	if at >= 0 {
		t.Errorf("%s: at %d got %v want %v (|diff| %.3g)", what, at, got[at], want[at], worst)
	}
}

// mustPanic fails unless fn panics with a message containing sub.
func mustPanic(t *testing.T, sub string, fn func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one containing %q", sub)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, sub) {
			t.Errorf("panic %q does not contain %q", msg, sub)
		}
	}()
	fn()
}

func TestLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	be := CPU()
	for _, c := range []struct {
		lead    []int
		n, k    int
		hasBias bool
	}{{[]int{1}, 1, 1, true}, {[]int{7}, 5, 3, true}, {[]int{2, 9}, 13, 17, false}, {[]int{3, 1, 33}, 31, 65, true}, {[]int{4}, 3, 0, true}} {
		x := rndT(r, 1, append(append([]int{}, c.lead...), c.k)...)
		w := rndT(r, 1, c.n, c.k)
		var bias *Tensor
		if c.hasBias {
			bias = rndT(r, 1, c.n)
		}
		dst := New(append(append([]int{}, c.lead...), c.n)...)
		for i := range dst.Data {
			dst.Data[i] = float32(math.NaN())
		}
		be.Linear(dst, x, w, bias)
		m := x.Len() / max(c.k, 1)
		if c.k == 0 {
			m = dst.Len() / c.n
		}
		want := make([]float64, m*c.n)
		for i := range m {
			for j := range c.n {
				s := 0.0
				for p := range c.k {
					s += float64(x.Data[i*c.k+p]) * float64(w.Data[j*c.k+p])
				}
				if bias != nil {
					s += float64(bias.Data[j])
				}
				want[i*c.n+j] = s
			}
		}
		closeTo(t, fmt.Sprintf("Linear %v", c), dst.Data, want, 1e-5, 1e-5)
	}
	mustPanic(t, "kernels: Linear:", func() { be.Linear(New(2, 3), New(2, 4), New(3, 5), nil) })
	mustPanic(t, "kernels: Linear:", func() { be.Linear(New(2, 3), New(2, 4), New(3, 4), New(4)) })
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	be := CPU()
	for _, c := range []struct {
		batch, m, n, k int
		ta, tb         bool
		aRank, bRank   int
	}{
		{1, 3, 5, 7, false, false, 2, 2}, {1, 3, 5, 7, true, false, 2, 2}, {1, 3, 5, 7, false, true, 2, 2}, {1, 3, 5, 7, true, true, 2, 2},
		{4, 9, 2, 11, false, true, 3, 3}, {3, 6, 5, 4, true, false, 3, 2}, {2, 1, 17, 5, false, false, 2, 3}, {2, 5, 5, 0, false, false, 3, 3},
	} {
		mk := func(rank, rows, cols int, trans bool) *Tensor {
			if trans {
				rows, cols = cols, rows
			}
			if rank == 3 {
				return rndT(r, 1, c.batch, rows, cols)
			}
			return rndT(r, 1, rows, cols)
		}
		a := mk(c.aRank, c.m, c.k, c.ta)
		b := mk(c.bRank, c.k, c.n, c.tb)
		var dst *Tensor
		if c.aRank == 3 || c.bRank == 3 {
			dst = New(c.batch, c.m, c.n)
		} else {
			dst = New(c.m, c.n)
		}
		be.MatMul(dst, a, b, c.ta, c.tb)
		nb := dst.Len() / (c.m * c.n)
		want := make([]float64, dst.Len())
		at := func(x *Tensor, bi, i, j int, trans bool) float64 {
			rows, cols := x.Dim(-2), x.Dim(-1)
			off := 0
			if x.Rank() == 3 {
				off = bi * rows * cols
			}
			if trans {
				i, j = j, i
			}
			return float64(x.Data[off+i*cols+j])
		}
		for bi := range nb {
			for i := range c.m {
				for j := range c.n {
					s := 0.0
					for p := range c.k {
						s += at(a, bi, i, p, c.ta) * at(b, bi, p, j, c.tb)
					}
					want[(bi*c.m+i)*c.n+j] = s
				}
			}
		}
		closeTo(t, fmt.Sprintf("MatMul %+v", c), dst.Data, want, 1e-5, 1e-5)
	}
	mustPanic(t, "kernels: MatMul:", func() { be.MatMul(New(2, 3), New(2, 4), New(5, 3), false, false) })
}

func conv1dRef(x, w, bias *Tensor, act Activation) []float64 {
	bt, d, l, k := x.Dim(0), x.Dim(1), x.Dim(2), w.Dim(1)
	out := make([]float64, x.Len())
	for b := range bt {
		for c := range d {
			for t := range l {
				s := 0.0
				for j := range k {
					if i := t - k + 1 + j; i >= 0 {
						s += float64(w.Data[c*k+j]) * float64(x.Data[(b*d+c)*l+i])
					}
				}
				if bias != nil {
					s += float64(bias.Data[c])
				}
				out[(b*d+c)*l+t] = actRef(act, s)
			}
		}
	}
	return out
}

// actRef is the float64 definition of each activation.
func actRef(act Activation, x float64) float64 {
	switch act {
	case ActNone:
		return x
	case ActSiLU:
		return x / (1 + math.Exp(-x))
	case ActGELU:
		return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	case ActGELUTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	case ActSoftplus:
		if x > 20 {
			return x
		}
		return math.Log1p(math.Exp(x))
	case ActExp:
		return math.Exp(x)
	case ActSigmoid:
		return 1 / (1 + math.Exp(-x))
	case ActReLU:
		return math.Max(x, 0)
	case ActNegExp:
		return -math.Exp(x)
	}
	panic("unknown activation")
}

func TestConv1d(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	be := CPU()
	for _, c := range []struct{ bt, d, l, k int }{{1, 1, 1, 4}, {2, 3, 5, 4}, {1, 7, 2, 4}, {3, 5, 33, 3}, {2, 9, 64, 1}} {
		x := rndT(r, 2, c.bt, c.d, c.l)
		w := rndT(r, 1, c.d, c.k)
		bias := rndT(r, 1, c.d)
		for _, act := range []Activation{ActNone, ActSiLU} {
			for _, bb := range []*Tensor{nil, bias} {
				y := New(x.Shape()...)
				be.Conv1dCausal(y, x, w, bb, act)
				closeTo(t, fmt.Sprintf("Conv1dCausal %v %v", c, act), y.Data, conv1dRef(x, w, bb, act), 1e-5, 1e-5)
			}
		}
		// Stepping a zero state token by token reproduces the full conv.
		full := New(x.Shape()...)
		be.Conv1dCausal(full, x, w, bias, ActSiLU)
		stepConv1d(be, x, w, bias, ActSiLU, func(tt int, yt *Tensor) {
			want := make([]float64, c.bt*c.d)
			for i := range want {
				want[i] = float64(full.Data[i*c.l+tt])
			}
			closeTo(t, fmt.Sprintf("Conv1dStep %v t=%d", c, tt), yt.Data, want, 1e-6, 1e-6)
		})
	}
	mustPanic(t, "kernels: Conv1dCausal:", func() { be.Conv1dCausal(New(1, 2, 3), New(1, 2, 3), New(3, 4), nil, ActNone) })
	mustPanic(t, "kernels: Conv1dStep:", func() { be.Conv1dStep(New(1, 2), New(1, 2, 3), New(1, 2), New(2, 4), nil, ActNone) })
}

func conv2dRef(x, w, bias *Tensor, p Conv2dParams, oh, ow int) []float64 {
	sh, sw, g := max(p.StrideH, 1), max(p.StrideW, 1), max(p.Groups, 1)
	bt, cin, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	cout, cig, kh, kw := w.Dim(0), w.Dim(1), w.Dim(2), w.Dim(3)
	cog := cout / g
	out := make([]float64, bt*cout*oh*ow)
	for b := range bt {
		for o := range cout {
			gi := o / cog
			for y := range oh {
				for xx := range ow {
					s := 0.0
					if bias != nil {
						s = float64(bias.Data[o])
					}
					for ci := range cig {
						for i := range kh {
							for j := range kw {
								iy, ix := y*sh-p.PadH+i, xx*sw-p.PadW+j
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(w.Data[((o*cig+ci)*kh+i)*kw+j]) * float64(x.Data[((b*cin+gi*cig+ci)*h+iy)*wd+ix])
							}
						}
					}
					out[((b*cout+o)*oh+y)*ow+xx] = s
				}
			}
		}
	}
	return out
}

func TestConv2d(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	be := CPU()
	cases := []struct {
		name              string
		bt, cin, h, w     int
		cout, kh, kw      int
		p                 Conv2dParams
		bias, smallBudget bool
	}{
		{"patch16", 1, 3, 32, 48, 8, 16, 16, Conv2dParams{StrideH: 16, StrideW: 16}, true, false},
		{"patch4-odd", 2, 3, 13, 9, 5, 4, 4, Conv2dParams{StrideH: 4, StrideW: 4}, true, false},
		{"3x3s2p1", 2, 3, 15, 11, 6, 3, 3, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, true, false},
		{"3x3s2p1-banded", 1, 4, 17, 13, 7, 3, 3, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, false, true},
		{"3x3s2p1-wide", 1, 3, 9, 40, 4, 3, 3, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, true, false}, // SIMD stride-2 im2col rows
		{"2x2s2-odd", 1, 2, 6, 37, 3, 2, 2, Conv2dParams{StrideH: 2, StrideW: 2}, false, false},
		{"pointwise", 2, 5, 7, 3, 9, 1, 1, Conv2dParams{}, true, false},
		{"depthwise3x3", 2, 6, 9, 7, 6, 3, 3, Conv2dParams{PadH: 1, PadW: 1, Groups: 6}, true, false},
		{"depthwise3x3s2", 1, 5, 8, 9, 5, 3, 3, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 5}, false, false},
		{"depthwise7x7", 1, 3, 10, 10, 3, 7, 7, Conv2dParams{PadH: 3, PadW: 3, Groups: 3}, true, false},
		{"depthwise3x3p0", 2, 4, 5, 4, 4, 3, 3, Conv2dParams{Groups: 4}, true, false},
		{"depthwise5x5s2p2", 1, 3, 6, 7, 3, 5, 5, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Groups: 3}, true, false},
		{"depthwise-wide-kernel", 1, 2, 3, 3, 2, 3, 7, Conv2dParams{PadH: 1, PadW: 3, Groups: 2}, false, false},
		{"depthwise-big", 2, 96, 28, 28, 96, 3, 3, Conv2dParams{PadH: 1, PadW: 1, Groups: 96}, true, false},
		{"depthwise3x3-h1w2", 1, 3, 1, 2, 3, 3, 3, Conv2dParams{PadH: 1, PadW: 1, Groups: 3}, true, false},
		{"depthwise3x3-h2w3", 2, 2, 2, 3, 2, 3, 3, Conv2dParams{PadH: 1, PadW: 1, Groups: 2}, false, false},
		{"depthwise3x3-w1", 1, 2, 4, 1, 2, 3, 3, Conv2dParams{PadH: 1, PadW: 1, Groups: 2}, true, false},
		{"grouped2", 2, 4, 6, 5, 6, 3, 2, Conv2dParams{PadH: 1, Groups: 2}, true, false},
		{"multiplier", 1, 2, 5, 5, 4, 3, 3, Conv2dParams{PadH: 1, PadW: 1, Groups: 2}, true, true},
		{"rect-stride", 1, 2, 9, 12, 3, 2, 3, Conv2dParams{StrideH: 1, StrideW: 3, PadW: 2}, true, false},
		{"wide-kernel-narrow", 1, 2, 3, 1, 3, 3, 5, Conv2dParams{PadH: 1, PadW: 2}, true, false},
		{"wide-kernel-s2", 2, 2, 5, 3, 4, 3, 5, Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 2}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := max(c.p.Groups, 1)
			x := rndT(r, 1, c.bt, c.cin, c.h, c.w)
			w := rndT(r, 1, c.cout, c.cin/g, c.kh, c.kw)
			var bias *Tensor
			if c.bias {
				bias = rndT(r, 1, c.cout)
			}
			oh := (c.h+2*c.p.PadH-c.kh)/max(c.p.StrideH, 1) + 1
			ow := (c.w+2*c.p.PadW-c.kw)/max(c.p.StrideW, 1) + 1
			dst := New(c.bt, c.cout, oh, ow)
			if c.smallBudget {
				old := conv2dColBudget
				conv2dColBudget = 1
				defer func() { conv2dColBudget = old }()
			}
			be.Conv2d(dst, x, w, bias, c.p)
			closeTo(t, c.name, dst.Data, conv2dRef(x, w, bias, c.p, oh, ow), 1e-5, 1e-5)
		})
	}
	mustPanic(t, "kernels: Conv2d:", func() { be.Conv2d(New(1, 2, 4, 4), New(1, 3, 5, 5), New(2, 3, 3, 3), nil, Conv2dParams{}) })
	mustPanic(t, "kernels: Conv2d:", func() { be.Conv2d(New(1, 2, 3, 3), New(1, 3, 5, 5), New(2, 3, 3, 3), nil, Conv2dParams{Groups: 2}) })
}

func TestNorms(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	be := CPU()
	for _, shape := range [][]int{{1, 1}, {3, 7}, {2, 5, 192}, {1, 1, 1031}} {
		x := rndT(r, 3, shape...)
		for i := range x.Data {
			x.Data[i] += 0.5 // non-zero mean
		}
		n := shape[len(shape)-1]
		w, b := rndT(r, 1, n), rndT(r, 1, n)
		rows := x.Len() / n
		rms := make([]float64, x.Len())
		ln := make([]float64, x.Len())
		lnNoAffine := make([]float64, x.Len())
		const eps = 1e-5
		for i := range rows {
			xr := f64(x.Data[i*n : (i+1)*n])
			ss, s := 0.0, 0.0
			for _, v := range xr {
				ss += v * v
				s += v
			}
			mean := s / float64(n)
			vs := 0.0
			for _, v := range xr {
				vs += (v - mean) * (v - mean)
			}
			for j, v := range xr {
				rms[i*n+j] = v / math.Sqrt(ss/float64(n)+eps) * float64(w.Data[j])
				lnNoAffine[i*n+j] = (v - mean) / math.Sqrt(vs/float64(n)+eps)
				ln[i*n+j] = lnNoAffine[i*n+j]*float64(w.Data[j]) + float64(b.Data[j])
			}
		}
		dst := New(shape...)
		be.RMSNorm(dst, x, w, eps)
		closeTo(t, fmt.Sprintf("RMSNorm %v", shape), dst.Data, rms, 1e-5, 1e-5)
		be.LayerNorm(dst, x, w, b, eps)
		closeTo(t, fmt.Sprintf("LayerNorm %v", shape), dst.Data, ln, 1e-5, 1e-5)
		be.LayerNorm(dst, x, nil, nil, eps)
		closeTo(t, fmt.Sprintf("LayerNorm(no affine) %v", shape), dst.Data, lnNoAffine, 1e-5, 1e-5)
		// In place.
		y := x.Clone()
		be.RMSNorm(y, y, w, eps)
		closeTo(t, fmt.Sprintf("RMSNorm in place %v", shape), y.Data, rms, 1e-5, 1e-5)
	}
	// LayerNorm2d equals LayerNorm on the channel-last permutation.
	for k, shape := range [][]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 96, 9, 11}, {2, 4, 13, 13}, {1, 32, 5, 5}} {
		x := rndT(r, 2, shape...)
		if k == 4 { // a large common offset: the variance must not cancel
			for i := range x.Data {
				x.Data[i] += 300
			}
		}
		c := shape[1]
		w, b := rndT(r, 1, c), rndT(r, 1, c)
		nhwc := New(shape[0], shape[2], shape[3], c)
		be.Permute(nhwc, x, 0, 2, 3, 1)
		be.LayerNorm(nhwc, nhwc, w, b, 1e-6)
		want := New(shape...)
		be.Permute(want, nhwc, 0, 3, 1, 2)
		got := x.Clone()
		be.LayerNorm2d(got, got, w, b, 1e-6)
		closeTo(t, fmt.Sprintf("LayerNorm2d %v", shape), got.Data, ln2dRef64(x, w, b, 1e-6), 1e-5, 1e-5)
		// LayerNorm's float32 (x − mean) carries mean's rounding, up to
		// ulp(300)/2 at the offset shape: 1.5e−5·rstd·|w|.
		closeTo(t, fmt.Sprintf("LayerNorm2d vs LayerNorm %v", shape), got.Data, f64(want.Data), 3e-5, 1e-5)
	}
	mustPanic(t, "kernels: RMSNorm:", func() { be.RMSNorm(New(2, 3), New(2, 3), New(4), 1e-5) })
	mustPanic(t, "kernels: LayerNorm:", func() { be.LayerNorm(New(2, 3), New(2, 3), New(3), New(2), 1e-5) })
	mustPanic(t, "kernels: LayerNorm2d:", func() { be.LayerNorm2d(New(1, 2, 3), New(1, 2, 3), nil, nil, 1e-5) })
}

func TestUnary(t *testing.T) {
	be := CPU()
	vals := []float32{-100, -30, -20.5, -9, -1.5, -0.25, 0, 1e-8, 0.3, 1, 2.5, 8, 19.9, 20, 20.1, 30, 80}
	x := MustFromSlice(vals, len(vals))
	big := rndT(rand.New(rand.NewPCG(11, 12)), 10, 3, 50001) // parallel path
	for act := ActNone; act <= ActNegExp; act++ {
		for _, in := range []*Tensor{x, big} {
			y := New(in.Shape()...)
			be.Unary(y, in, act)
			want := make([]float64, in.Len())
			for i, v := range in.Data {
				want[i] = actRef(act, float64(v))
			}
			closeTo(t, "Unary "+act.String(), y.Data, want, 1e-6, 2e-6)
		}
	}
	// Softplus keeps PyTorch's threshold exactly: x itself above 20.
	y := New(3)
	be.Unary(y, MustFromSlice([]float32{20.5, 100, -200}, 3), ActSoftplus)
	if y.Data[0] != 20.5 || y.Data[1] != 100 || y.Data[2] < 0 || y.Data[2] > 1e-30 {
		t.Errorf("softplus(20.5, 100, -200) = %v", y.Data)
	}
	mustPanic(t, "kernels: Unary:", func() { be.Unary(New(2), New(3), ActSiLU) })
}

func TestAddMulScale(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	be := CPU()
	for _, c := range []struct{ a, b []int }{{[]int{5}, []int{5}}, {[]int{3, 7}, []int{7}}, {[]int{2, 3, 4}, []int{3, 4}}, {[]int{2, 3, 4}, []int{}}, {[]int{4, 197, 192}, []int{197, 192}}, {[]int{384, 197}, []int{384, 197}}} {
		a := rndT(r, 1, c.a...)
		b := rndT(r, 1, c.b...)
		sum, prod := make([]float64, a.Len()), make([]float64, a.Len())
		for i, v := range a.Data {
			bv := float64(b.Data[i%b.Len()])
			sum[i] = float64(v) + bv
			prod[i] = float64(v) * bv
		}
		dst := New(c.a...)
		be.Add(dst, a, b)
		closeTo(t, fmt.Sprintf("Add %v", c), dst.Data, sum, 1e-6, 1e-6)
		be.Mul(dst, a, b)
		closeTo(t, fmt.Sprintf("Mul %v", c), dst.Data, prod, 1e-6, 1e-6)
		aa := a.Clone()
		be.Add(aa, aa, b)
		closeTo(t, fmt.Sprintf("Add in place %v", c), aa.Data, sum, 1e-6, 1e-6)
		be.Scale(dst, a, -2.5)
		sc := make([]float64, a.Len())
		for i, v := range a.Data {
			sc[i] = -2.5 * float64(v)
		}
		closeTo(t, fmt.Sprintf("Scale %v", c), dst.Data, sc, 1e-6, 1e-6)
	}
	mustPanic(t, "kernels: Add:", func() { be.Add(New(2, 3), New(2, 3), New(2)) })
	mustPanic(t, "kernels: Mul:", func() { be.Mul(New(2, 3), New(2, 3), New(3, 3)) })
	mustPanic(t, "kernels: Scale:", func() { be.Scale(New(2, 3), New(2, 4), 1) })
}

func TestSoftmaxMean(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	be := CPU()
	for _, shape := range [][]int{{1}, {3, 7}, {2, 3, 197}} {
		x := rndT(r, 8, shape...)
		x.Data[0] = 80 // no overflow
		n := shape[len(shape)-1]
		want := make([]float64, x.Len())
		for i := 0; i < x.Len(); i += n {
			m := math.Inf(-1)
			for _, v := range x.Data[i : i+n] {
				m = math.Max(m, float64(v))
			}
			s := 0.0
			for j, v := range x.Data[i : i+n] {
				want[i+j] = math.Exp(float64(v) - m)
				s += want[i+j]
			}
			for j := range n {
				want[i+j] /= s
			}
		}
		y := New(shape...)
		be.Softmax(y, x)
		closeTo(t, fmt.Sprintf("Softmax %v", shape), y.Data, want, 1e-7, 1e-5)
	}
	x := rndT(r, 1, 2, 3, 5, 4)
	for axis := -4; axis < 4; axis++ {
		ax := (axis + 4) % 4
		var shape []int
		for i, d := range x.Shape() {
			if i != ax {
				shape = append(shape, d)
			}
		}
		y := New(shape...)
		be.Mean(y, x, axis)
		want := make([]float64, y.Len())
		n := x.Dim(ax)
		inner := 1
		for _, d := range x.Shape()[ax+1:] {
			inner *= d
		}
		for i := range want {
			o, in := i/inner, i%inner
			for a := range n {
				want[i] += float64(x.Data[(o*n+a)*inner+in]) / float64(n)
			}
		}
		closeTo(t, fmt.Sprintf("Mean axis %d", axis), y.Data, want, 1e-6, 1e-6)
	}
	mustPanic(t, "kernels: Mean:", func() { be.Mean(New(2, 3), x, 1) })
	mustPanic(t, "kernels: Softmax:", func() { be.Softmax(New(2, 3), New(3, 2)) })
}

// permuteRef is the index-by-index definition of Permute.
func permuteRef(src *Tensor, perm []int) []float32 {
	r := src.Rank()
	dshape := make([]int, r)
	for i, p := range perm {
		dshape[i] = src.Dim(p)
	}
	out := make([]float32, src.Len())
	idx := make([]int, r)
	for o := range out {
		rem := o
		for a := r - 1; a >= 0; a-- {
			idx[a] = rem % dshape[a]
			rem /= dshape[a]
		}
		s := 0
		for a := 0; a < r; a++ {
			// source axis a takes dst index at the position where perm == a
			for i, p := range perm {
				if p == a {
					s = s*src.Dim(a) + idx[i]
				}
			}
		}
		out[o] = src.Data[s]
	}
	return out
}

func TestPermuteFlipCopyBox(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	be := CPU()
	for _, shape := range [][]int{{5}, {3, 4}, {2, 3, 5}, {2, 3, 1, 4}, {2, 1, 3, 2, 3}, {3, 97, 67}, {3, 30011}} { // the last: parallel chunks split rows
		x := rndT(r, 1, shape...)
		for trial := 0; trial < 6; trial++ {
			perm := r.Perm(len(shape))
			dshape := make([]int, len(shape))
			for i, p := range perm {
				dshape[i] = shape[p]
			}
			y := New(dshape...)
			be.Permute(y, x, perm...)
			want := permuteRef(x, perm)
			for i := range want {
				if y.Data[i] != want[i] {
					t.Fatalf("Permute %v by %v: element %d = %v, want %v", shape, perm, i, y.Data[i], want[i])
				}
			}
			inv := make([]int, len(perm))
			for i, p := range perm {
				inv[p] = i
			}
			back := New(shape...)
			be.Permute(back, y, inv...)
			if !equalF32(back.Data, x.Data) {
				t.Fatalf("Permute %v by %v then inverse is not the identity", shape, perm)
			}
		}
		for axis := range shape {
			f, ff := New(shape...), New(shape...)
			be.Flip(f, x, axis)
			be.Flip(ff, f, axis-len(shape))
			if !equalF32(ff.Data, x.Data) {
				t.Fatalf("Flip %v axis %d twice is not the identity", shape, axis)
			}
			n := shape[axis]
			inner := 1
			for _, d := range shape[axis+1:] {
				inner *= d
			}
			for i := range x.Data {
				o, a, in := i/(n*inner), i/inner%n, i%inner
				if f.Data[(o*n+n-1-a)*inner+in] != x.Data[i] {
					t.Fatalf("Flip %v axis %d: wrong element %d", shape, axis, i)
				}
			}
		}
	}
	// CopyBox: crop a box, paste it into a zero tensor at another offset,
	// and compare with index arithmetic; round trip back.
	for _, c := range []struct{ src, dst, srcOff, dstOff, size []int }{
		{[]int{7}, []int{9}, []int{2}, []int{4}, []int{5}},
		{[]int{4, 6}, []int{5, 5}, []int{1, 2}, []int{0, 1}, []int{3, 4}},
		{[]int{2, 5, 4, 3}, []int{3, 4, 6, 3}, []int{1, 1, 0, 0}, []int{2, 0, 2, 0}, []int{1, 4, 4, 3}},
		{[]int{2, 197, 192}, []int{2, 198, 192}, []int{0, 98, 0}, []int{0, 99, 0}, []int{2, 99, 192}},
	} {
		src := rndT(r, 1, c.src...)
		dst := New(c.dst...)
		be.CopyBox(dst, c.dstOff, src, c.srcOff, c.size)
		rank := len(c.src)
		idx := make([]int, rank)
		for i := range dst.Data {
			rem := i
			for a := rank - 1; a >= 0; a-- {
				idx[a] = rem % c.dst[a]
				rem /= c.dst[a]
			}
			inside := true
			s := 0
			for a := 0; a < rank; a++ {
				k := idx[a] - c.dstOff[a]
				if k < 0 || k >= c.size[a] {
					inside = false
				}
				s = s*c.src[a] + k + c.srcOff[a]
			}
			want := float32(0)
			if inside {
				want = src.Data[s]
			}
			if dst.Data[i] != want {
				t.Fatalf("CopyBox %+v: element %d = %v, want %v", c, i, dst.Data[i], want)
			}
		}
		back := New(c.src...)
		be.CopyBox(back, c.srcOff, dst, c.dstOff, c.size)
		crop := New(c.size...)
		be.CopyBox(crop, make([]int, rank), src, c.srcOff, c.size)
		crop2 := New(c.size...)
		be.CopyBox(crop2, make([]int, rank), back, c.srcOff, c.size)
		if !equalF32(crop.Data, crop2.Data) {
			t.Fatalf("CopyBox %+v round trip differs", c)
		}
	}
	x := rndT(r, 1, 3, 4)
	y := New(12)
	be.Copy(y, x)
	if !equalF32(y.Data, x.Data) {
		t.Fatal("Copy differs")
	}
	mustPanic(t, "kernels: Copy:", func() { be.Copy(New(5), x) })
	mustPanic(t, "kernels: Permute:", func() { be.Permute(New(4, 3), x, 0, 1) })
	mustPanic(t, "kernels: Permute:", func() { be.Permute(New(4, 3), x, 1, 1) })
	mustPanic(t, "kernels: Flip:", func() { be.Flip(New(4, 3), x, 0) })
	mustPanic(t, "kernels: CopyBox:", func() { be.CopyBox(New(3, 4), []int{1, 0}, x, []int{0, 0}, []int{3, 4}) })
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ln2dRef64 is LayerNorm2d of x (Bt, C, H, W) in float64.
func ln2dRef64(x, w, b *Tensor, eps float64) []float64 {
	bt, c, hw := x.Dim(0), x.Dim(1), x.Dim(2)*x.Dim(3)
	out := make([]float64, x.Len())
	for bi := range bt {
		for p := range hw {
			var s, q float64
			for ch := range c {
				s += float64(x.Data[(bi*c+ch)*hw+p])
			}
			m := s / float64(c)
			for ch := range c {
				d := float64(x.Data[(bi*c+ch)*hw+p]) - m
				q += d * d
			}
			r := 1 / math.Sqrt(q/float64(c)+eps)
			for ch := range c {
				i := (bi*c+ch)*hw + p
				out[i] = (float64(x.Data[i])-m)*r*float64(w.Data[ch]) + float64(b.Data[ch])
			}
		}
	}
	return out
}

// TestLayerNorm2dSplit checks that LayerNorm2d's split of the pixels over
// goroutines (runs of ln2dUnit pixels, blocked by ln2dBlock) does not change
// the result: bit for bit the serial backend's (one run from pixel 0), with
// and without held helpers, with and without the affine (SIMD and float64
// paths), in place and not, and within 1e-5 of float64; for vmamba-tiny's
// stage maps and odd sizes, batched.
func TestLayerNorm2dSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, shape := range [][]int{{1, 384, 14, 14}, {1, 768, 7, 7}, {2, 192, 7, 9}, {1, 96, 56, 56}, {3, 48, 5, 13}, {2, 1000, 3, 3}} {
		x := rndT(r, 2, shape...)
		c := shape[1]
		w, b := rndT(r, 1, c), rndT(r, 1, c)
		for _, affine := range []bool{true, false} {
			ww, bb := w, b
			if !affine {
				ww, bb = nil, nil
			}
			want := New(shape...)
			CPUSerial().LayerNorm2d(want, x, ww, bb, 1e-6)
			if affine {
				closeTo(t, fmt.Sprintf("LayerNorm2d serial %v", shape), want.Data, ln2dRef64(x, w, b, 1e-6), 1e-5, 1e-5)
			}
			for _, held := range []bool{false, true} {
				release := func() {}
				if held {
					release = HoldWorkers()
				}
				got := New(shape...)
				CPU().LayerNorm2d(got, x, ww, bb, 1e-6)
				inPlace := x.Clone()
				CPU().LayerNorm2d(inPlace, inPlace, ww, bb, 1e-6)
				release()
				for i := range want.Data {
					if got.Data[i] != want.Data[i] || inPlace.Data[i] != want.Data[i] {
						t.Fatalf("%v affine=%v held=%v: [%d] = %v (in place %v), serial %v", shape, affine, held, i, got.Data[i], inPlace.Data[i], want.Data[i])
					}
				}
			}
		}
	}
}
