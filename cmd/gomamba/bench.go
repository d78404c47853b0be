package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomamba/gomamba/backbone/vim"
	"github.com/gomamba/gomamba/backbone/vmamba"
	"github.com/gomamba/gomamba/internal/bench"
	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
	"github.com/gomamba/gomamba/mamba"
)

// benchTargets are the things `gomamba bench` measures, in run order.
var benchTargets = []string{"gemm", "scan", "vim", "vmamba", "lm"}

// benchFlags are the options of `gomamba bench`.
type benchFlags struct {
	threads int
	sizes   []int
	batch   int
	json    bool
	plot    string
	anchor  bool
	minTime time.Duration
	vimName string
	vmName  string
	cpuProf string
	lm      benchLMFlags
	// vimChunkMiB is vim's activation budget per pass (0: the default);
	// hostInput keeps the input batch in host memory (vim uploads it as
	// its passes reach it) instead of uploading it before timing.
	vimChunkMiB int
	hostInput   bool

	// Test hooks: nil means the standard shapes, 0 the anchor's repetitions.
	gemmShapes []bench.GemmShape
	scanShapes []bench.ScanShape
	gemmScale  float64
}

func init() {
	var fl benchFlags
	cmd := &cobra.Command{
		Use:   "bench [gemm|scan|vim|vmamba|lm|all]... [--threads N] [--size S,...] [--batch B] [--anchor] [--json] [--plot out.png]",
		Short: "Measure kernels and models (GEMM, scan, Vim, VMamba, Mamba LM), beside the anchors",
		Long: `Measure gomamba's speed on this machine:

  gemm    GFLOP/s of kernels.Sgemm, C = A·Bᵀ, for the shapes (M×N×K) 197×768×192,
          197×192×384, 4096×384×192, 1024×1536×384 and 1024³; best of the anchor's
          repetition count (about 2·10¹⁰ flop).
  scan    elements/s (B·D·L·N state updates per second) of the CPU selective scan
          with Mamba's options (softplus Δ with bias, D skip, z gate, time-varying
          B and C) for (B,D,L,N) = (1,384,197,16), (1,384,4096,16), (2,768,1024,16).
  vim     images/s, time per image and per token, peak RSS (VmHWM) and peak Go
          heap of a vim-tiny with random weights at each --size (square images).
  vmamba  the same for vmamba-tiny.
  lm      prefill and decode tokens/s of a Mamba LM (mamba-130m shape, random
          weights; or --model DIR), as the former bench-lm command.
  all     all of the above (also the default).

--anchor runs the anchor programs (../shared/anchors/run, or $GOMAMBA_ANCHORS/run:
OpenBLAS SGEMM and a plain-C scan) for the same gemm and scan shapes in the same
run and prints their figure and ours/anchor beside ours. The anchor SGEMM uses
--threads OpenBLAS threads; the anchor scan is single-threaded.
--threads sets GOMAXPROCS. Times are the best (and median) of repeated runs after
a warm-up; progress goes to stderr. The machine's load average is printed with
each model figure: on a shared machine only figures of the same run compare.`,
		ValidArgs: append(slices.Clone(benchTargets), "all"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runBench(ctx, args, fl, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&fl.threads, "threads", 0, "GOMAXPROCS for the run (0: leave as is)")
	f.IntSliceVar(&fl.sizes, "size", []int{224}, "image sides for vim and vmamba, e.g. 224,512,1024,2048")
	f.IntVar(&fl.batch, "batch", 1, "images (vim, vmamba) or sequences (lm) per batch")
	f.BoolVar(&fl.json, "json", false, "print one JSON object instead of tables")
	f.StringVar(&fl.plot, "plot", "", "write a PNG of time per image and per token against resolution (vim, vmamba)")
	f.BoolVar(&fl.anchor, "anchor", false, "run the anchor programs for the gemm and scan shapes beside ours")
	f.DurationVar(&fl.minTime, "min-time", 2*time.Second, "keep timing a model at one size until this much time (after at least one run)")
	f.StringVar(&fl.vimName, "vim-preset", "vim-tiny", "Vim preset for the vim target ("+strings.Join(vim.Presets(), ", ")+")")
	f.StringVar(&fl.vmName, "vmamba-preset", "vmamba-tiny", "VMamba preset for the vmamba target")
	f.StringVar(&fl.cpuProf, "cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	f.IntVar(&fl.vimChunkMiB, "vim-chunk-mib", 0, "vim: activation budget of one pass in MiB (0: vim.DefaultChunkBytes)")
	f.BoolVar(&fl.hostInput, "host-input", false, "vim on a GPU: keep the input batch in host memory and let the model upload it pass by pass (timed and out of the peak)")
	addLMFlags(cmd, &fl.lm)
	rootCmd.AddCommand(cmd)

	// The former `gomamba bench-lm`, kept as a hidden alias of `bench lm`.
	var old benchLMFlags
	alias := &cobra.Command{
		Use:        "bench-lm",
		Short:      "Measure Mamba LM prefill and decode throughput (now `gomamba bench lm`)",
		Hidden:     true,
		Deprecated: "use `gomamba bench lm`",
		Args:       cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runBenchLM(ctx, old, cmd.OutOrStdout())
		},
	}
	addLMFlags(alias, &old)
	alias.Flags().IntVar(&old.batch, "batch", 1, "sequences per batch")
	alias.Flags().BoolVar(&old.json, "json", false, "print a JSON object")
	rootCmd.AddCommand(alias)
}

// addLMFlags registers the options of the lm target on cmd.
func addLMFlags(cmd *cobra.Command, fl *benchLMFlags) {
	f := cmd.Flags()
	f.StringVar(&fl.preset, "preset", "mamba-130m", "lm: released shape to build with random weights ("+strings.Join(mamba.PresetNames(), ", ")+")")
	f.StringVarP(&fl.model, "model", "m", "", "lm: checkpoint folder (overrides --preset)")
	f.IntVar(&fl.prompt, "prompt", 128, "lm: prompt tokens per sequence")
	f.IntVar(&fl.tokens, "tokens", 32, "lm: new tokens per sequence")
	f.IntVar(&fl.repeat, "repeat", 3, "lm: timed runs (the best is reported)")
	f.StringVar(&fl.decode, "decode-path", "auto", "lm: decode path: auto (fused kernels + CUDA graph where available), fused, generic")
	addDeviceFlag(f, &fl.device, "cpu")
}

// benchMachine describes where and under which load a run happened.
type benchMachine struct {
	CPU        string  `json:"cpu"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	GoVersion  string  `json:"go_version"`
	Start      string  `json:"start"`
	LoadStart  float64 `json:"load_start"`
	LoadEnd    float64 `json:"load_end"`
}

// kernelResult is one gemm or scan shape: ours and, with --anchor, the
// anchor's figure from the same run.
type kernelResult struct {
	Shape   string  `json:"shape"`
	Unit    string  `json:"unit"`
	Runs    int     `json:"runs"`
	Ours    float64 `json:"ours"`
	Anchor  float64 `json:"anchor,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	LoadAvg float64 `json:"load"`
}

// visionResult is one model at one image size.
type visionResult struct {
	Model          string  `json:"model"`
	Side           int     `json:"side"`
	Batch          int     `json:"batch"`
	Tokens         int     `json:"tokens"`
	Runs           int     `json:"runs"`
	ImagesPerS     float64 `json:"images_per_s"`
	MsPerImage     float64 `json:"ms_per_image"`
	MedianMsPerImg float64 `json:"median_ms_per_image"`
	UsPerToken     float64 `json:"us_per_token"`
	CPUMsPerImage  float64 `json:"cpu_ms_per_image,omitempty"`
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	PeakHeapMiB    float64 `json:"peak_go_heap_mib"`
	LoadAvg        float64 `json:"load"`
	Device         string  `json:"device"`
	// PeakDeviceMiB is the CUDA caching allocator's peak of live tensor
	// bytes during the timed runs (bucket sizes, weights included).
	PeakDeviceMiB float64 `json:"peak_device_mib,omitempty"`
	// PeakDeviceHeldMiB adds the allocator's cached free blocks: the
	// device memory it held from the driver at once.
	PeakDeviceHeldMiB float64 `json:"peak_device_held_mib,omitempty"`
}

// benchReport is everything one `gomamba bench` run measured.
type benchReport struct {
	Machine    benchMachine   `json:"machine"`
	Gemm       []kernelResult `json:"gemm,omitempty"`
	Scan       []kernelResult `json:"scan,omitempty"`
	AnchorNote string         `json:"anchor_note,omitempty"`
	Vision     []visionResult `json:"vision,omitempty"`
	RSSNote    string         `json:"rss_note,omitempty"`
	LM         *benchLMResult `json:"lm,omitempty"`
	Plot       string         `json:"plot,omitempty"`
}

// parseTargets expands and validates the positional arguments.
func parseTargets(args []string) (map[string]bool, error) {
	want := map[string]bool{}
	if len(args) == 0 {
		args = []string{"all"}
	}
	for _, a := range args {
		for t := range strings.SplitSeq(strings.ToLower(a), ",") {
			switch {
			case t == "all":
				for _, b := range benchTargets {
					want[b] = true
				}
			case slices.Contains(benchTargets, t):
				want[t] = true
			default:
				return nil, fmt.Errorf("bench: unknown target %q (want %s or all)", t, strings.Join(benchTargets, ", "))
			}
		}
	}
	return want, nil
}

func runBench(ctx context.Context, args []string, fl benchFlags, stdout, stderr io.Writer) error {
	want, err := parseTargets(args)
	if err != nil {
		return err
	}
	if fl.threads < 0 || fl.batch <= 0 {
		return fmt.Errorf("bench: --threads must be ≥ 0 and --batch positive")
	}
	if (want["vim"] || want["vmamba"]) && len(fl.sizes) == 0 {
		return fmt.Errorf("bench: --size: no sizes")
	}
	for _, s := range fl.sizes {
		if s < 16 || s > 8192 {
			return fmt.Errorf("bench: --size %d: want 16..8192 pixels", s)
		}
	}
	if fl.plot != "" && !want["vim"] && !want["vmamba"] {
		return fmt.Errorf("bench: --plot needs the vim or vmamba target")
	}
	if fl.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(fl.threads))
	}
	if fl.cpuProf != "" {
		f, err := os.Create(fl.cpuProf)
		if err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: --cpuprofile %s: %w", fl.cpuProf, err)
		}
		defer pprof.StopCPUProfile()
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	rep := benchReport{Machine: benchMachine{
		CPU: bench.CPUModel(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		Start: time.Now().UTC().Format(time.RFC3339), LoadStart: bench.LoadAvg(),
	}}
	var anchor string
	if fl.anchor && (want["gemm"] || want["scan"]) {
		if anchor, err = bench.FindAnchor(); err != nil {
			rep.AnchorNote = "anchor column skipped: " + err.Error()
			progress("%s", rep.AnchorNote)
		}
	}
	// runAnchor returns the anchor's figure, or 0 after noting why not.
	runAnchor := func(key string, threads int, a ...string) float64 {
		if anchor == "" {
			return 0
		}
		v, err := bench.RunAnchor(ctx, anchor, threads, key, a...)
		if err != nil {
			rep.AnchorNote = "anchor column skipped from here on: " + err.Error()
			progress("%s", rep.AnchorNote)
			anchor = ""
			return 0
		}
		return v
	}
	if want["gemm"] {
		shapes := fl.gemmShapes
		if shapes == nil {
			shapes = bench.GemmShapes
		}
		scale := fl.gemmScale
		if scale == 0 {
			scale = 1
		}
		for _, s := range shapes {
			progress("gemm %s (GOMAXPROCS %d)", s, runtime.GOMAXPROCS(0))
			ours, runs, err := bench.Gemm(ctx, s, scale)
			if err != nil {
				return err
			}
			r := kernelResult{Shape: s.String(), Unit: "GFLOP/s", Runs: runs, Ours: ours, LoadAvg: bench.LoadAvg()}
			if r.Anchor = runAnchor("gflops", runtime.GOMAXPROCS(0), s.Args(runs)...); r.Anchor > 0 {
				r.Ratio = ours / r.Anchor
			}
			rep.Gemm = append(rep.Gemm, r)
		}
	}
	if want["scan"] {
		shapes := fl.scanShapes
		if shapes == nil {
			shapes = bench.ScanShapes
		}
		for _, s := range shapes {
			progress("scan %s (GOMAXPROCS %d)", s, runtime.GOMAXPROCS(0))
			ours, runs, err := bench.Scan(ctx, s, 5)
			if err != nil {
				return err
			}
			r := kernelResult{Shape: s.String(), Unit: "elem/s", Runs: runs, Ours: ours, LoadAvg: bench.LoadAvg()}
			if r.Anchor = runAnchor("elems_per_s", 1, s.Args(runs)...); r.Anchor > 0 {
				r.Ratio = ours / r.Anchor
			}
			rep.Scan = append(rep.Scan, r)
		}
	}
	for _, target := range []string{"vim", "vmamba"} {
		if !want[target] {
			continue
		}
		res, note, err := benchVision(ctx, target, fl, progress)
		if err != nil {
			return err
		}
		rep.Vision = append(rep.Vision, res...)
		if note != "" {
			rep.RSSNote = note
		}
	}
	if want["lm"] {
		lf := fl.lm
		lf.batch = fl.batch
		progress("lm %s", firstNonEmpty(lf.model, lf.preset))
		res, err := measureLM(ctx, lf)
		if err != nil {
			return err
		}
		rep.LM = &res
	}
	rep.Machine.LoadEnd = bench.LoadAvg()
	if fl.plot != "" {
		if err := bench.PlotScaling(fl.plot, plotSeries(rep.Vision, rep.Machine.GOMAXPROCS)); err != nil {
			return err
		}
		rep.Plot = fl.plot
	}
	if fl.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(stdout, &rep)
	return nil
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// visionModel is the part of Vim and VMamba the benchmark drives.
type visionModel struct {
	be      kernels.Backend
	name    string
	forward func(ctx context.Context, x *kernels.Tensor) error
	tokens  func(side int) int
}

func newVisionModel(target string, fl benchFlags) (*visionModel, error) {
	be, err := openBackend(fl.lm.device)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	switch target {
	case "vim":
		cfg, ok := vim.Preset(fl.vimName)
		if !ok {
			return nil, fmt.Errorf("bench: --vim-preset %q: unknown (have %s)", fl.vimName, strings.Join(vim.Presets(), ", "))
		}
		m, err := vim.NewRandom(cfg, be, 1)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", fl.vimName, err)
		}
		m.SetChunkBytes(int64(fl.vimChunkMiB) << 20)
		return &visionModel{
			be:   be,
			name: fl.vimName,
			forward: func(ctx context.Context, x *kernels.Tensor) error {
				_, _, err := m.Forward(ctx, x)
				return err
			},
			tokens: func(side int) int {
				g := (side-cfg.Patch)/cfg.Stride + 1
				return g*g + cfg.Cls.NumTokens()
			},
		}, nil
	default:
		cfg, ok := vmamba.Preset(fl.vmName)
		if !ok {
			return nil, fmt.Errorf("bench: --vmamba-preset %q: unknown (have %s)", fl.vmName, strings.Join(vmamba.Presets(), ", "))
		}
		m, err := vmamba.New(cfg, be, 1)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", fl.vmName, err)
		}
		return &visionModel{
			be:   be,
			name: fl.vmName,
			forward: func(ctx context.Context, x *kernels.Tensor) error {
				_, err := m.Forward(ctx, x, nil)
				return err
			},
			tokens: func(side int) int { // stage-0 tokens (stride 4)
				h, w := m.StageSize(0, side, side)
				return h * w
			},
		}, nil
	}
}

