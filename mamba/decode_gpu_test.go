package mamba

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
)

// TestDecodePathsCUDA runs prefill + recurrent steps of the same random
// model on the CPU and on the GPU through every decode path (generic ops,
// fused kernels, fused kernels replayed as a CUDA graph), for a small model,
// one with biases, an untied head, d_state 16 and a ragged batch, and the
// mamba-130m shape, and compares every step's logits with the CPU's.
func TestDecodePathsCUDA(t *testing.T) {
	be := openCUDA(t)
	biased := smallConfig()
	biased.TieEmbeddings, biased.Bias, biased.DTRank, biased.DState = false, true, 3, 16
	big, _ := Preset("mamba-130m")
	big.NLayer = 4
	cases := []struct {
		name   string
		cfg    Config
		prefix []int
		steps  int
	}{
		{"small", smallConfig(), []int{5}, 12},
		{"bias-untied-n16-ragged", biased, []int{2, 7, 5}, 10},
		{"130m-shape-4layers", big, []int{9}, 6},
		{"batch9-generic-fallback", smallConfig(), []int{3, 3, 3, 3, 3, 3, 3, 3, 3}, 4},
	}
	for _, tc := range cases {
		cpuM := randomModel(t, tc.cfg, 11)
		gpuM := randomModelOn(t, tc.cfg, 11, be)
		rng := rand.New(rand.NewPCG(8, 9))
		v := tc.cfg.PaddedVocab()
		prompts := make([][]int, len(tc.prefix))
		for b, l := range tc.prefix {
			for range l {
				prompts[b] = append(prompts[b], rng.IntN(tc.cfg.VocabSize))
			}
		}
		toks := make([][]int, tc.steps)
		for i := range toks {
			for range prompts {
				toks[i] = append(toks[i], rng.IntN(v))
			}
		}
		run := func(t *testing.T, m *Model, path DecodePath) []*kernels.Tensor {
			st, err := m.NewState(len(prompts))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Release()
			st.SetDecodePath(path)
			ctx := context.Background()
			if _, err := st.Prefill(ctx, prompts); err != nil {
				t.Fatal(err)
			}
			var out []*kernels.Tensor
			for _, tk := range toks {
				lg, err := st.Step(ctx, tk)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, lg.Clone())
			}
			return out
		}
		want := run(t, cpuM, DecodeGeneric)
		for _, path := range []DecodePath{DecodeGeneric, DecodeFused, DecodeAuto} {
			t.Run(fmt.Sprintf("%s/%s", tc.name, path), func(t *testing.T) {
				got := run(t, gpuM, path)
				worst := 0.0
				for i := range want {
					worst = max(worst, maxDiff(t, fmt.Sprint("step ", i), want[i], got[i]))
				}
				if worst > tol {
					t.Errorf("step logits: max |diff| %.3g vs the CPU, tolerance %.1g", worst, tol)
				} else {
					t.Logf("step logits max |diff| %.3g vs the CPU over %d steps", worst, len(want))
				}
			})
		}
		gpuM.Release()
	}
}

// BenchmarkDecodePathsCUDA is BenchmarkDecodeCUDA (mamba-130m shape, batch
// 1, logits brought back and argmax'ed every step) for each decode path.
func BenchmarkDecodePathsCUDA(b *testing.B) {
	be := openCUDA(b)
	m := gpuModel130m(b, be)
	for _, path := range []DecodePath{DecodeGeneric, DecodeFused, DecodeAuto} {
		b.Run(path.String(), func(b *testing.B) {
			st, err := m.NewState(1)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Release()
			st.SetDecodePath(path)
			ctx := context.Background()
			if _, err := st.Prefill(ctx, [][]int{{1, 2, 3, 4, 5, 6, 7, 8}}); err != nil {
				b.Fatal(err)
			}
			tok := []int{42}
			for range 3 { // warm-up (and the graph capture)
				lg, err := st.Step(ctx, tok)
				if err != nil {
					b.Fatal(err)
				}
				tok[0] = argmax(lg.Data)
			}
			b.ResetTimer()
			for range b.N {
				lg, err := st.Step(ctx, tok)
				if err != nil {
					b.Fatal(err)
				}
				tok[0] = argmax(lg.Data)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/token")
			// Where the time goes: the Go side's time to queue one step
			// (launches, no wait) and the GPU's time for it (CUDA events
			// around 20 queued steps; gaps where the GPU waits for launches
			// count too).
			b.StopTimer()
			cb, ok := be.(*cuda.Backend)
			if !ok {
				return
			}
			var db decodeBackend
			if path != DecodeGeneric {
				db = m.fusedDecoder(1)
			}
			x := st.ws.Get(be, "mamba.step.x", 1, m.Config.DModel)
			logits := st.ws.Get(be, "mamba.gen.logits", 1, m.Config.PaddedVocab())
			const reps = 20
			var queue time.Duration
			gpu, err := cb.GPUTime(func() {
				for range reps {
					t0 := time.Now()
					if err := st.runStep(db, x, logits); err != nil {
						b.Fatal(err)
					}
					queue += time.Since(t0)
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(queue.Seconds()*1e3/reps, "queue-ms/token")
			b.ReportMetric(gpu.Seconds()*1e3/reps, "gpu-ms/token")
		})
	}
}
