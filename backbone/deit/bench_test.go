package deit

import (
	"context"
	"fmt"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// flops counts the multiply-adds ×2 of one image through the trunk and head
// at a gh×gw grid: patch conv, qkv/proj/MLP linears, q·kᵀ and attn·v.
func flops(cfg Config, gh, gw int) float64 {
	c, hid, l := float64(cfg.EmbedDim), float64(cfg.MLPHidden), float64(gh*gw+1)
	patchK := float64(cfg.Channels * cfg.Patch * cfg.Patch)
	f := 2 * float64(gh*gw) * patchK * c
	perBlock := 2*l*c*(3*c) + 2*l*c*c + 2*2*l*c*hid + 2*2*l*l*c
	return f + float64(cfg.Depth)*perBlock + 2*c*float64(cfg.NumClasses)
}

func benchForward(b *testing.B, preset string, bt, side int) {
	cfg, _ := Preset(preset)
	m, err := NewRandom(cfg, kernels.CPU(), 1)
	if err != nil {
		b.Fatal(err)
	}
	x := randInput(bt, 3, side, side, 0)
	ctx := context.Background()
	if _, _, err := m.Forward(ctx, x); err != nil { // warm the workspace
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if _, _, err := m.Forward(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1e3/float64(b.N*bt), "cpu-ms/image")
	b.ReportMetric(float64(b.N*bt)/sec, "images/s")
	b.ReportMetric(flops(cfg, side/16, side/16)*float64(b.N*bt)/sec/1e9, "GFLOP/s")
}

// BenchmarkDeiTTiny runs deit-tiny (random weights) on 224² images, batch 1
// and 8; compare GFLOP/s with the anchors' OpenBLAS SGEMM from the same run.
func BenchmarkDeiTTiny(b *testing.B) {
	for _, bt := range []int{1, 8} {
		b.Run(fmt.Sprintf("224/batch%d", bt), func(b *testing.B) { benchForward(b, "deit-tiny", bt, 224) })
	}
}

// BenchmarkDeiTSmall is deit-small at 224², batch 1.
func BenchmarkDeiTSmall(b *testing.B) { benchForward(b, "deit-small", 1, 224) }
