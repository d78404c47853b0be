package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

// DeltaProjScanner is implemented by backends that fold the Δ projection
// (VMamba's dt_proj) into the selective scan (the CPU backend, for its
// N = 1 scan): each block of Δ is made where the scan reads it instead of
// written whole and read back. Model code calls it when a backend has it
// and otherwise runs the per-group MatMul into Delta and SelectiveScan.
type DeltaProjScanner interface {
	// SelectiveScanDeltaProj is SelectiveScan(a) with a.Delta (which may
	// be nil) replaced by the projection of low (Bt, G, R, L) by w (D, R):
	// Δ[b, d, t] = Σ_r w[d, r]·low[b, d/(D/G), r, t], the MatMul of each
	// group's rows of w by its low-rank rows.
	SelectiveScanDeltaProj(a *ScanArgs, w, low *Tensor)
}

// deltaProj is the source of Δ for scanOct1's fused path.
type deltaProj struct {
	w, low  []float32
	r, l, d int
	g, per  int // groups of low and channels per group
}

// block writes Δ of flattened channel c (of Bt·D) for steps [t0,
// t0+len(dst)).
func (p *deltaProj) block(dst []float32, c, t0 int) {
	b, dc := c/p.d, c%p.d
	row := p.low[((b*p.g+dc/p.per)*p.r)*p.l+t0:]
	asm.DeltaRow(dst, row, p.l, p.w[dc*p.r:(dc+1)*p.r])
}

// SelectiveScanDeltaProj implements DeltaProjScanner. VMamba's scans (N = 1,
// softplus Δ, time-varying B, Bt·D a multiple of eight channels, no
// LastState) run scanOct1 with Δ projected block by block (asm.DeltaRow
// sums in the GEMM micro-kernel's order, so Δ equals MatMul's bit for bit
// with the SIMD kernels) and, with Accumulate, each block of y added into
// Out as it is made; any other scan runs the MatMul into pooled scratch and
// SelectiveScan.
func (cb cpuBackend) SelectiveScanDeltaProj(a *ScanArgs, w, low *Tensor) {
	const op = "SelectiveScanDeltaProj"
	host(op, a.U, a.A, w, low)
	if a.U == nil || a.U.Rank() != 3 || w == nil || w.Rank() != 2 || w.Dim(0) != a.U.Dim(1) || low == nil || low.Rank() != 4 ||
		low.Dim(0) != a.U.Dim(0) || low.Dim(1) == 0 || a.U.Dim(1)%low.Dim(1) != 0 || low.Dim(2) != w.Dim(1) || low.Dim(3) != a.U.Dim(2) ||
		(a.Delta != nil && !SameShape(a.Delta, a.U)) {
		panicf(op, "u %v, w %v, low %v, delta %v: want u (Bt, D, L), w (D, R), low (Bt, G, R, L) with G dividing D, delta nil or u's shape",
			shp(a.U), shp(w), shp(low), shp(a.Delta))
	}
	bt, d, l := a.U.Dim(0), a.U.Dim(1), a.U.Dim(2)
	g, r := low.Dim(1), w.Dim(1)
	per := d / g
	if a.A == nil || a.A.Rank() != 2 || a.A.Dim(0) != d || a.Out == nil || !SameShape(a.Out, a.U) {
		panicf(op, "A %v, out %v: want A (D, N), out (Bt, D, L)", shp(a.A), shp(a.Out))
	}
	n := a.A.Dim(1)
	f := *a
	f.Delta = a.U // stands in for Δ's shape: the fused path never reads it
	lb := scanBCLayout(op, "B", a.B, bt, d, n, l)
	lc := scanBCLayout(op, "C", a.C, bt, d, n, l)
	fused := useOct1 && asm.Enabled() && n == 1 && a.DeltaSoftplus && lb.varying && r > 0 &&
		(bt*d)%8 == 0 && a.LastState == nil && l > 0
	dp := &deltaProj{w: w.Data, low: low.Data, r: r, l: l, d: d, g: g, per: per}
	if !fused && cb.scanProjN16(&f, dp) {
		return
	}
	if !fused {
		buf := getScratch(a.U.Len())
		defer putScratch(buf)
		delta := MustFromSlice(*buf, a.U.Shape()...)
		for b := range bt {
			for gi := range g {
				cb.sgemm(false, false, per, l, r, 1, w.Data[gi*per*r:(gi+1)*per*r], r,
					low.Data[(b*g+gi)*r*l:(b*g+gi+1)*r*l], l, 0, delta.Data[(b*d+gi*per)*l:(b*d+gi*per+per)*l], l)
			}
		}
		f.Delta = delta
		cb.SelectiveScan(&f)
		return
	}
	if (a.Z != nil && !SameShape(a.Z, a.U)) || (a.D != nil && (a.D.Rank() != 1 || a.D.Dim(0) != d)) ||
		(a.DeltaBias != nil && (a.DeltaBias.Rank() != 1 || a.DeltaBias.Dim(0) != d)) {
		panicf(op, "u %v, z %v, D %v, delta_bias %v: want z (Bt, D, L), D and delta_bias (D)", shp(a.U), shp(a.Z), shp(a.D), shp(a.DeltaBias))
	}
	octs := bt * d / 8
	run := func(lo, hi int) {
		var sc oct1Scratch
		for o := lo; o < hi; o++ {
			var h [8]float32
			scanOct1(&sc, &f, lb, lc, &h, d, l, 8*o, dp)
		}
	}
	grain := max(1, (1<<16)/(8*l))
	if cb.inline(octs, grain) {
		run(0, octs)
		return
	}
	cb.par(octs, grain, run)
}
