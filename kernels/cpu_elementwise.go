package kernels

import (
	"math"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

func (cb cpuBackend) Unary(dst, x *Tensor, act Activation) {
	host("Unary", dst, x)
	if dst.Len() != x.Len() {
		panicf("Unary", "x %v, dst %v: element counts differ", shp(x), shp(dst))
	}
	if act < ActNone || act > ActNegExp {
		panicf("Unary", "unknown activation %d", int(act))
	}
	grain := elemGrain
	if act != ActNone && act != ActReLU {
		grain = elemGrain / 16 // transcendental: worth splitting sooner
	}
	if cb.inline(x.Len(), grain) {
		applyAct(dst.Data, x.Data, act)
		return
	}
	cb.par(x.Len(), grain, func(lo, hi int) {
		applyAct(dst.Data[lo:hi], x.Data[lo:hi], act)
	})
}

// checkSuffix panics unless b's shape is a trailing suffix of a's and dst is
// shaped as a.
func checkSuffix(op string, dst, a, b *Tensor) {
	ok := SameShape(dst, a) && b.Rank() <= a.Rank() && EqualShape(b.shape, a.shape[a.Rank()-b.Rank():])
	if !ok {
		panicf(op, "a %v, b %v, dst %v: b must be a trailing suffix of a's shape and dst shaped as a", shp(a), shp(b), shp(dst))
	}
}

func (cb cpuBackend) Add(dst, a, b *Tensor) {
	host("Add", dst, a, b)
	checkSuffix("Add", dst, a, b)
	cb.binaryOp(dst.Data, a.Data, b.Data, false)
}

func (cb cpuBackend) Mul(dst, a, b *Tensor) {
	host("Mul", dst, a, b)
	checkSuffix("Mul", dst, a, b)
	cb.binaryOp(dst.Data, a.Data, b.Data, true)
}

// binaryOp computes dst = a + b or a · b with b repeated over a.
func (cb cpuBackend) binaryOp(dst, a, b []float32, mul bool) {
	nb := len(b)
	if nb == 0 {
		return
	}
	rows := len(a) / nb
	if rows == 1 { // same shapes: split the elements, not the one row
		if cb.inline(nb, elemGrain) {
			binaryRows(dst, a, b, mul, 0, 1)
			return
		}
		cb.par(nb, elemGrain, func(lo, hi int) { binaryRows(dst[lo:hi], a[lo:hi], b[lo:hi], mul, 0, 1) })
		return
	}
	if cb.inline(rows, rowGrain(nb)) {
		binaryRows(dst, a, b, mul, 0, rows)
		return
	}
	cb.par(rows, rowGrain(nb), func(lo, hi int) { binaryRows(dst, a, b, mul, lo, hi) })
}

func binaryRows(dst, a, b []float32, mul bool, lo, hi int) {
	nb := len(b)
	for r := lo; r < hi; r++ {
		ar := a[r*nb : (r+1)*nb]
		or := dst[r*nb : (r+1)*nb]
		if mul {
			mulRow(or, ar, b)
		} else {
			addRow(or, ar, b)
		}
	}
}

// addRow writes dst[i] = a[i] + b[i] for i < len(b), four at a time
// through fixed-length sub-slices (one bounds test per slice and four
// elements instead of one per element).
func addRow(dst, a, b []float32) {
	dst, a = dst[:len(b)], a[:len(b)]
	i := 0
	for ; i+4 <= len(b); i += 4 {
		d, x, y := dst[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = x[0]+y[0], x[1]+y[1], x[2]+y[2], x[3]+y[3]
	}
	for ; i < len(b); i++ {
		dst[i] = a[i] + b[i]
	}
}

// mulRow is addRow's product twin.
func mulRow(dst, a, b []float32) {
	dst, a = dst[:len(b)], a[:len(b)]
	i := 0
	for ; i+4 <= len(b); i += 4 {
		d, x, y := dst[i:i+4:i+4], a[i:i+4:i+4], b[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = x[0]*y[0], x[1]*y[1], x[2]*y[2], x[3]*y[3]
	}
	for ; i < len(b); i++ {
		dst[i] = a[i] * b[i]
	}
}

func (cb cpuBackend) Scale(dst, x *Tensor, s float32) {
	host("Scale", dst, x)
	if dst.Len() != x.Len() {
		panicf("Scale", "x %v, dst %v: element counts differ", shp(x), shp(dst))
	}
	if cb.inline(x.Len(), elemGrain) {
		scaleSlice(dst.Data, x.Data, s)
		return
	}
	cb.par(x.Len(), elemGrain, func(lo, hi int) { scaleSlice(dst.Data[lo:hi], x.Data[lo:hi], s) })
}

func scaleSlice(dst, x []float32, s float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = s * v
	}
}

func (cb cpuBackend) Softmax(dst, x *Tensor) {
	host("Softmax", dst, x)
	if x.Rank() < 1 || !SameShape(dst, x) {
		panicf("Softmax", "x %v, dst %v: want dst shaped as x", shp(x), shp(dst))
	}
	n := x.Dim(-1)
	if n == 0 {
		return
	}
	rows := x.Len() / n
	if cb.inline(rows, rowGrain(n*8)) {
		softmaxRows(dst.Data, x.Data, n, 0, rows)
		return
	}
	cb.par(rows, rowGrain(n*8), func(lo, hi int) { softmaxRows(dst.Data, x.Data, n, lo, hi) })
}

func softmaxRows(dst, x []float32, n, lo, hi int) {
	for r := lo; r < hi; r++ {
		xr := x[r*n : (r+1)*n]
		or := dst[r*n : (r+1)*n]
		m := float32(math.Inf(-1))
		for _, v := range xr {
			m = max(m, v)
		}
		for i, v := range xr {
			or[i] = v - m
		}
		asm.Exp(or, or) // vector exp; below e^−86 it gives 4e−38, not 0
		var s float64
		for _, e := range or {
			s += float64(e)
		}
		inv := float32(1 / s)
		for i := range or {
			or[i] *= inv
		}
	}
}

func (cb cpuBackend) Mean(dst, x *Tensor, axis int) {
	host("Mean", dst, x)
	r := x.Rank()
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panicf("Mean", "axis %d out of range for x %v", axis, shp(x))
	}
	ok := dst.Rank() == r-1
	for i := 0; ok && i < r-1; i++ {
		j := i
		if i >= axis {
			j++
		}
		ok = dst.shape[i] == x.shape[j]
	}
	if !ok {
		want := append(append([]int(nil), x.shape[:axis]...), x.shape[axis+1:]...)
		panicf("Mean", "x %v, axis %d, dst %v: want dst %v", shp(x), axis, shp(dst), want)
	}
	n := x.shape[axis]
	inner := 1
	for _, d := range x.shape[axis+1:] {
		inner *= d
	}
	outer := dst.Len() / max(inner, 1)
	if inner == 0 || outer == 0 {
		return
	}
	if cb.inline(outer, rowGrain(n*inner)) {
		meanRows(dst.Data, x.Data, n, inner, 0, outer)
		return
	}
	cb.par(outer, rowGrain(n*inner), func(lo, hi int) { meanRows(dst.Data, x.Data, n, inner, lo, hi) })
}

// meanRows averages blocks [lo, hi) of the (outer, n, inner) view of x over
// n, accumulating meanBlock columns at a time in float64 so that x is read
// contiguously.
func meanRows(dst, x []float32, n, inner, lo, hi int) {
	if n == 2 {
		// (a+b)·½ in float32 is the float64 result rounded once: a+b of
		// two float32 is exact in float64 and halving is exact.
		for o := lo; o < hi; o++ {
			a, b := x[2*o*inner:(2*o+1)*inner], x[(2*o+1)*inner:(2*o+2)*inner]
			od := dst[o*inner : (o+1)*inner]
			b, od = b[:len(a)], od[:len(a)]
			for i, v := range a {
				od[i] = (v + b[i]) * 0.5
			}
		}
		return
	}
	inv := 1 / float64(n)
	var acc [meanBlock]float64
	for o := lo; o < hi; o++ {
		for i0 := 0; i0 < inner; i0 += meanBlock {
			w := min(meanBlock, inner-i0)
			s := acc[:w]
			clear(s)
			for a := range n {
				row := x[(o*n+a)*inner+i0 : (o*n+a)*inner+i0+w]
				for i, v := range row {
					s[i] += float64(v)
				}
			}
			od := dst[o*inner+i0 : o*inner+i0+w]
			for i, v := range s {
				od[i] = float32(v * inv)
			}
		}
	}
}

// meanBlock is the number of output columns meanRows sums at once.
const meanBlock = 256

// GateSummer is implemented by backends with a fused gated sum (the CPU
// backend): a bidirectional Mamba mixer whose two directions share the
// gate z (Vim's v2 mixer: y_f·silu(z) + y_b·silu(z)) scans both ungated
// and calls it once, one pass with one SiLU per element instead of a SiLU
// in each direction's scan and an Add. Model code calls it when a backend
// has it and otherwise gates inside the scans and adds.
type GateSummer interface {
	// GateSum computes dst = (a + b)·silu(z) elementwise; a, b, z and dst
	// have the same shape, and dst may alias a or b.
	GateSum(dst, a, b, z *Tensor)
}

// GateSum implements GateSummer with asm.GateSum (AVX2; pure Go without
// SIMD), split over the elements like Unary's transcendental ops.
func (cb cpuBackend) GateSum(dst, a, b, z *Tensor) {
	const op = "GateSum"
	host(op, dst, a, b, z)
	if !SameShape(dst, a) || !SameShape(a, b) || !SameShape(a, z) {
		panicf(op, "dst %v, a %v, b %v, z %v: want one shape", shp(dst), shp(a), shp(b), shp(z))
	}
	n := z.Len()
	if cb.inline(n, elemGrain/16) {
		asm.GateSum(dst.Data, a.Data, b.Data, z.Data)
		return
	}
	cb.par(n, elemGrain/16, func(lo, hi int) {
		asm.GateSum(dst.Data[lo:hi], a.Data[lo:hi], b.Data[lo:hi], z.Data[lo:hi])
	})
}
