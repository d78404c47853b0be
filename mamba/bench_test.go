package mamba

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

var (
	bench130m     *Model
	bench130mOnce sync.Once
)

// model130m is a random model with the shapes of state-spaces/mamba-130m
// (d_model 768, 24 layers, vocab 50280), built once per test binary.
func model130m(b *testing.B) *Model {
	bench130mOnce.Do(func() {
		cfg, _ := Preset("mamba-130m")
		bench130m = randomModel(b, cfg, 1)
	})
	return bench130m
}

// flopsPerToken counts the multiply-adds ×2 of one token through every
// block's linear layers (in_proj, x_proj, dt_proj, out_proj), plus the LM
// head when head is set.
func flopsPerToken(c Config, head bool) float64 {
	d, e, n, r := float64(c.DModel), float64(c.Inner()), float64(c.DState), float64(c.Rank())
	f := float64(c.NLayer) * 2 * (2*e*d + (r+2*n)*e + e*r + d*e)
	if head {
		f += 2 * float64(c.PaddedVocab()) * d
	}
	return f
}

// anchor runs ../shared/anchors/run with args (same thread count as Go
// uses) and returns the number after key=, or 0 when the anchor cannot run.
func anchor(b *testing.B, key string, args ...string) float64 {
	script := filepath.Join(golden.Root(), "..", "anchors", "run")
	args = append(args, "--threads", strconv.Itoa(runtime.GOMAXPROCS(0)))
	out, err := exec.Command(script, args...).CombinedOutput()
	if err != nil {
		b.Logf("anchor %v unavailable: %v", args, err)
		return 0
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			x, _ := strconv.ParseFloat(v, 64)
			b.Logf("anchor: %s", strings.TrimSpace(string(out)))
			return x
		}
	}
	return 0
}

// BenchmarkPrefill runs the parallel-scan prompt pass of a mamba-130m-shaped
// model (batch 1, 128 tokens) and reports prompt tokens/s and GFLOP/s beside
// OpenBLAS's GFLOP/s on the in_proj GEMM shape (anchor, same run and
// thread count).
func BenchmarkPrefill(b *testing.B) {
	m := model130m(b)
	const l = 128
	cfg := m.Config
	anc := anchor(b, "gflops", "sgemm", fmt.Sprint(l), fmt.Sprint(2*cfg.Inner()), fmt.Sprint(cfg.DModel))
	ids := make([]int, l)
	for i := range ids {
		ids[i] = (i * 7919) % cfg.VocabSize
	}
	st, err := m.NewState(1)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := st.Prefill(ctx, [][]int{ids}); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(l/sec, "tokens/s")
	b.ReportMetric(flopsPerToken(cfg, false)*l/sec/1e9, "GFLOP/s")
	if anc > 0 {
		b.ReportMetric(anc, "anchor-sgemm-GFLOP/s")
	}
}

// BenchmarkDecode runs recurrent steps (batch 1) of a mamba-130m-shaped
// model after a 16-token prompt and reports tokens/s, GFLOP/s and weight
// bandwidth beside OpenBLAS's GFLOP/s on the in_proj GEMV shape (anchor).
func BenchmarkDecode(b *testing.B) { benchDecode(b, model130m(b)) }

// packed130m holds one mamba-130m-shaped random model per packed weight
// precision, built on first use.
var (
	packed130m   = map[string]*Model{}
	packed130mMu sync.Mutex
)

// model130mPacked returns the random mamba-130m-shaped model stored in
// precision (Model.UsePrecision).
func model130mPacked(b *testing.B, precision string) *Model {
	packed130mMu.Lock()
	defer packed130mMu.Unlock()
	if m := packed130m[precision]; m != nil {
		return m
	}
	cfg, _ := Preset("mamba-130m")
	m := randomModel(b, cfg, 1)
	if err := m.UsePrecision(precision); err != nil {
		b.Fatal(err)
	}
	packed130m[precision] = m
	return m
}

// BenchmarkDecodeBF16 is BenchmarkDecode with bf16 weight storage
// (Model.UseBF16); weight-GB/s counts the fp32 bytes, so it compares with
// BenchmarkDecode's as a rate of parameters.
func BenchmarkDecodeBF16(b *testing.B) { benchDecode(b, model130mPacked(b, PrecisionBF16)) }

// BenchmarkDecodeInt8 is BenchmarkDecode with int8 weight storage
// (Model.UseInt8); weight-GB/s counts the fp32 bytes, as BenchmarkDecodeBF16.
func BenchmarkDecodeInt8(b *testing.B) { benchDecode(b, model130mPacked(b, PrecisionInt8)) }

