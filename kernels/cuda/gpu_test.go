package cuda

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// RequireEnv, when set to 1, turns "no GPU" into a failure (for runs on a
// GPU machine, where a skip would hide a broken driver setup).
const RequireEnv = "GOMAMBA_REQUIRE_CUDA"

// openGPU returns the backend, or skips the test when there is no CUDA
// driver or GPU here (the only reason a test of this package skips).
func openGPU(t testing.TB) *Backend {
	t.Helper()
	be, err := Open()
	if err != nil {
		if errors.Is(err, ErrNoDevice) && os.Getenv(RequireEnv) != "1" {
			t.Skipf("no CUDA GPU on this machine, GPU test skipped: %v", err)
		}
		t.Fatalf("cuda.Open: %v", err)
	}
	return be
}

// readSafetensors reads the F32 tensors of a safetensors file.
func readSafetensors(t *testing.T, path string) map[string]*kernels.Tensor {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 8 {
		t.Fatalf("%s: too short", path)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n > uint64(len(raw)-8) {
		t.Fatalf("%s: header size %d beyond file", path, n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	data := raw[8+n:]
	out := map[string]*kernels.Tensor{}
	for name, msg := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		if e.Dtype != "F32" {
			continue
		}
		b := data[e.Offsets[0]:e.Offsets[1]]
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		tt, err := kernels.FromSlice(v, e.Shape...)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, name, err)
		}
		out[name] = tt
	}
	return out
}

