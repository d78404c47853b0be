package kernels

import (
	"math"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

func (cb cpuBackend) RMSNorm(dst, x, w *Tensor, eps float32) {
	host("RMSNorm", dst, x, w)
	if x.Rank() < 1 || !SameShape(dst, x) || w == nil || w.Rank() != 1 || w.Dim(0) != x.Dim(-1) {
		panicf("RMSNorm", "x %v, w %v, dst %v: want w (%d) and dst shaped as x", shp(x), shp(w), shp(dst), x.Dim(-1))
	}
	n := x.Dim(-1)
	if n == 0 {
		return
	}
	rows := x.Len() / n
	if cb.inline(rows, rowGrain(n)) {
		rmsRows(dst.Data, x.Data, w.Data, eps, 0, rows)
		return
	}
	cb.par(rows, rowGrain(n), func(lo, hi int) { rmsRows(dst.Data, x.Data, w.Data, eps, lo, hi) })
}

func rmsRows(dst, x, w []float32, eps float32, lo, hi int) {
	n := len(w)
	for r := lo; r < hi; r++ {
		xr := x[r*n : (r+1)*n]
		or := dst[r*n : (r+1)*n]
		ss := sumSq64(xr)
		rstd := float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
		for i, v := range xr {
			or[i] = v * rstd * w[i]
		}
	}
}

func (cb cpuBackend) LayerNorm(dst, x, w, b *Tensor, eps float32) {
	host("LayerNorm", dst, x, w, b)
	if x.Rank() < 1 || !SameShape(dst, x) || (w != nil && (w.Rank() != 1 || w.Dim(0) != x.Dim(-1))) ||
		(b != nil && (b.Rank() != 1 || b.Dim(0) != x.Dim(-1))) {
		panicf("LayerNorm", "x %v, w %v, b %v, dst %v: want w, b (%d) and dst shaped as x", shp(x), shp(w), shp(b), shp(dst), x.Dim(-1))
	}
	n := x.Dim(-1)
	if n == 0 {
		return
	}
	rows := x.Len() / n
	if cb.inline(rows, rowGrain(n)) {
		lnRows(dst, x, w, b, eps, 0, rows)
		return
	}
	cb.par(rows, rowGrain(n), func(lo, hi int) { lnRows(dst, x, w, b, eps, lo, hi) })
}

func lnRows(dst, x, w, b *Tensor, eps float32, lo, hi int) {
	n := x.Dim(-1)
	for r := lo; r < hi; r++ {
		xr := x.Data[r*n : (r+1)*n]
		or := dst.Data[r*n : (r+1)*n]
		mean := sum64(xr) / float64(n)
		vs := sumSqDev64(xr, mean)
		rstd := float32(1 / math.Sqrt(vs/float64(n)+float64(eps)))
		m := float32(mean)
		for i, v := range xr {
			y := (v - m) * rstd
			if w != nil {
				y *= w.Data[i]
			}
			if b != nil {
				y += b.Data[i]
			}
			or[i] = y
		}
	}
}

// ln2dBlock is the number of pixels LayerNorm2d normalises together (its
// per-pixel statistics live on the stack).
const ln2dBlock = 64

func (cb cpuBackend) LayerNorm2d(dst, x, w, b *Tensor, eps float32) {
	host("LayerNorm2d", dst, x, w, b)
	if x.Rank() != 4 || !SameShape(dst, x) || (w != nil && (w.Rank() != 1 || w.Dim(0) != x.Dim(1))) ||
		(b != nil && (b.Rank() != 1 || b.Dim(0) != x.Dim(1))) {
		panicf("LayerNorm2d", "x %v, w %v, b %v, dst %v: want x, dst (Bt, C, H, W), w, b (C)", shp(x), shp(w), shp(b), shp(dst))
	}
	c, hw := x.Dim(1), x.Dim(2)*x.Dim(3)
	if c == 0 || hw == 0 {
		return
	}
	blocks := (hw + ln2dBlock - 1) / ln2dBlock
	jobs := x.Dim(0) * blocks
	if cb.inline(jobs, rowGrain(c*ln2dBlock)) {
		ln2dRange(dst, x, w, b, eps, 0, jobs)
		return
	}
	cb.par(jobs, rowGrain(c*ln2dBlock), func(lo, hi int) { ln2dRange(dst, x, w, b, eps, lo, hi) })
}

// ln2dRange normalises pixel blocks [lo, hi) of LayerNorm2d (block j covers
// batch j / blocks, pixels from (j % blocks)·ln2dBlock). With both w and b
// (VMamba's norms), a block is asm.LayerNorm2dPixels (float32, two passes on
// values shifted by the first channel; SIMD over 8 or 16 pixels, or its Go
// twin); otherwise the scalar float64 statistics below.
func ln2dRange(dst, x, w, b *Tensor, eps float32, lo, hi int) {
	c, hw := x.Dim(1), x.Dim(2)*x.Dim(3)
	blocks := (hw + ln2dBlock - 1) / ln2dBlock
	var sum, sq [ln2dBlock]float64
	var mean, rstd [ln2dBlock]float32
	for job := lo; job < hi; job++ {
		bi, p0 := job/blocks, job%blocks*ln2dBlock
		np := min(ln2dBlock, hw-p0)
		base := bi * c * hw
		if w != nil && b != nil { // SIMD across the block's pixels (or its twin)
			end := base + (c-1)*hw + p0 + np
			asm.LayerNorm2dPixels(dst.Data[base+p0:end], x.Data[base+p0:end], w.Data, b.Data, c, hw, np, eps)
			continue
		}
		s, q := sum[:np], sq[:np]
		clear(s)
		clear(q)
		// One pass for Σx and Σx² in float64: var = E[x²] − mean² loses
		// nothing that matters at float32 output precision.
		// Four channels per pass over the accumulators (a quarter of their
		// loads and stores; 1.5× faster in an interleaved microbenchmark
		// here); float64 sums make the order immaterial.
		ci := 0
		for ; ci+4 <= c; ci += 4 {
			off := base + ci*hw + p0
			r0 := x.Data[off : off+np]
			r1 := x.Data[off+hw : off+hw+np]
			r2 := x.Data[off+2*hw : off+2*hw+np]
			r3 := x.Data[off+3*hw : off+3*hw+np]
			r0, r1, r2, r3 = r0[:len(s)], r1[:len(s)], r2[:len(s)], r3[:len(s)]
			q := q[:len(s)]
			for i := range s {
				f0, f1, f2, f3 := float64(r0[i]), float64(r1[i]), float64(r2[i]), float64(r3[i])
				s[i] += (f0 + f1) + (f2 + f3)
				q[i] += (f0*f0 + f1*f1) + (f2*f2 + f3*f3)
			}
		}
		for ; ci < c; ci++ {
			row := x.Data[base+ci*hw+p0 : base+ci*hw+p0+np]
			row = row[:len(s)]
			for i, v := range row {
				f := float64(v)
				s[i] += f
				q[i] += f * f
			}
		}
		for i := range s {
			m := s[i] / float64(c)
			v := max(q[i]/float64(c)-m*m, 0)
			mean[i] = float32(m)
			rstd[i] = float32(1 / math.Sqrt(v+float64(eps)))
		}
		mr, rr := mean[:np], rstd[:np]
		for ci := range c {
			off := base + ci*hw + p0
			row := x.Data[off : off+np]
			out := dst.Data[off : off+np]
			wv, bv := float32(1), float32(0)
			if w != nil {
				wv = w.Data[ci]
			}
			if b != nil {
				bv = b.Data[ci]
			}
			row = row[:len(mr)]
			out = out[:len(mr)]
			rr = rr[:len(mr)]
			for i, v := range row {
				out[i] = (v-mr[i])*rr[i]*wv + bv
			}
		}
	}
}

// sum64, sumSq64 and sumSqDev64 return Σx, Σx² and Σ(x−m)² in float64 with
// four accumulators (one chain of dependent adds was the bottleneck of the
// row norms); float64 makes the order immaterial at float32 output.
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func sumSq64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		a, b, c, d := float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i])
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

func sumSqDev64(x []float32, m float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		a, b, c, d := float64(v[0])-m, float64(v[1])-m, float64(v[2])-m, float64(v[3])-m
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		a := float64(x[i]) - m
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}
