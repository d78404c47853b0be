package vim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/checkpoint"
	"github.com/gomamba/gomamba/internal/golden"
	"github.com/gomamba/gomamba/kernels"
)

// small is a tiny configuration for fast tests.
func small(cls ClsPlacement) Config {
	return Config{Name: "small", ImgSize: 32, Patch: 8, Stride: 8, Channels: 3, EmbedDim: 16, Depth: 3,
		DState: 4, DConv: 4, Expand: 2, NumClasses: 5, NormEps: 1e-5, Cls: cls, FinalPool: "mean", DivideOut: true, Eval: ImageNetEval}
}

func randInput(seed uint64, shape ...int) *kernels.Tensor {
	x := kernels.New(shape...)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range x.Data {
		x.Data[i] = float32(r.NormFloat64())
	}
	return x
}

func TestPresets(t *testing.T) {
	want := map[string]struct{ c, stride, rows int }{
		"vim-tiny": {192, 16, 197}, "vim-tiny+": {192, 8, 730}, "vim-small": {384, 16, 197},
		"vim-small+": {384, 8, 730}, "vim-base": {768, 16, 197},
	}
	require.Len(t, Presets(), len(want))
	for name, w := range want {
		cfg, ok := Preset(name)
		require.True(t, ok, name)
		require.NoError(t, cfg.Validate())
		require.Equal(t, w.c, cfg.EmbedDim)
		require.Equal(t, w.stride, cfg.Stride)
		require.Equal(t, w.rows, cfg.PosRows())
		require.Equal(t, (w.c+15)/16, cfg.Rank())
	}
	_, ok := Preset("vim-huge")
	require.False(t, ok)
}

// TestRoundTripAndInfer saves random models of every cls placement,
// reloads them with inferred configs and checks identical outputs.
func TestRoundTripAndInfer(t *testing.T) {
	be := kernels.CPU()
	for _, tc := range []struct {
		cls       ClsPlacement
		pool      string
		layerNorm bool
		stride    int
	}{{ClsMiddle, "mean", false, 8}, {ClsDouble, "mean", true, 8}, {ClsNone, "mean", false, 4}, {ClsNone, "none", false, 8}, {ClsHead, "mean", false, 8}} {
		t.Run(fmt.Sprint(tc.cls, tc.pool, tc.layerNorm, tc.stride), func(t *testing.T) {
			cfg := small(tc.cls)
			cfg.FinalPool, cfg.LayerNorm, cfg.Stride = tc.pool, tc.layerNorm, tc.stride
			m, err := NewRandom(cfg, be, 7)
			require.NoError(t, err)
			dir := t.TempDir()
			path := filepath.Join(dir, "m.safetensors")
			require.NoError(t, checkpoint.SaveSafetensors(path, m.StateDict(), nil))
			// Shapes cannot tell head from middle, nor the pooling, nor a
			// non-224 stride: say it in config.json.
			side := fmt.Sprintf(`{"model_kwargs": {"use_middle_cls_token": %v, "final_pool_type": %q, "stride": %d, "img_size": 32}}`, tc.cls != ClsHead, tc.pool, tc.stride)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(side), 0o644))
			m2, err := Load(path, be)
			require.NoError(t, err)
			got := m2.Config()
			got.Name = cfg.Name
			cfg.DTRank, cfg.Eval.InputSize = cfg.Rank(), cfg.ImgSize // what inference makes explicit
			require.Equal(t, cfg, got)
			x := randInput(3, 2, 3, 40, 48) // non-native size
			f1, l1, err := m.Forward(context.Background(), x)
			require.NoError(t, err)
			f2, l2, err := m2.Forward(context.Background(), x)
			require.NoError(t, err)
			require.Equal(t, f1.Data, f2.Data)
			require.Equal(t, l1.Data, l2.Data)
		})
	}
}

