package vmamba

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/kernels"
)

// peakRSS returns the process's peak resident set size in bytes (VmHWM),
// or 0 where /proc is unavailable.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// BenchmarkVMambaTiny runs a random-init vmamba-tiny (T s1l8, 30M
// parameters) on one image per op at 224² and 1024², reporting images/s,
// the scratch estimate and the process's peak RSS (run the sizes in
// separate processes with -bench 'VMambaTiny/1024' for a clean peak).
func BenchmarkVMambaTiny(b *testing.B) {
	cfg, _ := Preset("vmamba-tiny")
	m, err := New(cfg, kernels.CPU(), 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, side := range []int{224, 1024} {
		b.Run(fmt.Sprintf("%dx%d", side, side), func(b *testing.B) {
			x := randInput(side, 1, 3, side, side)
			opts := &Options{Stages: []int{0, 1, 2, 3}}
			ctx := context.Background()
			for b.Loop() {
				if _, err := m.Forward(ctx, x, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(m.EstimateBytes(1, side, side))/(1<<20), "est-scratch-MiB")
			b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
		})
	}
}