// benchVision measures one model at every --size. Each size starts from a
// freshly returned heap and a reset peak RSS, so its peak is its own (the
// model's weights included).
func benchVision(ctx context.Context, target string, fl benchFlags, progress func(string, ...any)) ([]visionResult, string, error) {
	progress("%s: building random weights", target)
	m, err := newVisionModel(target, fl)
	if err != nil {
		return nil, "", err
	}
	var note string
	var out []visionResult
	r := rand.New(rand.NewPCG(3, 4))
	for _, side := range fl.sizes {
		xh := kernels.New(fl.batch, 3, side, side)
		for i := range xh.Data {
			xh.Data[i] = float32(r.NormFloat64())
		}
		x := xh
		if !fl.hostInput || target != "vim" {
			x = m.be.FromHost(xh)
		}
		debug.FreeOSMemory()
		dev, onGPU := m.be.(*cuda.Backend)
		if onGPU {
			dev.EmptyCache()
			dev.ResetPeak()
		}
		if err := bench.ResetPeakRSS(); err != nil && note == "" {
			note = "peak RSS is the process's peak so far (" + err.Error() + ")"
		}
		progress("%s %d×%d batch %d (GOMAXPROCS %d, load %.2f)", m.name, side, side, fl.batch, runtime.GOMAXPROCS(0), bench.LoadAvg())
		stopHeap := sampleHeap()
		var cpu0 time.Duration
		calls := 0
		t, err := bench.Time(ctx, bench.Loop{Warmup: 1, MinRuns: 1, MinTime: fl.minTime, MaxRuns: 50}, func() error {
			if calls++; calls == 2 { // the one warm-up call is done: CPU time counts from here
				cpu0, _ = bench.CPUTime()
				if onGPU { // and the profile (the warm-up's first calls load kernels)
					dev.ResetProfile()
				}
			}
			if err := m.forward(ctx, x); err != nil {
				return err
			}
			return m.be.Sync() // GPU work is asynchronous: a run ends when it is done
		})
		cpu1, cpuOK := bench.CPUTime()
		heap := stopHeap()
		if err != nil {
			return nil, "", fmt.Errorf("bench: %s at %d: %w", m.name, side, err)
		}
		rss, _ := bench.PeakRSS()
		var cpuMs float64
		if cpuOK && t.Runs > 0 {
			cpuMs = 1e3 * (cpu1 - cpu0).Seconds() / float64(t.Runs*fl.batch)
		}
		perImage := t.Best.Seconds() / float64(fl.batch)
		tokens := m.tokens(side)
		out = append(out, visionResult{
			Model: m.name, Side: side, Batch: fl.batch, Tokens: tokens, Runs: t.Runs,
			ImagesPerS: 1 / perImage, MsPerImage: 1e3 * perImage,
			MedianMsPerImg: 1e3 * t.Median.Seconds() / float64(fl.batch),
			UsPerToken:     1e6 * perImage / float64(tokens),
			PeakRSSMiB:     float64(rss) / (1 << 20), PeakHeapMiB: float64(heap) / (1 << 20),
			CPUMsPerImage: cpuMs, LoadAvg: bench.LoadAvg(), Device: deviceLabel(m.be),
		})
		if onGPU {
			ms, res := dev.MemStats(), &out[len(out)-1]
			res.PeakDeviceMiB = float64(ms.Peak) / (1 << 20)
			res.PeakDeviceHeldMiB = float64(ms.PeakHeld) / (1 << 20)
			progress("%s %d: peak GPU memory %.0f MiB in live tensors, %.0f MiB held with the allocator's cache", m.name, side, res.PeakDeviceMiB, res.PeakDeviceHeldMiB)
			if dev.Profiling() { // GOMAMBA_CUDA_PROFILE=1: where the timed runs' GPU time went
				progress("%s %d×%d batch %d: per-op GPU time of the timed runs", m.name, side, side, fl.batch)
				if err := printProfile(dev, t.Runs, progress); err != nil {
					return nil, "", err
				}
			}
		}
		progress("%s %d: %.1f ms/image, %.2f µs/token", m.name, side, 1e3*perImage, 1e6*perImage/float64(tokens))
	}
	return out, note, nil
}

