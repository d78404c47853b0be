package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/internal/bench"
	"github.com/gomamba/gomamba/internal/golden"
)

func TestBenchTargets(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
		err  bool
	}{
		{nil, benchTargets, false},
		{[]string{"all"}, benchTargets, false},
		{[]string{"gemm,scan"}, []string{"gemm", "scan"}, false},
		{[]string{"VIM", "lm"}, []string{"vim", "lm"}, false},
		{[]string{"gemm", "warp"}, nil, true},
	} {
		got, err := parseTargets(c.args)
		if c.err {
			assert.ErrorContains(t, err, "unknown target", c.args)
			continue
		}
		require.NoError(t, err)
		assert.Len(t, got, len(c.want), c.args)
		for _, w := range c.want {
			assert.True(t, got[w], "%v: %s", c.args, w)
		}
	}
}

// smallKernels are quick gemm and scan settings for tests.
func smallKernels() benchFlags {
	return benchFlags{
		threads: 1, batch: 1, sizes: []int{224}, json: true,
		gemmShapes: []bench.GemmShape{{M: 8, N: 8, K: 8}, {M: 33, N: 17, K: 9}},
		scanShapes: []bench.ScanShape{{B: 1, D: 4, L: 7, N: 2}},
		gemmScale:  0.002,
		vimName:    "vim-tiny", vmName: "vmamba-tiny",
	}
}

func runBenchJSON(t *testing.T, args []string, fl benchFlags) benchReport {
	t.Helper()
	var out, progress bytes.Buffer
	require.NoError(t, runBench(context.Background(), args, fl, &out, &progress))
	var rep benchReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	assert.Contains(t, progress.String(), "bench: ")
	return rep
}

func TestBenchKernelsNoAnchor(t *testing.T) {
	t.Setenv("GOMAMBA_ANCHORS", t.TempDir())
	fl := smallKernels()
	fl.anchor = true
	rep := runBenchJSON(t, []string{"gemm", "scan"}, fl)
	require.Len(t, rep.Gemm, 2)
	require.Len(t, rep.Scan, 1)
	assert.Equal(t, "33×17×9", rep.Gemm[1].Shape)
	assert.Equal(t, "1×4×7×2", rep.Scan[0].Shape)
	for _, r := range append(rep.Gemm, rep.Scan...) {
		assert.Greater(t, r.Ours, 0.0, r.Shape)
		assert.Zero(t, r.Anchor, r.Shape)
	}
	assert.Contains(t, rep.AnchorNote, "anchor column skipped")
	assert.Equal(t, 1, rep.Machine.GOMAXPROCS)
	assert.Empty(t, rep.Vision)
	assert.Nil(t, rep.LM)

	// The table says so too.
	fl.json = false
	var out bytes.Buffer
	require.NoError(t, runBench(context.Background(), []string{"gemm"}, fl, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "note: anchor column skipped")
	assert.Contains(t, out.String(), "33×17×9")
}

func TestBenchKernelsAnchor(t *testing.T) {
	// A stand-in anchor script that records its arguments and prints a
	// figure in the real anchors' format.
	dir := t.TempDir()
	log := filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\n" +
		"case $1 in sgemm) echo \"sgemm $2 $3 $4 threads=1 gflops=0.5\";; scan) echo \"scan $2 $3 $4 $5 elems_per_s=1.0e+03 checksum=0\";; esac\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run"), []byte(script), 0o755))
	t.Setenv("GOMAMBA_ANCHORS", dir)
	fl := smallKernels()
	fl.anchor = true
	rep := runBenchJSON(t, []string{"gemm,scan"}, fl)
	require.Len(t, rep.Gemm, 2)
	require.Len(t, rep.Scan, 1)
	for _, r := range rep.Gemm {
		assert.Equal(t, 0.5, r.Anchor)
		assert.InDelta(t, r.Ours/0.5, r.Ratio, 1e-9)
	}
	assert.Equal(t, 1e3, rep.Scan[0].Anchor)
	assert.Empty(t, rep.AnchorNote)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "sgemm 8 8 8 "+itoa(rep.Gemm[0].Runs)+" --threads 1", lines[0])
	assert.Equal(t, "scan 1 4 7 2 "+itoa(rep.Scan[0].Runs)+" --threads 1", lines[2])
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestBenchVisionPlot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vmamba-tiny (30M parameters)")
	}
	fl := smallKernels()
	fl.threads = 2
	fl.sizes = []int{32, 64}
	fl.plot = filepath.Join(t.TempDir(), "scaling.png")
	rep := runBenchJSON(t, []string{"vim", "vmamba"}, fl)
	require.Len(t, rep.Vision, 4)
	for i, want := range []struct {
		model        string
		side, tokens int
	}{
		{"vim-tiny", 32, 2*2 + 1}, {"vim-tiny", 64, 4*4 + 1},
		{"vmamba-tiny", 32, 8 * 8}, {"vmamba-tiny", 64, 16 * 16},
	} {
		r := rep.Vision[i]
		assert.Equal(t, want.model, r.Model)
		assert.Equal(t, want.side, r.Side)
		assert.Equal(t, want.tokens, r.Tokens)
		assert.GreaterOrEqual(t, r.Runs, 1)
		assert.InDelta(t, 1e3/r.ImagesPerS, r.MsPerImage, 1e-6*r.MsPerImage)
		assert.InDelta(t, 1e3*r.MsPerImage/float64(r.Tokens), r.UsPerToken, 1e-6*r.UsPerToken)
		assert.LessOrEqual(t, r.MsPerImage, r.MedianMsPerImg)
		assert.Greater(t, r.PeakRSSMiB, 1.0)
		assert.Greater(t, r.PeakHeapMiB, 1.0)
	}
	b, err := os.ReadFile(fl.plot)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("\x89PNG")))
	assert.Equal(t, fl.plot, rep.Plot)
}

