package vmamba

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
	"github.com/gomamba/gomamba/scan2d"
)

// openCUDA returns the CUDA backend or skips when this machine has no GPU
// (a failure instead when GOMAMBA_REQUIRE_CUDA=1, as on the GPU runner).
func openCUDA(t testing.TB) kernels.Backend {
	t.Helper()
	be, err := cuda.Open()
	if err != nil {
		if errors.Is(err, cuda.ErrNoDevice) && os.Getenv("GOMAMBA_REQUIRE_CUDA") != "1" {
			t.Skipf("no CUDA GPU here, GPU test skipped: %v", err)
		}
		t.Fatalf("cuda.Open: %v", err)
	}
	return be
}

// TestCUDAGoldenParity runs the golden fixture on the CUDA backend (the
// same model code, scan2d through device layout ops).
func TestCUDAGoldenParity(t *testing.T) {
	dir := golden.Dir(t, "vmamba")
	be := openCUDA(t)
	io, err := checkpoint.Open(filepath.Join(dir, "io.safetensors"))
	require.NoError(t, err)
	defer io.Close()
	ref := map[string]*kernels.Tensor{}
	for _, n := range io.Names() {
		ref[n], err = io.Tensor(n)
		require.NoError(t, err)
	}
	for _, path := range modelFiles(t, dir) {
		m, err := Load(path, be, nil)
		require.NoError(t, err)
		out, err := m.Forward(context.Background(), ref["x"], &Options{Stages: []int{0, 1, 2, 3}})
		require.NoError(t, err)
		got := map[string]*kernels.Tensor{"logits": out.Logits, "pooled": out.Pooled}
		for i, s := range out.Stages {
			got[fmt.Sprint("stage", i)] = s
		}
		for name, g := range got {
			d := maxAbsDiff(t, name, ref[name], g)
			t.Logf("cuda %s %-7s max|Δ| = %.3g", filepath.Base(path), name, d)
			require.LessOrEqual(t, d, tol, name)
		}
	}
}