func TestDenseFeatures(t *testing.T) {
	be := kernels.CPU()
	for _, cls := range []ClsPlacement{ClsMiddle, ClsHead, ClsDouble, ClsNone} {
		t.Run(cls.String(), func(t *testing.T) {
			m, err := NewRandom(small(cls), be, 1)
			require.NoError(t, err)
			x := randInput(2, 2, 3, 32, 40) // 4×5 grid
			maps, err := m.DenseFeatures(context.Background(), x, []int{0, -1, 1}, MixerOutput)
			require.NoError(t, err)
			require.Len(t, maps, 3)
			for _, fm := range maps {
				require.Equal(t, []int{2, 16, 4, 5}, fm.Shape())
			}
			// Block 0's map is the mixer output with the cls token(s)
			// removed, transposed to channel-first.
			var tokens *kernels.Tensor
			ws := m.workspace()
			_, _, _, err = m.run(context.Background(), ws, x, func(i int, hidden, _ *kernels.Tensor) error {
				if i == 0 {
					tokens = hidden.Clone()
				}
				return nil
			})
			require.NoError(t, err)
			l, c := tokens.Dim(1), tokens.Dim(2)
			require.Equal(t, 20+cls.NumTokens(), l)
			isCls := map[int]bool{}
			for _, i := range m.clsIndex(20) {
				isCls[i] = true
			}
			for b := range 2 {
				p := 0
				for tok := range l {
					if isCls[tok] {
						continue
					}
					for ch := range c {
						require.Equal(t, tokens.Data[(b*l+tok)*c+ch], maps[0].Data[(b*c+ch)*20+p])
					}
					p++
				}
				require.Equal(t, 20, p)
			}
			res, err := m.DenseFeatures(context.Background(), x, []int{2}, ResidualStream)
			require.NoError(t, err)
			require.Equal(t, []int{2, 16, 4, 5}, res[0].Shape())
			_, err = m.DenseFeatures(context.Background(), x, []int{3}, MixerOutput)
			require.ErrorContains(t, err, "out of range")
		})
	}
}

func TestBadInputs(t *testing.T) {
	be := kernels.CPU()
	m, err := NewRandom(small(ClsMiddle), be, 1)
	require.NoError(t, err)
	_, _, err = m.Forward(context.Background(), randInput(1, 1, 3, 4, 4))
	require.ErrorContains(t, err, "smaller than one")
	_, _, err = m.Forward(context.Background(), randInput(1, 1, 1, 32, 32))
	require.ErrorContains(t, err, "want (batch, 3, H, W)")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = m.Forward(ctx, randInput(1, 1, 3, 32, 32))
	require.ErrorIs(t, err, context.Canceled)
}

// TestWrongCheckpoints: another family is refused by name; a damaged Vim
// state dict is refused with every problem listed.
func TestWrongCheckpoints(t *testing.T) {
	be := kernels.CPU()
	vm := golden.Dir(t, "vmamba")
	ents, err := os.ReadDir(vm)
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "vmamba_model.") {
			_, err := Load(filepath.Join(vm, e.Name()), be)
			require.ErrorIs(t, err, ErrNotVim)
			require.ErrorContains(t, err, e.Name())
			n++
		}
	}
	require.NotZero(t, n)

	m, err := NewRandom(small(ClsMiddle), be, 1)
	require.NoError(t, err)
	sd := m.StateDict()
	var bad []checkpoint.Named
	for _, nt := range sd {
		switch nt.Name {
		case "layers.1.mixer.D_b": // missing
		case "layers.2.mixer.x_proj_b.weight": // wrong shape
			bad = append(bad, checkpoint.Named{Name: nt.Name, Tensor: kernels.New(3, 3)})
		default:
			bad = append(bad, nt)
		}
	}
	bad = append(bad, checkpoint.Named{Name: "layers.0.mixer.gamma", Tensor: kernels.New(16)})
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	require.NoError(t, checkpoint.SaveSafetensors(path, bad, nil))
	f, err := checkpoint.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = FromCheckpoint(f, small(ClsMiddle), be)
	var be2 *checkpoint.BindError
	require.True(t, errors.As(err, &be2), "%v", err)
	require.Equal(t, []string{"layers.1.mixer.D_b"}, be2.Missing)
	require.Equal(t, []string{"layers.0.mixer.gamma"}, be2.Unexpected)
	require.Len(t, be2.Mismatched, 1)
	t.Log(err)

	// Truncated file.
	full, err := os.ReadFile(filepath.Join(golden.Dir(t, "vim"), "vim_model.safetensors"))
	require.NoError(t, err)
	tr := filepath.Join(t.TempDir(), "trunc.safetensors")
	require.NoError(t, os.WriteFile(tr, full[:len(full)/2], 0o644))
	_, err = Load(tr, be)
	require.Error(t, err)
	require.ErrorContains(t, err, "trunc.safetensors")
	t.Log(err)
}