// sampleHeap samples the Go heap's live-object bytes every 10 ms (reading
// runtime/metrics, which does not stop the world) until the returned
// function is called; that function returns the largest sample.
func sampleHeap() func() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var mu sync.Mutex
	var peak uint64
	read := func() {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak
	}
}

// plotSeries groups vision results by model: the best wall time, and the
// process CPU time per image divided by GOMAXPROCS (what the wall time would
// be with every thread on its own core; on a loaded machine this line is
// the steadier one).
func plotSeries(rs []visionResult, threads int) []bench.Series {
	var out []bench.Series
	add := func(name string, p bench.Point) {
		i := slices.IndexFunc(out, func(s bench.Series) bool { return s.Name == name })
		if i < 0 {
			out = append(out, bench.Series{Name: name})
			i = len(out) - 1
		}
		out[i].Points = append(out[i].Points, p)
	}
	for _, r := range rs {
		add(r.Model+" wall (best)", bench.Point{Side: r.Side, MsPerImage: r.MsPerImage, UsPerToken: r.UsPerToken})
	}
	for _, r := range rs {
		if r.CPUMsPerImage > 0 {
			ms := r.CPUMsPerImage / float64(max(threads, 1))
			add(fmt.Sprintf("%s CPU time / %d", r.Model, max(threads, 1)), bench.Point{Side: r.Side, MsPerImage: ms, UsPerToken: 1e3 * ms / float64(r.Tokens)})
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Points, func(a, b bench.Point) int { return a.Side - b.Side })
	}
	return out
}