func maxAbsDiff(a, b []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// expectClose fails when got (a device or host tensor) differs from want by
// more than tol (absolute) anywhere, or has another shape.
func expectClose(t *testing.T, be *Backend, name string, got, want *kernels.Tensor, tol float64) float64 {
	t.Helper()
	h := be.ToHost(got)
	if err := be.Sync(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !kernels.EqualShape(h.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", name, h.Shape(), want.Shape())
	}
	d, at := maxAbsDiff(h.Data, want.Data)
	if d > tol {
		t.Errorf("%s: max |diff| %.3g at %d (got %v want %v), tolerance %.1g", name, d, at, h.Data[at], want.Data[at], tol)
	}
	return d
}

// nanTensor is a poison-filled host tensor: outputs start as NaN so an
// unwritten element fails the comparison.
func nanTensor(shape ...int) *kernels.Tensor {
	t := kernels.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(math.NaN())
	}
	return t
}

// TestGoldenScan runs every case of the official-code fixtures in
// golden/scan (selective scan, state update, causal conv1d) on the GPU.
func TestGoldenScan(t *testing.T) {
	dir := golden.Dir(t, "scan")
	be := openGPU(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	ran := 0
	for _, jf := range files {
		if filepath.Base(jf) == "index.json" {
			continue
		}
		var meta struct {
			Function string          `json:"function"`
			Call     string          `json:"call"`
			SP       json.RawMessage `json:"sp"`
		}
		raw, err := os.ReadFile(jf)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", jf, err)
		}
		name := strings.TrimSuffix(filepath.Base(jf), ".json")
		ts := readSafetensors(t, strings.TrimSuffix(jf, ".json")+".safetensors")
		up := func(k string) *kernels.Tensor {
			if v, ok := ts[k]; ok {
				return be.FromHost(v)
			}
			return nil
		}
		t.Run(name, func(t *testing.T) {
			switch {
			case strings.Contains(meta.Function, "selective_scan_ref"):
				u := ts["u"]
				a := &kernels.ScanArgs{U: up("u"), Delta: up("delta"), A: up("A"), B: up("B"), C: up("C"), D: up("D"), Z: up("z"),
					DeltaBias: up("delta_bias"), DeltaSoftplus: string(meta.SP) == "true",
					Out: be.FromHost(nanTensor(u.Shape()...)), LastState: be.FromHost(nanTensor(ts["last_state"].Shape()...))}
				be.SelectiveScan(a)
				d1 := expectClose(t, be, "out", a.Out, ts["out"], 1e-4)
				d2 := expectClose(t, be, "last_state", a.LastState, ts["last_state"], 1e-4)
				t.Logf("max|diff| out %.3g (|out| ≤ %.3g), last_state %.3g", d1, maxAbs(ts["out"].Data), d2)
			case strings.Contains(meta.Function, "selective_state_update_ref"):
				a := &kernels.StepArgs{State: up("state_in"), X: up("x"), DT: up("dt"), A: up("A"), B: up("B"), C: up("C"), D: up("D"), Z: up("z"),
					DTBias: up("dt_bias"), DTSoftplus: strings.Contains(meta.Call, "dt_softplus=True"), Out: be.FromHost(nanTensor(ts["out"].Shape()...))}
				be.SelectiveStateUpdate(a)
				d1 := expectClose(t, be, "out", a.Out, ts["out"], 1e-4)
				d2 := expectClose(t, be, "state_out", a.State, ts["state_out"], 1e-4)
				t.Logf("max|diff| out %.3g, state %.3g", d1, d2)
			case strings.Contains(meta.Function, "causal_conv1d"):
				x, w, bias := up("x"), up("weight"), up("bias")
				y := be.FromHost(nanTensor(ts["x"].Shape()...))
				be.Conv1dCausal(y, x, w, nil, kernels.ActNone)
				d1 := expectClose(t, be, "y_nobias", y, ts["y_nobias"], 1e-4)
				be.Conv1dCausal(y, x, w, bias, kernels.ActSiLU)
				d2 := expectClose(t, be, "y_bias_silu", y, ts["y_bias_silu"], 1e-4)
				st := up("conv_state_in")
				ys := be.FromHost(nanTensor(ts["y_step"].Shape()...))
				be.Conv1dStep(ys, st, up("x_new"), w, bias, kernels.ActSiLU)
				d3 := expectClose(t, be, "y_step", ys, ts["y_step"], 1e-4)
				d4 := expectClose(t, be, "conv_state_out", st, ts["conv_state_out"], 1e-4)
				t.Logf("max|diff| conv %.3g, conv+silu %.3g, step %.3g, state %.3g", d1, d2, d3, d4)
			default:
				t.Fatalf("unknown fixture function %q", meta.Function)
			}
		})
		ran++
	}
	if ran == 0 {
		t.Fatalf("no cases in %s", dir)
	}
}

// randT is a host tensor of normal values (scaled).
func randT(r *rand.Rand, scale float32, shape ...int) *kernels.Tensor {
	t := kernels.New(shape...)
	for i := range t.Data {
		t.Data[i] = scale * float32(r.NormFloat64())
	}
	return t
}

// uniT is a host tensor of values uniform in [lo, hi).
func uniT(r *rand.Rand, lo, hi float32, shape ...int) *kernels.Tensor {
	t := kernels.New(shape...)
	for i := range t.Data {
		t.Data[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}

// scanBC is a random B or C of the scan in one of its layouts: "inv" (D, N)
// time-invariant, "var" (Bt, N, L) time-varying, otherwise (Bt, G, N, L)
// grouped.
func scanBC(r *rand.Rand, kind string, bt, d, g, n, l int) *kernels.Tensor {
	switch kind {
	case "inv":
		return randT(r, 1, d, n)
	case "var":
		return randT(r, 1, bt, n, l)
	}
	return randT(r, 1, bt, g, n, l)
}

// scanNegA is a random negative A (D, N): state n of every channel near
// −(n+1), as Mamba's S4D-real initialisation makes it.
func scanNegA(r *rand.Rand, d, n int) *kernels.Tensor {
	a := kernels.New(d, n)
	for i := range a.Data {
		a.Data[i] = -float32(math.Exp(math.Log(float64(i%n+1)) + 0.1*r.NormFloat64()))
	}
	return a
}

// scanCase is a selective-scan test shape: B and C in the layouts bk and
// ck ("inv", "var" or "grp" with g groups, see scanBC) and, with opts, D,
// z, delta_bias and softplus.
type scanCase struct {
	bt, d, n, l int
	bk, ck      string
	g           int
	opts        bool
}

// inputs draws the scan's operands u, Δ, A, B, C, D, z, delta_bias (the
// last three nil without opts); Δ is in [0, 0.5) without opts, normal with
// them (then passed through softplus).
func (c scanCase) inputs(r *rand.Rand) []*kernels.Tensor {
	aNeg := scanNegA(r, c.d, c.n)
	var dd, z, dbias *kernels.Tensor
	delta := uniT(r, 0, 0.5, c.bt, c.d, c.l)
	if c.opts {
		dd, z, dbias = randT(r, 1, c.d), randT(r, 1, c.bt, c.d, c.l), uniT(r, -4, -2, c.d)
		delta = randT(r, 0.5, c.bt, c.d, c.l)
	}
	return []*kernels.Tensor{randT(r, 1, c.bt, c.d, c.l), delta, aNeg,
		scanBC(r, c.bk, c.bt, c.d, c.g, c.n, c.l), scanBC(r, c.ck, c.bt, c.d, c.g, c.n, c.l), dd, z, dbias}
}

// opCase runs one op on the CPU backend and on the GPU from the same
// inputs (cloned, so in-place ops see the same start) and compares every
// tensor run returns.
type opCase struct {
	name string
	in   []*kernels.Tensor
	tol  float64 // relative to max(1, max|want|)
	run  func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor
}

// poisoned returns a NaN-filled tensor in b's memory.
func poisoned(b kernels.Backend, shape ...int) *kernels.Tensor {
	return b.FromHost(nanTensor(shape...))
}

func runOpCases(t *testing.T, be *Backend, cases []opCase) {
	cpu := kernels.CPU()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hin := make([]*kernels.Tensor, len(c.in))
			din := make([]*kernels.Tensor, len(c.in))
			for i, x := range c.in {
				if x != nil {
					hin[i] = x.Clone()
					din[i] = be.FromHost(x)
				}
			}
			want := c.run(cpu, hin)
			got := c.run(be, din)
			for i := range want {
				tol := c.tol
				if tol == 0 {
					tol = 1e-5
				}
				tol *= math.Max(1, maxAbs(want[i].Data))
				expectClose(t, be, fmt.Sprintf("output %d", i), got[i], want[i], tol)
			}
		})
	}
}

