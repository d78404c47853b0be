package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// TestDecodeOpsVsCPU compares the decode-step kernels with the generic ops
// they fuse, run on the CPU backend, over sizes that take the float4 and the
// scalar paths, with and without bias, norm, accumulate and conv bias.
func TestDecodeOpsVsCPU(t *testing.T) {
	be := openGPU(t)
	if !be.DecodeKernels() {
		t.Fatal("the loaded PTX has no decode kernels")
	}
	cpu := kernels.CPU()
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		m, n, k    int
		norm, bias bool
		acc        bool
	}{
		{1, 3072, 768, true, false, false},
		{1, 80, 1536, false, false, false},
		{1, 768, 1536, false, true, true},
		{3, 50, 37, true, true, false},
		{8, 129, 64, false, false, true},
		{2, 1000, 6, true, false, true},
		{2, 100, 600, true, true, true},     // 4 warps per column
		{1, 50, 1001, true, false, false},   // 4 warps per column, scalar loads
		{4, 50280, 768, true, false, false}, // the LM head
	} {
		t.Run(fmt.Sprintf("linear/m%d_n%d_k%d_norm%v_bias%v_acc%v", c.m, c.n, c.k, c.norm, c.bias, c.acc), func(t *testing.T) {
			x, w, y0 := randT(r, 1, c.m, c.k), randT(r, 0.1, c.n, c.k), randT(r, 1, c.m, c.n)
			var nw, bias *kernels.Tensor
			if c.norm {
				nw = uniT(r, 0.5, 1.5, c.k)
			}
			if c.bias {
				bias = randT(r, 1, c.n)
			}
			const eps = 1e-5
			// Reference: RMSNorm, Linear, Add.
			xs := x.Clone()
			if c.norm {
				cpu.RMSNorm(xs, x, nw, eps)
			}
			want := kernels.New(c.m, c.n)
			cpu.Linear(want, xs, w, bias)
			if c.acc {
				sum := y0.Clone()
				cpu.Add(sum, sum, want)
				want = sum
			}
			dst := be.FromHost(y0)
			if !c.acc {
				dst = poisoned(be, c.m, c.n)
			}
			var dn, db *kernels.Tensor
			if nw != nil {
				dn = be.FromHost(nw)
			}
			if bias != nil {
				db = be.FromHost(bias)
			}
			be.DecodeLinear(dst, be.FromHost(x), dn, be.FromHost(w), db, eps, c.acc)
			expectClose(t, be, "dst", dst, want, 2e-5*math.Max(1, maxAbs(want.Data)))
		})
	}
	for _, c := range []struct {
		bt, e, k, n, rank int
		convBias, d       bool
	}{
		{1, 1536, 4, 16, 48, true, true},
		{3, 40, 3, 5, 3, false, false},
		{2, 64, 4, 32, 4, true, true},
		{1, 33, 2, 1, 1, true, false},
	} {
		t.Run(fmt.Sprintf("conv+scan/bt%d_e%d_k%d_n%d_r%d", c.bt, c.e, c.k, c.n, c.rank), func(t *testing.T) {
			e, n, rk := c.e, c.n, c.rank
			state := randT(r, 1, c.bt, e, c.k)
			xz := randT(r, 1, c.bt, 2*e)
			cw := randT(r, 0.5, e, c.k)
			var cb, dd *kernels.Tensor
			if c.convBias {
				cb = randT(r, 0.5, e)
			}
			if c.d {
				dd = randT(r, 1, e)
			}
			ssm := randT(r, 1, c.bt, e, n)
			xdbl := randT(r, 0.5, c.bt, rk+2*n)
			dtW := randT(r, 0.3, e, rk)
			dtB := randT(r, 0.5, e)
			a := uniT(r, -4, -0.1, e, n)

			// Reference from the generic ops.
			x, z := kernels.New(c.bt, e), kernels.New(c.bt, e)
			cpu.CopyBox(x, []int{0, 0}, xz, []int{0, 0}, []int{c.bt, e})
			cpu.CopyBox(z, []int{0, 0}, xz, []int{0, e}, []int{c.bt, e})
			wantState := state.Clone()
			wantXC := kernels.New(c.bt, e)
			cpu.Conv1dStep(wantXC, wantState, x, cw, cb, kernels.ActSiLU)
			dtLow, bm, cm := kernels.New(c.bt, rk), kernels.New(c.bt, n), kernels.New(c.bt, n)
			cpu.CopyBox(dtLow, []int{0, 0}, xdbl, []int{0, 0}, []int{c.bt, rk})
			cpu.CopyBox(bm, []int{0, 0}, xdbl, []int{0, rk}, []int{c.bt, n})
			cpu.CopyBox(cm, []int{0, 0}, xdbl, []int{0, rk + n}, []int{c.bt, n})
			dt := kernels.New(c.bt, e)
			cpu.Linear(dt, dtLow, dtW, nil)
			wantSSM := ssm.Clone()
			wantY := kernels.New(c.bt, e)
			cpu.SelectiveStateUpdate(&kernels.StepArgs{State: wantSSM, X: wantXC, DT: dt, A: a, B: bm, C: cm, D: dd, Z: z,
				DTBias: dtB, DTSoftplus: true, Out: wantY})

			dev := func(t *kernels.Tensor) *kernels.Tensor {
				if t == nil {
					return nil
				}
				return be.FromHost(t)
			}
			gState, gXZ, gSSM := dev(state), dev(xz), dev(ssm)
			gXC, gY := poisoned(be, c.bt, e), poisoned(be, c.bt, e)
			be.DecodeConvStep(gXC, gState, gXZ, dev(cw), dev(cb))
			be.DecodeScanStep(gY, gSSM, gXC, gXZ, dev(xdbl), dev(dtW), dev(dtB), dev(a), dev(dd))
			expectClose(t, be, "conv state", gState, wantState, 1e-6)
			expectClose(t, be, "xc", gXC, wantXC, 1e-5)
			expectClose(t, be, "ssm state", gSSM, wantSSM, 1e-5*math.Max(1, maxAbs(wantSSM.Data)))
			expectClose(t, be, "y", gY, wantY, 1e-5*math.Max(1, maxAbs(wantY.Data)))
		})
	}
}

// TestCaptureGraph records two dependent ops, replays the graph three times
// and checks that each replay ran them once, in order, on the current
// contents of the buffers.
func TestCaptureGraph(t *testing.T) {
	be := openGPU(t)
	x := be.FromHost(kernels.MustFromSlice([]float32{1, 2, 3, 4}, 4))
	one := be.FromHost(kernels.MustFromSlice([]float32{1, 1, 1, 1}, 4))
	g, err := be.Capture(func() {
		be.Scale(x, x, 2)
		be.Add(x, x, one)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Destroy()
	if h := be.ToHost(x); fmt.Sprint(h.Data) != "[1 2 3 4]" {
		t.Fatalf("capture ran the ops: %v", h.Data)
	}
	want := []float32{1, 2, 3, 4}
	for range 3 {
		if err := g.Launch(); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i] = 2*want[i] + 1
		}
	}
	h := be.ToHost(x)
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(h.Data) != fmt.Sprint(want) {
		t.Fatalf("after 3 replays got %v, want %v", h.Data, want)
	}
	g.Destroy()
	if err := g.Launch(); err == nil {
		t.Fatal("Launch after Destroy did not fail")
	}
}