// BenchmarkVMambaTinyCUDA is BenchmarkVMambaTiny on the CUDA backend (host
// input and outputs, transfers included).
func BenchmarkVMambaTinyCUDA(b *testing.B) {
	be := openCUDA(b)
	cfg, _ := Preset("vmamba-tiny")
	m, err := New(cfg, be, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, side := range []int{224, 1024} {
		b.Run(fmt.Sprintf("%dx%d", side, side), func(b *testing.B) {
			x := randInput(side, 1, 3, side, side)
			opts := &Options{Stages: []int{0, 1, 2, 3}}
			for b.Loop() {
				if _, err := m.Forward(context.Background(), x, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// TestCUDAOpsMatchCPU runs every Backend op the VMamba forward uses, at the
// shapes it uses them, on CUDA and on the CPU, and reports each difference.
func TestCUDAOpsMatchCPU(t *testing.T) {
	gpu := openCUDA(t)
	cpu := kernels.CPU()
	rnd := func(seed int, shape ...int) *kernels.Tensor { return randInput(seed, shape...) }
	bt, c, h, w := 2, 8, 3, 5
	l := h * w
	cases := []opCase{
		{"CrossScan", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 4, c, l)
			scan2dCrossScan(be, d, in[0])
			return d
		}, []*kernels.Tensor{rnd(1, bt, c, h, w)}},
		{"CrossMerge", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, c, h, w)
			scan2dCrossMerge(be, d, in[0])
			return d
		}, []*kernels.Tensor{rnd(2, bt, 4, c, l)}},
		{"Permute5", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 2, c, h, w)
			be.Permute(d, in[0].Reshape(bt, 2, c, w, h), 0, 1, 2, 4, 3)
			return d
		}, []*kernels.Tensor{rnd(3, bt, 2, c, l)}},
		{"Flip", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 4, c, l)
			be.Flip(d, in[0], 3)
			return d
		}, []*kernels.Tensor{rnd(4, bt, 4, c, l)}},
		{"MeanAxis1", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 2*c*l)
			be.Mean(d, in[0].Reshape(bt, 2, 2*c*l), 1)
			return d
		}, []*kernels.Tensor{rnd(5, bt, 4, c, l)}},
		{"MeanAxis2", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, c)
			be.Mean(d, in[0], 2)
			return d
		}, []*kernels.Tensor{rnd(6, bt, c, l)}},
		{"CopyBox4", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 4, c, l)
			be.CopyBox(d, []int{0, 1, 0, 0}, in[0].Reshape(bt, 1, c, l), []int{0, 0, 0, 0}, []int{bt, 1, c, l})
			return d
		}, []*kernels.Tensor{rnd(7, bt, c, h, w)}},
		{"CopyBox3", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt*4, 1, l)
			be.CopyBox(d, []int{0, 0, 0}, in[0], []int{0, 2, 0}, []int{bt * 4, 1, l})
			return d
		}, []*kernels.Tensor{rnd(8, bt*4, 4, l)}},
		{"MatMulBatched", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt*4, 4, l)
			be.MatMul(d, in[0], in[1], false, false)
			return d
		}, []*kernels.Tensor{rnd(9, bt*4, 4, c), rnd(10, bt*4, c, l)}},
		{"MatMulBroadcast", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(4, 4, l)
			be.MatMul(d, in[0], in[1], false, false)
			return d
		}, []*kernels.Tensor{rnd(11, 4, 4, c), rnd(12, 4, c, l)}},
		{"ConvDepthwise", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, c, h, w)
			be.Conv2d(d, in[0], in[1], nil, kernels.Conv2dParams{PadH: 1, PadW: 1, Groups: c})
			return d
		}, []*kernels.Tensor{rnd(13, bt, c, h, w), rnd(14, c, 1, 3, 3)}},
		{"Conv1x1", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 2*c, h, w)
			be.Conv2d(d, in[0], in[1], in[2], kernels.Conv2dParams{})
			return d
		}, []*kernels.Tensor{rnd(15, bt, c, h, w), rnd(16, 2*c, c, 1, 1), rnd(17, 2*c)}},
		{"ConvS2", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 2*c, (h+1)/2, (w+1)/2)
			be.Conv2d(d, in[0], in[1], in[2], kernels.Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1})
			return d
		}, []*kernels.Tensor{rnd(18, bt, c, h, w), rnd(19, 2*c, c, 3, 3), rnd(20, 2*c)}},
		{"LayerNorm2d", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, c, h, w)
			be.LayerNorm2d(d, in[0], in[1], in[2], 1e-5)
			return d
		}, []*kernels.Tensor{rnd(21, bt, c, h, w), rnd(22, c), rnd(23, c)}},
		{"LayerNorm2dInPlace", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			be.LayerNorm2d(in[0], in[0], in[1], in[2], 1e-5)
			return in[0]
		}, []*kernels.Tensor{rnd(24, bt, c, h, w), rnd(25, c), rnd(26, c)}},
		{"GELU", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			be.Unary(in[0], in[0], kernels.ActGELU)
			return in[0]
		}, []*kernels.Tensor{rnd(27, bt, c, h, w)}},
		{"AddInPlace", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			be.Add(in[0], in[0], in[1])
			return in[0]
		}, []*kernels.Tensor{rnd(28, bt, c, h, w), rnd(29, bt, c, h, w)}},
		{"ScaleInPlace", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			be.Scale(in[0], in[0], 4)
			return in[0]
		}, []*kernels.Tensor{rnd(30, bt, c, h, w)}},
		{"Linear", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(bt, 10)
			be.Linear(d, in[0], in[1], in[2])
			return d
		}, []*kernels.Tensor{rnd(31, bt, c), rnd(32, 10, c), rnd(33, 10)}},
		{"MatMulK2", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(8, 64, 256)
			be.MatMul(d, in[0], in[1], false, false)
			return d
		}, []*kernels.Tensor{rnd(40, 8, 64, 2), rnd(41, 8, 2, 256)}},
		{"MatMulXProj", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(8, 4, 256)
			be.MatMul(d, in[0], in[1], false, false)
			return d
		}, []*kernels.Tensor{rnd(42, 8, 4, 64), rnd(43, 8, 64, 256)}},
		{"InProj1x1", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(2, 64, 16, 16)
			be.Conv2d(d, in[0], in[1], nil, kernels.Conv2dParams{})
			return d
		}, []*kernels.Tensor{rnd(44, 2, 32, 16, 16), rnd(45, 64, 32, 1, 1)}},
		{"Stem", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(2, 16, 32, 32)
			be.Conv2d(d, in[0], in[1], in[2], kernels.Conv2dParams{StrideH: 2, StrideW: 2, PadH: 1, PadW: 1})
			return d
		}, []*kernels.Tensor{rnd(46, 2, 3, 64, 64), rnd(47, 16, 3, 3, 3), rnd(48, 16)}},
		{"Depthwise64", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(2, 64, 16, 16)
			be.Conv2d(d, in[0], in[1], nil, kernels.Conv2dParams{PadH: 1, PadW: 1, Groups: 64})
			return d
		}, []*kernels.Tensor{rnd(49, 2, 64, 16, 16), rnd(50, 64, 1, 3, 3)}},
		{"CrossScan64", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(2, 4, 64, 256)
			scan2dCrossScan(be, d, in[0])
			return d
		}, []*kernels.Tensor{rnd(51, 2, 64, 16, 16)}},
		{"CrossMerge64", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			d := be.New(2, 64, 16, 16)
			scan2dCrossMerge(be, d, in[0])
			return d
		}, []*kernels.Tensor{rnd(52, 2, 4, 64, 256)}},
		{"ModelRandom", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			cfg := small(t, "vmamba-tiny")
			m, err := New(cfg, be, 7)
			require.NoError(t, err)
			out, err := m.ForwardBackend(context.Background(), be.FromHost(in[0]), &Options{Stages: []int{0}})
			require.NoError(t, err)
			return out.Stages[0]
		}, []*kernels.Tensor{rnd(53, 1, 3, 32, 32)}},
		{"ModelRandomBt2", func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
			cfg := small(t, "vmamba-tiny")
			m, err := New(cfg, be, 7)
			require.NoError(t, err)
			out, err := m.ForwardBackend(context.Background(), be.FromHost(in[0]), &Options{Stages: []int{0}})
			require.NoError(t, err)
			return out.Stages[0]
		}, []*kernels.Tensor{rnd(54, 2, 3, 32, 32)}},
		scanCase("ScanGrouped8", bt, 4*8, 15),
		scanCase("ScanGrouped64", bt, 4*64, 256),
		scanCase("ScanGrouped64L37", 1, 4*64, 37),
		scanCase("ScanGrouped96", bt, 4*96, 100),
	}
	bad := 0
	for _, tc := range cases {
		cpuIn := make([]*kernels.Tensor, len(tc.in))
		gpuIn := make([]*kernels.Tensor, len(tc.in))
		for i, x := range tc.in {
			cpuIn[i] = x.Clone()
			gpuIn[i] = gpu.FromHost(x.Clone())
		}
		want := tc.run(cpu, cpuIn)
		got := gpu.ToHost(tc.run(gpu, gpuIn))
		require.NoError(t, gpu.Sync())
		d := maxAbsDiff(t, tc.name, want, got)
		t.Logf("%-18s max|Δ| = %.3g", tc.name, d)
		if d > 1e-4 {
			bad++
			t.Errorf("%s differs: %.3g", tc.name, d)
		}
	}
	_ = bad
}