// benchDecode times m's recurrent steps (see BenchmarkDecode).
func benchDecode(b *testing.B, m *Model) {
	cfg := m.Config
	anc := anchor(b, "gflops", "sgemm", "1", fmt.Sprint(2*cfg.Inner()), fmt.Sprint(cfg.DModel))
	st, err := m.NewState(1)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	prompt := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if _, err := st.Prefill(ctx, [][]int{prompt}); err != nil {
		b.Fatal(err)
	}
	tok := []int{42}
	b.ResetTimer()
	for range b.N {
		lg, err := st.Step(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		tok[0] = argmax(lg.Data)
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(1/sec, "tokens/s")
	b.ReportMetric(flopsPerToken(cfg, true)/sec/1e9, "GFLOP/s")
	b.ReportMetric(float64(cfg.Params())*4/sec/1e9, "weight-GB/s")
	if anc > 0 {
		b.ReportMetric(anc, "anchor-sgemv-GFLOP/s")
	}
}

// BenchmarkDecodeGEMV runs only the matrix-vector products of one
// mamba-130m decode step (in_proj, x_proj, dt_proj and out_proj of every
// layer, then the LM head, in the step's order, with the step's held
// helpers) for each packed storage; the gap to BenchmarkDecodeBF16/Int8 is
// the rest of the step (conv, scan update, norms, copies). bytes are the
// weights read.
func BenchmarkDecodeGEMV(b *testing.B) {
	for _, prec := range []string{PrecisionBF16, PrecisionInt8} {
		b.Run(prec, func(b *testing.B) {
			m := model130mPacked(b, prec)
			cfg := m.Config
			d, e, n, r := cfg.DModel, cfg.Inner(), cfg.DState, cfg.Rank()
			be := m.be.(kernels.PackedLinear)
			x, xz, xdbl := kernels.New(1, d), kernels.New(1, 2*e), kernels.New(1, r+2*n)
			xc, dtLow, dt, out := kernels.New(1, e), kernels.New(1, r), kernels.New(1, e), kernels.New(1, d)
			logits := kernels.New(1, cfg.PaddedVocab())
			b.SetBytes(m.WeightBytes())
			for b.Loop() {
				release := kernels.HoldWorkers()
				for i := range m.Blocks {
					mx := &m.Blocks[i].Mixer
					be.LinearPacked(xz, x, mx.inProjP, nil)
					be.LinearPacked(xdbl, xc, mx.xProjP, nil)
					be.LinearPacked(dt, dtLow, mx.dtProjP, nil)
					be.LinearPacked(out, xc, mx.outProjP, nil)
				}
				be.LinearPacked(logits, x, m.headP, nil)
				release()
			}
		})
	}
}

// BenchmarkDecodeRest runs everything of one mamba-130m decode step but
// its matrix-vector products (BenchmarkDecodeGEMV): per layer the RMSNorm,
// the x/z and dt/B/C copies, the conv step with SiLU, the scan's state
// update and the residual add, then norm_f, with the step's held helpers
// and on fixed inputs. It is the part of a step that the weight precision
// does not change.
func BenchmarkDecodeRest(b *testing.B) {
	m := model130m(b)
	cfg, be := m.Config, m.be
	d, e, n, r, k := cfg.DModel, cfg.Inner(), cfg.DState, cfg.Rank(), cfg.DConv
	fill := func(t *kernels.Tensor, seed int) *kernels.Tensor {
		for i := range t.Data {
			t.Data[i] = float32((i*7919+seed*104729)%2001-1000) / 4000
		}
		return t
	}
	x, hn, mo := fill(kernels.New(1, d), 1), kernels.New(1, d), fill(kernels.New(1, d), 2)
	xz, xdbl, dt := fill(kernels.New(1, 2*e), 3), fill(kernels.New(1, r+2*n), 4), fill(kernels.New(1, e), 5)
	xs, z, xc, y := kernels.New(1, e), kernels.New(1, e), kernels.New(1, e), kernels.New(1, e)
	dtLow, bm, cm := kernels.New(1, r), kernels.New(1, n), kernels.New(1, n)
	conv, ssm := make([]*kernels.Tensor, cfg.NLayer), make([]*kernels.Tensor, cfg.NLayer)
	for i := range conv {
		conv[i], ssm[i] = fill(kernels.New(1, e, k), 6+i), fill(kernels.New(1, e, n), 7+i)
	}
	eps := float32(cfg.NormEps)
	for b.Loop() {
		release := kernels.HoldWorkers()
		for i := range m.Blocks {
			bl := &m.Blocks[i]
			mx := &bl.Mixer
			be.RMSNorm(hn, x, bl.Norm, eps)
			be.CopyBox(xs, []int{0, 0}, xz, []int{0, 0}, []int{1, e})
			be.CopyBox(z, []int{0, 0}, xz, []int{0, e}, []int{1, e})
			be.Conv1dStep(xc, conv[i], xs, mx.ConvW, mx.ConvB, kernels.ActSiLU)
			be.CopyBox(dtLow, []int{0, 0}, xdbl, []int{0, 0}, []int{1, r})
			be.CopyBox(bm, []int{0, 0}, xdbl, []int{0, r}, []int{1, n})
			be.CopyBox(cm, []int{0, 0}, xdbl, []int{0, r + n}, []int{1, n})
			be.SelectiveStateUpdate(&kernels.StepArgs{
				State: ssm[i], X: xc, DT: dt, A: mx.A, B: bm, C: cm, D: mx.D, Z: z,
				DTBias: mx.DTProjB, DTSoftplus: true, Out: y,
			})
			be.Add(x, x, mo)
		}
		be.RMSNorm(hn, x, m.NormF, eps)
		release()
	}
}
