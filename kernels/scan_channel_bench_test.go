package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// BenchmarkScanVsAnchor runs SelectiveScan on the anchor's shapes (softplus
// on Δ with a bias, z gate, D skip, time-varying B and C) on 1 and 2
// threads, and reports the plain-C anchor's elements/s for the same shape
// from the same process (anchor-elem/s, ratio = best ours / anchor; the
// anchor is single-threaded and reports its best repetition, run with as
// many as our loop made, so best-elem/s is our fastest call).
func BenchmarkScanVsAnchor(b *testing.B) {
	for _, s := range []struct{ bt, d, l, n int }{{1, 384, 197, 16}, {1, 384, 4096, 16}, {2, 768, 1024, 16}} {
		r := rand.New(rand.NewPCG(51, 52))
		a := randScan(r, s.bt, s.d, s.l, s.n, "var", "var", 1, true)
		elems := float64(s.bt * s.d * s.l * s.n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d/threads=%d", s.bt, s.d, s.l, s.n, threads), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
				be := CPU()
				best := loopBest(b, func() { be.SelectiveScan(a) })
				b.ReportMetric(elems*float64(b.N)/b.Elapsed().Seconds(), "elem/s")
				ours := elems / best.Seconds()
				b.ReportMetric(ours, "best-elem/s")
				b.ReportMetric(0, "ns/op")
				if anchor := anchorFigure(b, "elems_per_s", b.N, "scan", strconv.Itoa(s.bt), strconv.Itoa(s.d), strconv.Itoa(s.l), strconv.Itoa(s.n)); anchor > 0 {
					b.ReportMetric(anchor, "anchor-elem/s")
					b.ReportMetric(ours/anchor, "ratio")
				}
			})
		}
	}
}

// BenchmarkScanPaths compares the SIMD and pure-Go scan paths on one
// thread: N = 16 (Mamba, Vim) and N = 1 (VMamba v2 stage 1: 4 directions ×
// 96 channels over 56×56 tokens, grouped B/C, no z gate).
func BenchmarkScanPaths(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, s := range []struct {
		name         string
		bt, d, l, n  int
		bKind, cKind string
		g            int
		opts         bool
	}{
		{"vim_N16", 1, 384, 197, 16, "var", "var", 1, true},
		{"vmamba_N1", 1, 384, 3136, 1, "grp", "grp", 4, false},
	} {
		r := rand.New(rand.NewPCG(53, 54))
		a := randScan(r, s.bt, s.d, s.l, s.n, s.bKind, s.cKind, s.g, s.opts)
		a.DeltaSoftplus = true
		elems := float64(s.bt * s.d * s.l * s.n)
		for _, path := range []string{"simd", "go"} {
			b.Run(s.name+"/"+path, func(b *testing.B) {
				prev := asm.SetEnabled(path == "simd")
				defer asm.SetEnabled(prev)
				be := CPU()
				best := loopBest(b, func() { be.SelectiveScan(a) })
				b.ReportMetric(elems/best.Seconds(), "best-elem/s")
			})
		}
	}
}

// BenchmarkScanShapes runs SelectiveScan (Mamba's options) on one thread
// over shapes that vary one of Bt, D and L around the anchor's
// (2, 768, 1024, 16), forward and reversed, to show which one changes the
// speed per state update (cache and prefetch behaviour of the channel
// blocks and time chunks).
func BenchmarkScanShapes(b *testing.B) {
	for _, s := range []struct{ bt, d, l, n int }{
		{1, 384, 197, 16}, {1, 384, 1024, 16}, {1, 768, 1024, 16}, {2, 768, 1024, 16},
		{1, 1536, 1024, 16}, {1, 384, 4096, 16}, {1, 384, 2048, 16},
	} {
		r := rand.New(rand.NewPCG(55, 56))
		a := randScan(r, s.bt, s.d, s.l, s.n, "var", "var", 1, true)
		elems := float64(s.bt * s.d * s.l * s.n)
		for _, rev := range []bool{false, true} {
			dir := "fwd"
			if rev {
				dir = "rev"
			}
			b.Run(fmt.Sprintf("%dx%dx%dx%d/%s", s.bt, s.d, s.l, s.n, dir), func(b *testing.B) {
				// Per sub-benchmark: the testing package sets GOMAXPROCS
				// to its -cpu value before each one.
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				a.Reverse = rev
				be := CPU()
				best := loopBest(b, func() { be.SelectiveScan(a) })
				b.ReportMetric(elems/best.Seconds(), "best-elem/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