// BenchmarkVimTiny runs a randomly initialised vim-tiny on one image at
// 224² and 1024² and reports images/s and the process's peak RSS.
func BenchmarkVimTiny(b *testing.B) {
	cfg, _ := Preset("vim-tiny")
	be := kernels.CPU()
	m, err := NewRandom(cfg, be, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{224, 1024} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			x := randInput(1, 1, 3, size, size)
			if _, _, err := m.Forward(context.Background(), x); err != nil { // warm the pos cache
				b.Fatal(err)
			}
			cpu0 := cpuSeconds()
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := m.Forward(context.Background(), x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
			// CPU seconds per image: comparable even on a loaded machine.
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/image")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
			if hwm := vmHWM(); hwm > 0 {
				b.ReportMetric(hwm, "MiB-peakRSS")
			}
		})
	}
}

// vmHWM returns VmHWM from /proc/self/status in MiB (0 when unavailable).
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds returns the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// TestSteadyStateAllocs: after a warm-up call, a forward pass allocates only
// its outputs and bookkeeping, never activations (scratch is reused), so the
// bytes allocated per call do not grow with the token count.
func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops pooled GEMM/scan scratch on purpose, so allocation counts mean nothing")
	}
	be := kernels.CPU()
	m, err := NewRandom(small(ClsMiddle), be, 1)
	require.NoError(t, err)
	perCall := func(side int) uint64 {
		x := randInput(1, 1, 3, side, side)
		for range 2 {
			_, _, err := m.Forward(context.Background(), x)
			require.NoError(t, err)
		}
		// The minimum over rounds discounts a garbage collection emptying
		// the backend's pooled scratch in the middle of one round.
		best := uint64(math.MaxUint64)
		for range 4 {
			var a, b runtime.MemStats
			runtime.ReadMemStats(&a)
			const n = 3
			for range n {
				m.Forward(context.Background(), x)
			}
			runtime.ReadMemStats(&b)
			best = min(best, (b.TotalAlloc-a.TotalAlloc)/n)
		}
		return best
	}
	small, large := perCall(32), perCall(256) // 17 vs 1025 tokens
	t.Logf("bytes allocated per forward: %d (17 tokens), %d (1025 tokens)", small, large)
	// One activation tensor at 1025 tokens is 1025·32·4 = 131 kB.
	require.Less(t, large, uint64(64<<10))
}

// TestStride8Inference: a "+"-style checkpoint (patch 16, stride 8, 224²,
// 27×27 grid) is recognised from its pos_embed length alone, and runs at
// its native size and at another one.
func TestStride8Inference(t *testing.T) {
	be := kernels.CPU()
	cfg, _ := Preset("vim-tiny+")
	cfg.EmbedDim, cfg.Depth, cfg.NumClasses = 16, 1, 7
	m, err := NewRandom(cfg, be, 2)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "plus.safetensors")
	require.NoError(t, checkpoint.SaveSafetensors(path, m.StateDict(), nil))
	m2, err := Load(path, be)
	require.NoError(t, err)
	got := m2.Config()
	require.Equal(t, 8, got.Stride)
	require.Equal(t, 224, got.ImgSize)
	require.Equal(t, 730, got.PosRows())
	for _, side := range []int{224, 96} {
		x := randInput(4, 1, 3, side, side)
		f1, _, err := m.Forward(context.Background(), x)
		require.NoError(t, err)
		f2, _, err := m2.Forward(context.Background(), x)
		require.NoError(t, err)
		require.Equal(t, f1.Data, f2.Data)
	}
}
