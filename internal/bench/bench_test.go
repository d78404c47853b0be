package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeLoop(t *testing.T) {
	for _, c := range []struct {
		name      string
		loop      Loop
		wantCalls int
	}{
		{"min runs", Loop{Warmup: 2, MinRuns: 3}, 5},
		{"zero min runs means one", Loop{}, 1},
		{"max runs caps min time", Loop{MinRuns: 1, MaxRuns: 4, MinTime: time.Hour}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			tm, err := Time(context.Background(), c.loop, func() error { calls++; return nil })
			require.NoError(t, err)
			assert.Equal(t, c.wantCalls, calls)
			assert.Equal(t, c.wantCalls-c.loop.Warmup, tm.Runs)
			assert.LessOrEqual(t, tm.Best, tm.Median)
		})
	}
	boom := errors.New("boom")
	_, err := Time(context.Background(), Loop{MinRuns: 3}, func() error { return boom })
	assert.ErrorIs(t, err, boom)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Time(ctx, Loop{MinRuns: 3}, func() error { return nil })
	assert.ErrorIs(t, err, context.Canceled)
}

func TestParseFigure(t *testing.T) {
	for _, c := range []struct {
		out, key string
		want     float64
		err      bool
	}{
		{"sgemm 197 768 192 threads=1 gflops=81.1\n", "gflops", 81.1, false},
		{"scan 1 384 197 16 elems_per_s=1.869e+08 checksum=-3.47e+01\n", "elems_per_s", 1.869e8, false},
		{"scan 1 2 3 4 elems_per_s=1e8\nscan 1 2 3 4 elems_per_s=2e8\n", "elems_per_s", 2e8, false},
		{"sgemm threads=1 gflops=abc", "gflops", 0, true},
		{"nothing here", "gflops", 0, true},
	} {
		got, err := ParseFigure(c.out, c.key)
		if c.err {
			assert.Error(t, err, c.out)
			continue
		}
		require.NoError(t, err, c.out)
		assert.InDelta(t, c.want, got, 1e-6*c.want)
	}
}

func TestFindAnchor(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOMAMBA_ANCHORS", dir)
	_, err := FindAnchor()
	assert.ErrorIs(t, err, ErrNoAnchor)
	assert.Contains(t, err.Error(), filepath.Join(dir, "run"))
	script := filepath.Join(dir, "run")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" gflops=12.5\n"), 0o755))
	got, err := FindAnchor()
	require.NoError(t, err)
	assert.Equal(t, script, got)
	v, err := RunAnchor(context.Background(), got, 2, "gflops", GemmShape{3, 4, 5}.Args(7)...)
	require.NoError(t, err)
	assert.Equal(t, 12.5, v)
	_, err = RunAnchor(context.Background(), got, 2, "elems_per_s", "scan")
	assert.ErrorContains(t, err, "no elems_per_s=")
}

func TestKernelsSmall(t *testing.T) {
	g, runs, err := Gemm(context.Background(), GemmShape{33, 17, 9}, 0.001)
	require.NoError(t, err)
	assert.Greater(t, g, 0.0)
	assert.Equal(t, 2, runs) // GemmReps clamps to 2000; ×0.001 = 2
	e, runs, err := Scan(context.Background(), ScanShape{2, 8, 13, 4}, 3)
	require.NoError(t, err)
	assert.Greater(t, e, 0.0)
	assert.GreaterOrEqual(t, runs, 3)
	a := ScanArgs(ScanShape{2, 8, 13, 4})
	assert.Equal(t, []int{2, 4, 13}, a.B.Shape())
	assert.Equal(t, []int{2, 8, 13}, a.Out.Shape())
	assert.Equal(t, 2000, GemmReps(GemmShape{100, 100, 1}))
	assert.Equal(t, 3, GemmReps(GemmShape{4096, 4096, 4096}))
}

func TestSys(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	require.NoError(t, ResetPeakRSS())
	before, err := PeakRSS()
	require.NoError(t, err)
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after, err := PeakRSS()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after-before, int64(60<<20), "peak RSS must see a touched 64 MiB buffer")
	runtime.KeepAlive(buf)
	assert.NotEmpty(t, CPUModel())
	assert.GreaterOrEqual(t, LoadAvg(), 0.0)
	c, ok := CPUTime()
	assert.True(t, ok)
	assert.Greater(t, c, time.Duration(0))
}

func TestPlotScaling(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.png")
	err := PlotScaling(path, []Series{
		{Name: "a", Points: []Point{{224, 10, 50}, {512, 50, 48}, {1024, 200, 47}}},
		{Name: "b", Points: []Point{{224, 30, 9}}},
	})
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")))
	assert.Error(t, PlotScaling(path, nil))
	assert.ErrorContains(t, PlotScaling(path, []Series{{Name: "z", Points: []Point{{224, 0, 1}}}}), "not positive")
}

func TestLogTicks(t *testing.T) {
	ts := logTicks{}.Ticks(150, 2100)
	var vals []float64
	for _, tk := range ts {
		vals = append(vals, tk.Value)
	}
	assert.Equal(t, []float64{200, 500, 1000, 2000}, vals)
	assert.Equal(t, "1000", ts[2].Label)
	assert.Len(t, logTicks{}.Ticks(3, 4), 2) // no nice value inside: the ends
	st := sideTicks([]Series{{Points: []Point{{Side: 512}, {Side: 224}}}, {Points: []Point{{Side: 224}}}})
	require.Len(t, st, 2)
	assert.Equal(t, "224", st[0].Label)
	assert.Empty(t, logTicks{}.Ticks(0, 4))
}