type opCase struct {
	name string
	run  func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor
	in   []*kernels.Tensor
}

// scanCase is VMamba's scan call: d = 4·Di channels, grouped B/C (G = 4),
// N = 1, softplus with delta_bias, D skip.
func scanCase(name string, bt, d, l int) opCase {
	return opCase{name, func(be kernels.Backend, in []*kernels.Tensor) *kernels.Tensor {
		o := be.New(bt, d, l)
		be.SelectiveScan(&kernels.ScanArgs{U: in[0], Delta: in[1], A: in[2], B: in[3], C: in[4], D: in[5], DeltaBias: in[6], DeltaSoftplus: true, Out: o})
		return o
	}, []*kernels.Tensor{randInput(34, bt, d, l), randInput(35, bt, d, l), negOnes(d, 1), randInput(36, bt, 4, 1, l), randInput(37, bt, 4, 1, l), randInput(38, d), randInput(39, d)}}
}

func negOnes(shape ...int) *kernels.Tensor {
	t := kernels.New(shape...)
	for i := range t.Data {
		t.Data[i] = -0.5 - float32(i%7)*0.1
	}
	return t
}

func scan2dCrossScan(be kernels.Backend, dst, x *kernels.Tensor)   { scan2d.CrossScan(be, dst, x) }
func scan2dCrossMerge(be kernels.Backend, dst, ys *kernels.Tensor) { scan2d.CrossMerge(be, dst, ys) }

// TestCUDALoadMatchesCPU loads the golden checkpoint on both backends and
// compares uploaded weights and the stage-0 map, to tell loading from
// compute differences.
func TestCUDALoadMatchesCPU(t *testing.T) {
	gpu := openCUDA(t)
	path := filepath.Join(golden.Dir(t, "vmamba"), "vmamba_model.safetensors")
	mc, err := Load(path, kernels.CPU(), nil)
	require.NoError(t, err)
	mg, err := Load(path, gpu, nil)
	require.NoError(t, err)
	pick := func(m *Model) map[string]*kernels.Tensor {
		b := &m.w.blocks[0][0]
		return map[string]*kernels.Tensor{"pe0W": m.w.pe0W, "pe0B": m.w.pe0B, "peN1W": m.w.peN1W, "normW": b.normW,
			"inProj": b.op.inProj, "conv": b.op.conv, "xProj": b.op.xProj, "dtProj": b.op.dtProj, "dtBias": b.op.dtBias,
			"a": b.op.a, "ds": b.op.ds, "outNormW": b.op.outNormW, "outProj": b.op.outProj, "fc1W": b.fc1W, "fc2B": b.fc2B}
	}
	wc, wg := pick(mc), pick(mg)
	for k, c := range wc {
		g := gpu.ToHost(wg[k])
		t.Logf("weight %-8s %v max|Δ| = %.3g", k, c.Shape(), maxAbsDiff(t, k, c, g))
	}
	cfg := mc.Config()
	mr, err := New(cfg, kernels.CPU(), 9)
	require.NoError(t, err)
	mrg, err := New(cfg, gpu, 9)
	require.NoError(t, err)
	x := randInput(3, 2, 3, 64, 64)
	for name, pair := range map[string][2]*Model{"loaded": {mc, mg}, "random-golden-cfg": {mr, mrg}} {
		a, err := pair[0].Forward(context.Background(), x, &Options{Stages: []int{0, 3}})
		require.NoError(t, err)
		b, err := pair[1].Forward(context.Background(), x, &Options{Stages: []int{0, 3}})
		require.NoError(t, err)
		t.Logf("%s stage0 max|Δ| = %.3g, stage3 %.3g", name, maxAbsDiff(t, "s0", a.Stages[0], b.Stages[0]), maxAbsDiff(t, "s3", a.Stages[1], b.Stages[1]))
	}
}
