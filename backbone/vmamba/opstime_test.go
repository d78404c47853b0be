package vmamba

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/gomamba/gomamba/kernels"
)

// timedBackend wraps a Backend and adds up the wall time of each op by
// name and output shape (one goroutine calls it: the forward pass).
type timedBackend struct {
	kernels.Backend
	t map[string]time.Duration
}

func (tb *timedBackend) add(name string, dst *kernels.Tensor, t0 time.Time) {
	tb.t[fmt.Sprint(name, dst.Shape())] += time.Since(t0)
}

// Prepack forwards to the wrapped backend, so that weights stay prepacked.
func (tb *timedBackend) Prepack(w *kernels.Tensor) { kernels.Prepack(tb.Backend, w) }

// PointwiseConv times the wrapped backend's fused 1×1 convolution
// (BenchmarkVMambaOps wraps the CPU backend, which has it), so that the
// forward takes the same path as unwrapped.
func (tb *timedBackend) PointwiseConv(dst, x, w, b *kernels.Tensor, act kernels.Activation, acc bool) {
	defer tb.add(fmt.Sprintf("Pointwise %v acc=%v", act, acc), dst, time.Now())
	tb.Backend.(kernels.FusedPointwise).PointwiseConv(dst, x, w, b, act, acc)
}

func (tb *timedBackend) Conv2d(dst, x, w, b *kernels.Tensor, p kernels.Conv2dParams) {
	defer tb.add(fmt.Sprintf("Conv2d k%d g%d", w.Dim(2), p.Groups), dst, time.Now())
	tb.Backend.Conv2d(dst, x, w, b, p)
}

func (tb *timedBackend) LayerNorm2d(dst, x, w, b *kernels.Tensor, eps float32) {
	defer tb.add("LayerNorm2d", dst, time.Now())
	tb.Backend.LayerNorm2d(dst, x, w, b, eps)
}

func (tb *timedBackend) Unary(dst, x *kernels.Tensor, act kernels.Activation) {
	defer tb.add(fmt.Sprint("Unary", act), dst, time.Now())
	tb.Backend.Unary(dst, x, act)
}

func (tb *timedBackend) Add(dst, a, b *kernels.Tensor) {
	defer tb.add("Add", dst, time.Now())
	tb.Backend.Add(dst, a, b)
}

func (tb *timedBackend) MatMul(dst, a, b *kernels.Tensor, ta, tbb bool) {
	defer tb.add("MatMul", dst, time.Now())
	tb.Backend.MatMul(dst, a, b, ta, tbb)
}

func (tb *timedBackend) SelectiveScan(a *kernels.ScanArgs) {
	defer tb.add("Scan", a.Out, time.Now())
	tb.Backend.SelectiveScan(a)
}

func (tb *timedBackend) CopyBox(dst *kernels.Tensor, do []int, src *kernels.Tensor, so, size []int) {
	defer tb.add("CopyBox", dst, time.Now())
	tb.Backend.CopyBox(dst, do, src, so, size)
}

func (tb *timedBackend) Permute(dst, src *kernels.Tensor, perm ...int) {
	defer tb.add("Permute", dst, time.Now())
	tb.Backend.Permute(dst, src, perm...)
}

// BenchmarkVMambaOps times vmamba-tiny's forward at 224² op by op (wall
// time per image of each op and output shape, the 40 largest printed) to
// show where the time goes (printed to stdout, as benchmark logs are cut at
// ten lines) and, run with -cpu 1,2, which ops gain from a
// second thread. The total is the sum of the ops' times per image.
func BenchmarkVMambaOps(b *testing.B) {
	tb := &timedBackend{Backend: kernels.CPU(), t: map[string]time.Duration{}}
	cfg, _ := Preset("vmamba-tiny")
	m, err := New(cfg, tb, 1)
	if err != nil {
		b.Fatal(err)
	}
	x := randInput(224, 1, 3, 224, 224)
	ctx := context.Background()
	if _, err := m.Forward(ctx, x, nil); err != nil {
		b.Fatal(err)
	}
	clear(tb.t)
	n := 0
	for b.Loop() {
		if _, err := m.Forward(ctx, x, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	type row struct {
		k string
		d time.Duration
	}
	var rows []row
	var total time.Duration
	for k, d := range tb.t {
		rows = append(rows, row{k, d / time.Duration(n)})
		total += d / time.Duration(n)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
	fmt.Printf("GOMAXPROCS %d, %d images, ops total %v per image\n", runtime.GOMAXPROCS(0), n, total)
	for i, r := range rows {
		if i == 40 {
			break
		}
		fmt.Printf("%8.3f ms %5.1f%%  %s\n", float64(r.d.Microseconds())/1e3, 100*float64(r.d)/float64(total), r.k)
	}
	b.ReportMetric(float64(total.Microseconds())/1e3, "ops-ms/img")
}