func TestOpsVsCPU(t *testing.T) {
	be := openGPU(t)
	r := rand.New(rand.NewPCG(1, 2))
	var cases []opCase

	for _, s := range []struct{ m, k, n int }{{1, 1, 1}, {21, 37, 45}, {130, 300, 200}, {197, 192, 576}} {
		for _, withBias := range []bool{false, true} {
			var bias *kernels.Tensor
			if withBias {
				bias = randT(r, 1, s.n)
			}
			cases = append(cases, opCase{name: fmt.Sprintf("Linear/%dx%dx%d/bias=%v", s.m, s.k, s.n, withBias),
				in: []*kernels.Tensor{randT(r, 1, 3, s.m, s.k), randT(r, 0.1, s.n, s.k), bias},
				run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
					dst := poisoned(b, 3, s.m, s.n)
					b.Linear(dst, in[0], in[1], in[2])
					return []*kernels.Tensor{dst}
				}})
		}
	}
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, bb := range []int{0, 3} { // rank-2 b broadcast, or batched
				m, k, n, batch := 33, 70, 65, 3
				ash := []int{batch, m, k}
				if ta {
					ash = []int{batch, k, m}
				}
				bsh := []int{k, n}
				if tb {
					bsh = []int{n, k}
				}
				if bb > 0 {
					bsh = append([]int{bb}, bsh...)
				}
				cases = append(cases, opCase{name: fmt.Sprintf("MatMul/tA=%v/tB=%v/bbatch=%d", ta, tb, bb),
					in: []*kernels.Tensor{randT(r, 1, ash...), randT(r, 1, bsh...)},
					run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
						dst := poisoned(b, batch, m, n)
						b.MatMul(dst, in[0], in[1], ta, tb)
						return []*kernels.Tensor{dst}
					}})
			}
		}
	}
	for _, act := range []kernels.Activation{kernels.ActNone, kernels.ActSiLU} {
		for _, sh := range [][3]int{{2, 40, 33}, {1, 5, 2}} {
			cases = append(cases, opCase{name: fmt.Sprintf("Conv1dCausal/%v/%v", sh, act),
				in: []*kernels.Tensor{randT(r, 1, sh[0], sh[1], sh[2]), randT(r, 0.5, sh[1], 4), randT(r, 1, sh[1])},
				run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
					dst := poisoned(b, sh[0], sh[1], sh[2])
					b.Conv1dCausal(dst, in[0], in[1], in[2], act)
					return []*kernels.Tensor{dst}
				}})
		}
	}
	cases = append(cases, opCase{name: "Conv1dStep",
		in: []*kernels.Tensor{randT(r, 1, 2, 40, 4), randT(r, 1, 2, 40), randT(r, 0.5, 40, 4), randT(r, 1, 40)},
		run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
			dst := poisoned(b, 2, 40)
			b.Conv1dStep(dst, in[0], in[1], in[2], in[3], kernels.ActSiLU)
			return []*kernels.Tensor{dst, in[0]}
		}})
	for _, c := range []struct {
		x, w []int
		p    kernels.Conv2dParams
	}{
		{[]int{2, 16, 9, 11}, []int{16, 1, 3, 3}, kernels.Conv2dParams{PadH: 1, PadW: 1, Groups: 16}},
		{[]int{2, 6, 13, 10}, []int{8, 3, 3, 3}, kernels.Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 2}},
		{[]int{1, 3, 32, 48}, []int{24, 3, 16, 16}, kernels.Conv2dParams{StrideH: 16, StrideW: 16}},
		{[]int{1, 3, 30, 30}, []int{12, 3, 4, 4}, kernels.Conv2dParams{StrideH: 4, StrideW: 4}},
	} {
		oh := (c.x[2]+2*c.p.PadH-c.w[2])/max(c.p.StrideH, 1) + 1
		ow := (c.x[3]+2*c.p.PadW-c.w[3])/max(c.p.StrideW, 1) + 1
		cases = append(cases, opCase{name: fmt.Sprintf("Conv2d/%v/%v", c.x, c.w), tol: 2e-5,
			in: []*kernels.Tensor{randT(r, 1, c.x...), randT(r, 0.2, c.w...), randT(r, 1, c.w[0])},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, c.x[0], c.w[0], oh, ow)
				b.Conv2d(dst, in[0], in[1], in[2], c.p)
				return []*kernels.Tensor{dst}
			}})
	}
	for _, sh := range [][]int{{5, 7, 96}, {3, 1000}, {2, 1}} {
		c := sh[len(sh)-1]
		cases = append(cases,
			opCase{name: fmt.Sprintf("RMSNorm/%v", sh), in: []*kernels.Tensor{randT(r, 2, sh...), randT(r, 1, c)},
				run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
					dst := poisoned(b, sh...)
					b.RMSNorm(dst, in[0], in[1], 1e-5)
					return []*kernels.Tensor{dst}
				}},
			opCase{name: fmt.Sprintf("LayerNorm/%v", sh), in: []*kernels.Tensor{randT(r, 2, sh...), randT(r, 1, c), randT(r, 1, c)},
				run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
					dst := poisoned(b, sh...)
					b.LayerNorm(dst, in[0], in[1], in[2], 1e-6)
					b.LayerNorm(in[0], in[0], nil, nil, 1e-5) // in place, no affine
					return []*kernels.Tensor{dst, in[0]}
				}})
	}
	cases = append(cases, opCase{name: "LayerNorm2d", in: []*kernels.Tensor{randT(r, 2, 2, 24, 5, 7), randT(r, 1, 24), randT(r, 1, 24)},
		run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
			dst := poisoned(b, 2, 24, 5, 7)
			b.LayerNorm2d(dst, in[0], in[1], in[2], 1e-6)
			return []*kernels.Tensor{dst}
		}})
	for act := kernels.ActNone; act <= kernels.ActNegExp; act++ {
		cases = append(cases, opCase{name: "Unary/" + act.String(), in: []*kernels.Tensor{randT(r, 3, 1000)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, 1000)
				b.Unary(dst, in[0], act)
				return []*kernels.Tensor{dst}
			}})
	}
	for _, bs := range [][]int{{6}, {5, 6}, {4, 5, 6}} {
		cases = append(cases, opCase{name: fmt.Sprintf("AddMul/%v", bs), in: []*kernels.Tensor{randT(r, 1, 4, 5, 6), randT(r, 1, bs...)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				d1, d2 := poisoned(b, 4, 5, 6), poisoned(b, 4, 5, 6)
				b.Add(d1, in[0], in[1])
				b.Mul(d2, in[0], in[1])
				b.Scale(in[0], in[0], -1.5)
				return []*kernels.Tensor{d1, d2, in[0]}
			}})
	}
	for _, sh := range [][]int{{13, 197}, {2, 3, 1000}, {4, 1}} {
		cases = append(cases, opCase{name: fmt.Sprintf("Softmax/%v", sh), in: []*kernels.Tensor{randT(r, 4, sh...)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, sh...)
				b.Softmax(dst, in[0])
				return []*kernels.Tensor{dst}
			}})
	}
	for axis := range 3 {
		cases = append(cases, opCase{name: fmt.Sprintf("Mean/axis%d", axis), in: []*kernels.Tensor{randT(r, 1, 4, 5, 6)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				sh := []int{4, 5, 6}
				sh = append(sh[:axis:axis], sh[axis+1:]...)
				dst := poisoned(b, sh...)
				b.Mean(dst, in[0], axis)
				return []*kernels.Tensor{dst}
			}})
	}
	for _, perm := range [][]int{{0, 2, 3, 1}, {3, 1, 0, 2}, {0, 1, 2, 3}} {
		cases = append(cases, opCase{name: fmt.Sprintf("Permute/%v", perm), in: []*kernels.Tensor{randT(r, 1, 2, 3, 4, 5)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				src := in[0]
				sh := make([]int, 4)
				for i, p := range perm {
					sh[i] = src.Dim(p)
				}
				dst := poisoned(b, sh...)
				b.Permute(dst, src, perm...)
				return []*kernels.Tensor{dst}
			}})
	}
	for axis := range 4 {
		cases = append(cases, opCase{name: fmt.Sprintf("Flip/axis%d", axis), in: []*kernels.Tensor{randT(r, 1, 2, 3, 4, 5)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				dst := poisoned(b, 2, 3, 4, 5)
				b.Flip(dst, in[0], axis)
				return []*kernels.Tensor{dst}
			}})
	}
	cases = append(cases, opCase{name: "CopyBox+Copy", in: []*kernels.Tensor{randT(r, 1, 2, 5, 7), randT(r, 1, 3, 6, 9)},
		run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
			dst := in[1]
			b.CopyBox(dst, []int{1, 1, 2}, in[0], []int{0, 1, 0}, []int{2, 4, 7})
			c := poisoned(b, 6, 9, 3)
			b.Copy(c, dst)
			return []*kernels.Tensor{dst, c}
		}})

	// Selective scan: every B/C layout (time-invariant, (Bt,N,L), grouped
	// with and without whole warps per group), N padded and exact, L around
	// the 16-step chunk, channels not a multiple of 32.
	for _, c := range []scanCase{
		{2, 40, 16, 33, "var", "var", 1, true},
		{1, 64, 16, 16, "var", "var", 1, false},
		{3, 128, 16, 17, "grp", "grp", 2, true},
		{2, 8, 16, 100, "var", "grp", 4, true},
		{2, 12, 4, 15, "grp", "grp", 3, true},
		{2, 24, 8, 7, "inv", "inv", 1, true},
		{2, 48, 3, 40, "inv", "var", 1, false},
		{1, 96, 1, 300, "grp", "grp", 3, true},
		{2, 33, 24, 50, "var", "var", 1, true},
		{1, 40, 64, 20, "var", "var", 1, true},
		{2, 64, 2, 1, "var", "var", 1, true},
	} {
		cases = append(cases, opCase{name: fmt.Sprintf("SelectiveScan/%+v", c), tol: 2e-5, in: c.inputs(r),
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				a := &kernels.ScanArgs{U: in[0], Delta: in[1], A: in[2], B: in[3], C: in[4], D: in[5], Z: in[6], DeltaBias: in[7],
					DeltaSoftplus: c.opts, Out: poisoned(b, c.bt, c.d, c.l), LastState: poisoned(b, c.bt, c.d, c.n)}
				b.SelectiveScan(a)
				return []*kernels.Tensor{a.Out, a.LastState}
			}})
	}
	for _, g := range []int{0, 1, 4} {
		bsh := []int{2, 16}
		if g > 0 {
			bsh = []int{2, g, 16}
		}
		cases = append(cases, opCase{name: fmt.Sprintf("SelectiveStateUpdate/G%d", g),
			in: []*kernels.Tensor{randT(r, 1, 2, 40, 16), randT(r, 1, 2, 40), randT(r, 0.5, 2, 40), uniT(r, -8, -0.5, 40, 16),
				randT(r, 1, bsh...), randT(r, 1, bsh...), randT(r, 1, 40), randT(r, 1, 2, 40), uniT(r, -4, -2, 40)},
			run: func(b kernels.Backend, in []*kernels.Tensor) []*kernels.Tensor {
				a := &kernels.StepArgs{State: in[0], X: in[1], DT: in[2], A: in[3], B: in[4], C: in[5], D: in[6], Z: in[7], DTBias: in[8],
					DTSoftplus: true, Out: poisoned(b, 2, 40)}
				b.SelectiveStateUpdate(a)
				return []*kernels.Tensor{a.Out, a.State}
			}})
	}
	runOpCases(t, be, cases)
}

