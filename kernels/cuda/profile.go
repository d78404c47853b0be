package cuda

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

// ProfileEnv names an environment variable that, set to 1 when a Backend is
// opened, makes it time every kernel and GEMM with a pair of CUDA events.
// The times are collected at each Sync; ProfileReport prints them per kind
// of op and per GEMM shape. Profiling serialises op submission and adds an
// event record around each op, so it slows the run a little: use it to see
// where the time goes, not to measure throughput.
const ProfileEnv = "GOMAMBA_CUDA_PROFILE"

// profiler accumulates per-op GPU times.
type profiler struct {
	mu      sync.Mutex
	pending []profEntry
	pool    []cuEvent
	stats   map[string]*profStat
	syncs   int
}

type profEntry struct {
	kind, detail string
	flops        float64
	a, b         cuEvent
}

// profStat is the total of one kind (and detail) of op.
type profStat struct {
	Kind, Detail string
	Calls        int
	Ms           float64
	Flops        float64
}

// maxPending bounds the events held between two Syncs.
const maxPending = 1 << 14

func newProfiler() *profiler { return &profiler{stats: map[string]*profStat{}} }

func (p *profiler) event(be *Backend) cuEvent {
	if n := len(p.pool); n > 0 {
		e := p.pool[n-1]
		p.pool = p.pool[:n-1]
		return e
	}
	e, err := drvEvent(be.ctx)
	be.setErr(err)
	return e
}

// timed runs fn, which queues one op, between two events when profiling.
// kind names the op ("gemm" or a kernel), detail its shape.
func (be *Backend) timed(kind, detail string, flops float64, fn func()) {
	p := be.prof
	if p == nil {
		fn()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	a, b := p.event(be), p.event(be)
	if a == nil || b == nil {
		fn()
		return
	}
	be.setErr(drvEventRecord(be.ctx, a, be.stream))
	fn()
	be.setErr(drvEventRecord(be.ctx, b, be.stream))
	p.pending = append(p.pending, profEntry{kind, detail, flops, a, b})
	if len(p.pending) >= maxPending {
		be.setErr(drvStreamSync(be.ctx, be.stream))
		p.resolve(be)
	}
}

// collect resolves the pending events after the stream has drained; a
// Sync with no timed op since the last one is not counted.
func (p *profiler) collect(be *Backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) > 0 {
		p.syncs++
	}
	p.resolve(be)
}

func (p *profiler) resolve(be *Backend) {
	for _, e := range p.pending {
		ms, err := drvEventElapsed(be.ctx, e.a, e.b)
		if err == nil {
			p.add(e.kind, e.detail, 1, float64(ms), e.flops)
		}
		p.pool = append(p.pool, e.a, e.b)
	}
	p.pending = p.pending[:0]
}

func (p *profiler) add(kind, detail string, calls int, ms, flops float64) {
	key := kind + "\x00" + detail
	s := p.stats[key]
	if s == nil {
		s = &profStat{Kind: kind, Detail: detail}
		p.stats[key] = s
	}
	s.Calls += calls
	s.Ms += ms
	s.Flops += flops
}

// Profiling reports whether this backend times its ops (ProfileEnv).
func (be *Backend) Profiling() bool { return be.prof != nil }

// ResetProfile forgets the times collected so far.
func (be *Backend) ResetProfile() {
	if p := be.prof; p != nil {
		p.mu.Lock()
		p.stats = map[string]*profStat{}
		p.syncs = 0
		p.mu.Unlock()
	}
}

// ProfileReport waits for queued work and writes the GPU time of every kind
// of op (and of every GEMM shape) collected since the backend was opened or
// ResetProfile, largest first. runs is the number of model runs the profile
// covers, for per-run figures (0: per Sync that followed timed ops). It
// writes nothing unless Profiling.
func (be *Backend) ProfileReport(w io.Writer, runs int) error {
	p := be.prof
	if p == nil {
		return nil
	}
	if err := be.Sync(); err != nil {
		return err
	}
	p.mu.Lock()
	stats := make([]profStat, 0, len(p.stats))
	for _, s := range p.stats {
		stats = append(stats, *s)
	}
	per, unit := p.syncs, "sync"
	p.mu.Unlock()
	if runs > 0 {
		per, unit = runs, "run"
	}
	return writeProfile(w, stats, per, unit, be.Precision())
}

// writeProfile prints the per-kind table, then the GEMM shapes, with times
// per unit ("run" or "sync"; n of them).
func writeProfile(w io.Writer, stats []profStat, n int, unit, prec string) error {
	per := float64(max(n, 1))
	kinds := map[string]*profStat{}
	total := 0.0
	for _, s := range stats {
		k := kinds[s.Kind]
		if k == nil {
			k = &profStat{Kind: s.Kind}
			kinds[s.Kind] = k
		}
		k.Calls += s.Calls
		k.Ms += s.Ms
		k.Flops += s.Flops
		total += s.Ms
	}
	byTime := func(a, b profStat) int {
		return cmp.Or(cmp.Compare(b.Ms, a.Ms), strings.Compare(a.Kind+a.Detail, b.Kind+b.Detail))
	}
	var ks []profStat
	for _, k := range kinds {
		ks = append(ks, *k)
	}
	slices.SortFunc(ks, byTime)
	fmt.Fprintf(w, "%s: GPU time of the timed ops %.2f ms over %d %ss (%.3f ms per %s), GEMM precision %s\n", ProfileEnv, total, n, unit, total/per, unit, prec)
	head := fmt.Sprintf("\tcalls/%s\tms/%s\tshare\tµs/call\tTFLOP/s\t", unit, unit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op"+head)
	row := func(name string, s profStat) {
		tf := ""
		if s.Flops > 0 && s.Ms > 0 {
			tf = fmt.Sprintf("%.1f", s.Flops/(s.Ms*1e-3)/1e12)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.3f\t%.1f%%\t%.1f\t%s\t\n", name, float64(s.Calls)/per, s.Ms/per, 100*s.Ms/max(total, 1e-12), 1e3*s.Ms/float64(max(s.Calls, 1)), tf)
	}
	for _, k := range ks {
		row(k.Kind, k)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var gemms []profStat
	for _, s := range stats {
		if s.Kind == "gemm" {
			gemms = append(gemms, s)
		}
	}
	if len(gemms) == 0 {
		return nil
	}
	slices.SortFunc(gemms, byTime)
	fmt.Fprintln(w, "GEMM shapes (row-major M×N×K ×batch, transposes of A and B):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "gemm"+head)
	for _, s := range gemms {
		row(s.Detail, s)
	}
	return tw.Flush()
}