// printBench writes the report as aligned tables.
func printBench(w io.Writer, rep *benchReport) {
	m := rep.Machine
	fmt.Fprintf(w, "machine: %s, GOMAXPROCS %d, %s, load average %.2f → %.2f\n", m.CPU, m.GOMAXPROCS, m.GoVersion, m.LoadStart, m.LoadEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	kernelTable := func(title string, rs []kernelResult, format func(float64) string) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, title)
		fmt.Fprintln(tw, "shape\truns\tours\tanchor\tours/anchor\tload\t")
		for _, r := range rs {
			a, ratio := "—", "—"
			if r.Anchor > 0 {
				a, ratio = format(r.Anchor), fmt.Sprintf("%.2f", r.Ratio)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.2f\t\n", r.Shape, r.Runs, format(r.Ours), a, ratio, r.LoadAvg)
		}
		tw.Flush()
	}
	kernelTable(fmt.Sprintf("gemm C = A·Bᵀ (M×N×K), GFLOP/s, best of runs (anchor: as many); anchor: OpenBLAS SGEMM on %d thread(s)", m.GOMAXPROCS),
		rep.Gemm, func(v float64) string { return fmt.Sprintf("%.1f", v) })
	kernelTable("selective scan (B×D×L×N), state updates/s, best of runs (anchor: as many); anchor: plain C -Ofast, 1 thread",
		rep.Scan, func(v float64) string { return fmt.Sprintf("%.3g", v) })
	if rep.AnchorNote != "" {
		fmt.Fprintln(w, "note:", rep.AnchorNote)
	}
	if len(rep.Vision) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "vision models (random weights), per image: best and median wall time of the timed runs after a warm-up;")
		fmt.Fprintln(w, "CPU ms/image: process CPU time (all threads) per image over the timed runs, less sensitive to other load")
		fmt.Fprintln(tw, "model\tdevice\tside\tbatch\ttokens\truns\timages/s\tms/image\tmedian ms\tµs/token\tCPU ms/image\tpeak RSS MiB\tpeak Go heap MiB\tpeak GPU MiB\tload\t")
		for _, r := range rep.Vision {
			gpu := "—"
			if r.PeakDeviceMiB > 0 {
				gpu = fmt.Sprintf("%.0f", r.PeakDeviceMiB)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.1f\t%.0f\t%.0f\t%s\t%.2f\t\n", r.Model, r.Device, r.Side, r.Batch, r.Tokens, r.Runs,
				r.ImagesPerS, r.MsPerImage, r.MedianMsPerImg, r.UsPerToken, r.CPUMsPerImage, r.PeakRSSMiB, r.PeakHeapMiB, gpu, r.LoadAvg)
		}
		tw.Flush()
		if rep.RSSNote != "" {
			fmt.Fprintln(w, "note:", rep.RSSNote)
		}
	}
	if r := rep.LM; r != nil {
		fmt.Fprintln(w)
		printLM(w, r)
	}
	if rep.Plot != "" {
		fmt.Fprintln(w, "\nplot written to", rep.Plot)
	}
}