func TestBenchLMTarget(t *testing.T) {
	dir := filepath.Join(golden.Dir(t, "mambabyte"), "mamba_ssm")
	fl := smallKernels()
	fl.batch = 2
	fl.lm = benchLMFlags{model: dir, prompt: 8, tokens: 3, repeat: 1}
	rep := runBenchJSON(t, []string{"lm"}, fl)
	require.NotNil(t, rep.LM)
	assert.Equal(t, 2, rep.LM.Batch)
	assert.Greater(t, rep.LM.PrefillTokensPerS, 0.0)
	assert.Greater(t, rep.LM.DecodeTokensPerS, 0.0)

	// The same through the command line, and through the old name.
	for _, args := range [][]string{
		{"bench", "lm", "--model", dir, "--prompt", "4", "--tokens", "2", "--repeat", "1", "--json"},
		{"bench-lm", "--model", dir, "--prompt", "4", "--tokens", "2", "--repeat", "1", "--json"},
	} {
		var out bytes.Buffer
		rootCmd.SetArgs(args)
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&bytes.Buffer{})
		require.NoError(t, rootCmd.Execute(), args)
		assert.Contains(t, out.String(), `"decode_tokens_per_s"`, args)
	}
	rootCmd.SetArgs(nil)
	rootCmd.SetOut(nil)
	rootCmd.SetErr(nil)
}

func TestBenchBadFlags(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		args []string
		mod  func(*benchFlags)
		want string
	}{
		{[]string{"vim"}, func(f *benchFlags) { f.sizes = []int{8} }, "--size 8"},
		{[]string{"vim"}, func(f *benchFlags) { f.sizes = nil }, "no sizes"},
		{[]string{"gemm"}, func(f *benchFlags) { f.plot = "x.png" }, "--plot needs"},
		{[]string{"gemm"}, func(f *benchFlags) { f.batch = 0 }, "--batch"},
		{[]string{"vim"}, func(f *benchFlags) { f.vimName = "vim-huge"; f.sizes = []int{32} }, "unknown"},
		{[]string{"lm"}, func(f *benchFlags) { f.lm = benchLMFlags{preset: "mamba-9b", prompt: 1, tokens: 2, repeat: 1} }, "unknown"},
	} {
		fl := smallKernels()
		fl.minTime = time.Millisecond
		c.mod(&fl)
		err := runBench(ctx, c.args, fl, &bytes.Buffer{}, &bytes.Buffer{})
		assert.ErrorContains(t, err, c.want, c.args)
	}
}

func TestBenchCPUProfile(t *testing.T) {
	fl := smallKernels()
	fl.cpuProf = filepath.Join(t.TempDir(), "cpu.pprof")
	runBenchJSON(t, []string{"gemm"}, fl)
	st, err := os.Stat(fl.cpuProf)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(0))
	fl.cpuProf = filepath.Join(t.TempDir(), "no", "such", "dir.pprof")
	assert.ErrorContains(t, runBench(context.Background(), []string{"gemm"}, fl, &bytes.Buffer{}, &bytes.Buffer{}), "--cpuprofile")
}

func TestBenchPlotSeries(t *testing.T) {
	rs := []visionResult{
		{Model: "vim-tiny", Side: 512, Tokens: 1025, MsPerImage: 100, UsPerToken: 100e3 / 1025, CPUMsPerImage: 180},
		{Model: "vim-tiny", Side: 224, Tokens: 197, MsPerImage: 20, UsPerToken: 20e3 / 197, CPUMsPerImage: 36},
		{Model: "vmamba-tiny", Side: 224, Tokens: 3136, MsPerImage: 50, UsPerToken: 50e3 / 3136},
	}
	ss := plotSeries(rs, 2)
	require.Len(t, ss, 3) // two wall lines, one CPU line (vmamba has no CPU figure)
	assert.Equal(t, "vim-tiny wall (best)", ss[0].Name)
	assert.Equal(t, []int{224, 512}, []int{ss[0].Points[0].Side, ss[0].Points[1].Side})
	assert.Equal(t, "vim-tiny CPU time / 2", ss[2].Name)
	assert.Equal(t, 18.0, ss[2].Points[0].MsPerImage)
	assert.InDelta(t, 18e3/197, ss[2].Points[0].UsPerToken, 1e-9)
}