// TestAllocatorReuse checks that freed buffers are served again from the
// cache and that New zeroes reused memory.
func TestAllocatorReuse(t *testing.T) {
	be := openGPU(t)
	x := be.FromHost(randT(rand.New(rand.NewPCG(3, 4)), 1, 1000))
	before := be.MemStats()
	be.Free(x)
	be.Free(x) // idempotent
	mid := be.MemStats()
	if mid.Cached < before.Cached+4096 {
		t.Errorf("free did not cache: %+v then %+v", before, mid)
	}
	y := be.New(1000)
	after := be.MemStats()
	if after.Cached != mid.Cached-4096 {
		t.Errorf("New(1000) did not reuse the cached 4 KiB block: %+v then %+v", mid, after)
	}
	if h := be.ToHost(y); maxAbs(h.Data) != 0 {
		t.Errorf("New returned non-zero memory")
	}
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestCopyHostDevice covers Copy's upload and download into existing
// tensors and ToHost/FromHost of a reshaped view.
func TestCopyHostDevice(t *testing.T) {
	be := openGPU(t)
	src := randT(rand.New(rand.NewPCG(5, 7)), 1, 3, 4, 5)
	d := be.FromHost(nanTensor(60))
	be.Copy(d, src) // upload (shapes may differ, sizes match)
	back := nanTensor(3, 4, 5)
	be.Copy(back, d.Reshape(3, 20)) // download
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	if diff, at := maxAbsDiff(back.Data, src.Data); diff != 0 {
		t.Errorf("host→device→host copy differs by %g at %d", diff, at)
	}
	if got := be.ToHost(d.Reshape(5, 12)); !kernels.EqualShape(got.Shape(), []int{5, 12}) {
		t.Errorf("ToHost of a view has shape %v", got.Shape())
	}
}