// benchLMFlags are the options of the lm target (and of the hidden
// `gomamba bench-lm` alias).
type benchLMFlags struct {
	preset, model, device string
	batch, prompt, tokens int
	repeat                int
	json                  bool
	decode                string
}

// benchLMResult is the report of one lm measurement.
type benchLMResult struct {
	Model             string  `json:"model"`
	Device            string  `json:"device"`
	Weights           string  `json:"weights"`      // weight storage: fp32, bf16 or int8
	WeightBytes       int64   `json:"weight_bytes"` // memory of the weights
	Params            int64   `json:"params"`
	Batch             int     `json:"batch"`
	PromptTokens      int     `json:"prompt_tokens"`
	NewTokens         int     `json:"new_tokens"`
	DecodePath        string  `json:"decode_path"`
	PrefillTokensPerS float64 `json:"prefill_tokens_per_s"`
	DecodeTokensPerS  float64 `json:"decode_tokens_per_s"`
	DecodeMsPerStep   float64 `json:"decode_ms_per_step"`
}

// runBenchLM measures a Mamba LM and prints the result (the bench-lm alias).
func runBenchLM(ctx context.Context, fl benchLMFlags, stdout io.Writer) error {
	res, err := measureLM(ctx, fl)
	if err != nil {
		return err
	}
	if fl.json {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	printLM(stdout, &res)
	return nil
}

// measureLM measures prompt (parallel scan) and decode (recurrent step)
// throughput: greedy decoding of fl.tokens new tokens after an fl.prompt
// prompt, batch fl.batch, best of fl.repeat runs after one warm-up.
func measureLM(ctx context.Context, fl benchLMFlags) (benchLMResult, error) {
	if fl.batch <= 0 || fl.prompt <= 0 || fl.tokens <= 1 || fl.repeat <= 0 {
		return benchLMResult{}, errors.New("--batch, --prompt and --repeat must be positive and --tokens at least 2")
	}
	path, err := parseDecodePath(fl.decode)
	if err != nil {
		return benchLMResult{}, err
	}
	be, prec, err := openLMBackend(fl.device)
	if err != nil {
		return benchLMResult{}, err
	}
	var m *mamba.Model
	name := fl.model
	if fl.model != "" {
		if m, err = mamba.Load(fl.model, &mamba.LoadOptions{Backend: be, Precision: prec}); err != nil {
			return benchLMResult{}, err
		}
	} else {
		cfg, ok := mamba.Preset(fl.preset)
		if !ok {
			return benchLMResult{}, fmt.Errorf("--preset %q: unknown (have %s)", fl.preset, strings.Join(mamba.PresetNames(), ", "))
		}
		name = fl.preset + " (random weights)"
		if m, err = mamba.New(cfg); err != nil {
			return benchLMResult{}, err
		}
		if err := m.InitRandom(1); err != nil {
			return benchLMResult{}, err
		}
		if err := m.Prepare(be); err != nil {
			return benchLMResult{}, err
		}
		if err := m.UsePrecision(prec); err != nil {
			return benchLMResult{}, err
		}
	}
	prompts := make([][]int, fl.batch)
	for b := range prompts {
		for i := range fl.prompt {
			prompts[b] = append(prompts[b], (b*131+i*7919)%m.Config.VocabSize)
		}
	}
	res := benchLMResult{Model: name, Device: be.Name(), Weights: m.WeightPrecision(), WeightBytes: m.WeightBytes(), Params: m.Config.Params(), Batch: fl.batch, PromptTokens: fl.prompt, NewTokens: fl.tokens, DecodePath: path.String()}
	for run := 0; run <= fl.repeat; run++ { // run 0 warms up
		g, err := m.Generate(ctx, prompts, mamba.GenerateOptions{MaxNewTokens: fl.tokens, DecodePath: path})
		if err != nil {
			return benchLMResult{}, err
		}
		if run == 0 {
			continue
		}
		res.PrefillTokensPerS = max(res.PrefillTokensPerS, g.PrefillTokensPerSecond())
		res.DecodeTokensPerS = max(res.DecodeTokensPerS, g.DecodeTokensPerSecond())
	}
	res.DecodeMsPerStep = 1000 * float64(fl.batch) / res.DecodeTokensPerS
	return res, nil
}

// parseDecodePath reads the --decode-path flag ("" means auto).
func parseDecodePath(s string) (mamba.DecodePath, error) {
	if s == "" {
		return mamba.DecodeAuto, nil
	}
	for _, p := range []mamba.DecodePath{mamba.DecodeAuto, mamba.DecodeFused, mamba.DecodeGeneric} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("--decode-path %q: want auto, fused or generic", s)
}

// printLM writes an lm result as three lines.
func printLM(w io.Writer, res *benchLMResult) {
	fmt.Fprintf(w, "model:   %s, %.1fM params, on %s, %s weights (%.0f MB)\n", res.Model, float64(res.Params)/1e6, res.Device, res.Weights, float64(res.WeightBytes)/1e6)
	fmt.Fprintf(w, "prefill: %d × %d tokens: %.1f tokens/s\n", res.Batch, res.PromptTokens, res.PrefillTokensPerS)
	fmt.Fprintf(w, "decode:  %d × %d tokens: %.1f tokens/s (%.2f ms per step; %s path)\n", res.Batch, res.NewTokens, res.DecodeTokensPerS, res.DecodeMsPerStep, res.DecodePath)
}
