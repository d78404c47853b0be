package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

func (cb cpuBackend) Conv1dCausal(dst, x, w, bias *Tensor, act Activation) {
	cb.conv1d("Conv1dCausal", dst, x, w, bias, act, false)
}

func (cb cpuBackend) Conv1dReverse(dst, x, w, bias *Tensor, act Activation) {
	cb.conv1d("Conv1dReverse", dst, x, w, bias, act, true)
}

// conv1d is Conv1dCausal (rev false) and Conv1dReverse (rev true).
func (cb cpuBackend) conv1d(op string, dst, x, w, bias *Tensor, act Activation, rev bool) {
	host(op, dst, x, w, bias)
	if x.Rank() != 3 || !SameShape(dst, x) || w.Rank() != 2 || w.Dim(0) != x.Dim(1) || w.Dim(1) < 1 ||
		(bias != nil && (bias.Rank() != 1 || bias.Dim(0) != x.Dim(1))) {
		panicf(op, "x %v, w %v, bias %v, dst %v: want x, dst (Bt, D, L), w (D, K), bias (D)", shp(x), shp(w), shp(bias), shp(dst))
	}
	d, l, k := x.Dim(1), x.Dim(2), w.Dim(1)
	rows := x.Dim(0) * d
	if cb.inline(rows, rowGrain(l*k)) {
		conv1dRows(dst, x, w, bias, act, rev, 0, rows)
		return
	}
	cb.par(rows, rowGrain(l*k), func(lo, hi int) { conv1dRows(dst, x, w, bias, act, rev, lo, hi) })
}

// conv1dRows computes rows [lo, hi) of the flattened (Bt, D) range, causal
// or (rev) anti-causal. Every output is w[0]·x[t∓(K−1)] + … + w[K−1]·x[t]
// + bias, summed in that order (taps outside [0, L) contribute exact zeros),
// so the anti-causal row is bitwise the flip of the causal conv of the
// flipped row.
func conv1dRows(dst, x, w, bias *Tensor, act Activation, rev bool, lo, hi int) {
	d, l, k := x.Dim(1), x.Dim(2), w.Dim(1)
	for r := lo; r < hi; r++ {
		c := r % d
		wr := w.Data[c*k : c*k+k]
		var b float32
		if bias != nil {
			b = bias.Data[c]
		}
		xr := x.Data[r*l : r*l+l]
		or := dst.Data[r*l : r*l+l]
		switch {
		case k == 4 && !rev: // Mamba's d_conv: eight outputs per SIMD step, the scalar conv4's arithmetic
			asm.Conv4(or, xr, wr, b)
		case k == 4:
			asm.Conv4Rev(or, xr, wr, b)
		default:
			for t := range l {
				var s float32
				for j, wv := range wr {
					i := t - k + 1 + j
					if rev {
						i = t + k - 1 - j
					}
					if i >= 0 && i < l {
						s += wv * xr[i]
					}
				}
				or[t] = s + b
			}
		}
		applyAct(or, or, act)
	}
}

func (cb cpuBackend) Conv1dStep(dst, state, x, w, bias *Tensor, act Activation) {
	host("Conv1dStep", dst, state, x, w, bias)
	if state.Rank() != 3 || x.Rank() != 2 || !SameShape(dst, x) || x.Dim(0) != state.Dim(0) || x.Dim(1) != state.Dim(1) ||
		w.Rank() != 2 || w.Dim(0) != state.Dim(1) || w.Dim(1) != state.Dim(2) ||
		(bias != nil && (bias.Rank() != 1 || bias.Dim(0) != state.Dim(1))) {
		panicf("Conv1dStep", "state %v, x %v, w %v, bias %v, dst %v: want state (Bt, D, K), x, dst (Bt, D), w (D, K), bias (D)",
			shp(state), shp(x), shp(w), shp(bias), shp(dst))
	}
	conv1dStepRows(dst.Data, state.Data, x.Data, w.Data, bias, state.Dim(1), state.Dim(2))
	applyAct(dst.Data, dst.Data, act)
}

// conv1dStepRows is Conv1dStep before the activation: one pass over the
// (Bt·D) channels that shifts each channel's K-tap state left in registers,
// writes x last and stores w[0]·state[0] + … + w[K−1]·state[K−1] + bias
// (asm.Conv4's order, so a step equals the full causal conv's column bit for
// bit before the activation). The caller applies the activation to all of
// dst with one vector call. K = 4 runs asm.Conv4Step (AVX2: eight channels
// per iteration, 1.4 µs for 1536 channels here against 8.0 for the Go loop).
func conv1dStepRows(dst, state, x, w []float32, bias *Tensor, d, k int) {
	if k == 0 {
		clear(dst)
		if bias != nil {
			for r := range dst {
				dst[r] = bias.Data[r%d]
			}
		}
		return
	}
	if k == 4 { // Mamba's d_conv: asm.Conv4Step, the same sums
		var b []float32
		if bias != nil {
			b = bias.Data
		}
		for r0 := 0; r0 < len(x); r0 += d {
			asm.Conv4Step(dst[r0:r0+d], state[r0*4:(r0+d)*4], x[r0:r0+d], w, b)
		}
		return
	}
	for r0 := 0; r0 < len(x); r0 += d {
		xs, ds := x[r0:r0+d], dst[r0:r0+d]
		sts := state[r0*k : (r0+d)*k]
		for c := range d {
			var b float32
			if bias != nil {
				b = bias.Data[c]
			}
			xv := xs[c]
			st := sts[c*k : c*k+k : c*k+k]
			wr := w[c*k : c*k+k : c*k+k]
			var s float32
			for j := range k - 1 {
				v := st[j+1]
				st[j] = v
				s += wr[j] * v
			}
			st[k-1] = xv
			ds[c] = s + wr[k-1]*xv + b
		}
	}
}

// conv2dColBudget bounds the im2col scratch (floats) of one Conv2d call; the
// output is produced in bands of rows that fit it (a variable so that tests
// can exercise the banding).
var conv2dColBudget = 1 << 22

func (cb cpuBackend) Conv2d(dst, x, w, bias *Tensor, p Conv2dParams) {
	host("Conv2d", dst, x, w, bias)
	sh, sw, g := max(p.StrideH, 1), max(p.StrideW, 1), max(p.Groups, 1)
	if x.Rank() != 4 || w.Rank() != 4 || dst.Rank() != 4 || p.PadH < 0 || p.PadW < 0 {
		panicf("Conv2d", "x %v, w %v, dst %v, %+v: want NCHW x, w (Cout, Cin/Groups, KH, KW)", shp(x), shp(w), shp(dst), p)
	}
	bt, cin, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	cout, cig, kh, kw := w.Dim(0), w.Dim(1), w.Dim(2), w.Dim(3)
	oh, ow := (h+2*p.PadH-kh)/sh+1, (wd+2*p.PadW-kw)/sw+1
	if cin%g != 0 || cout%g != 0 || cig != cin/g || h+2*p.PadH < kh || wd+2*p.PadW < kw ||
		dst.Dim(0) != bt || dst.Dim(1) != cout || dst.Dim(2) != oh || dst.Dim(3) != ow ||
		(bias != nil && (bias.Rank() != 1 || bias.Dim(0) != cout)) {
		panicf("Conv2d", "x %v, w %v, bias %v, dst %v, %+v: want dst [%d %d %d %d]", shp(x), shp(w), shp(bias), shp(dst), p, bt, cout, oh, ow)
	}
	if bt == 0 || cout == 0 || oh == 0 || ow == 0 {
		return
	}
	if g == cin && g == cout {
		cb.conv2dDepthwise(dst, x, w, bias, sh, sw, p.PadH, p.PadW)
		return
	}
	cog := cout / g
	kc := cig * kh * kw // rows of the column matrix
	plane := oh * ow
	pointwise := kh == 1 && kw == 1 && sh == 1 && sw == 1 && p.PadH == 0 && p.PadW == 0
	band := max(1, min(oh, conv2dColBudget/max(kc*ow, 1))) // output rows per im2col band
	var col *[]float32
	if !pointwise {
		col = getScratch(kc * band * ow)
		defer putScratch(col)
	}
	var pe *prepackEntry // w prepacked as one (Cout, Cin·KH·KW) matrix (Groups 1)
	if g == 1 {
		pe = packedEntry(w, cout, kc)
	}
	// With prepacked weights the GEMM adds the bias to each block of the
	// output as it finishes it (no pass over the output afterwards).
	var epi *gemmEpi
	if pe != nil && bias != nil {
		epi = &gemmEpi{bias: bias.Data}
	}
	procs := cb.procs()
	// mul writes wg (cog × kc) · m (kc × n, row stride ldm) into o (row
	// stride plane), from the prepacked weights when they serve the shape
	// (sgemmPrepacked).
	mul := func(wg []float32, n int, m []float32, ldm int, o []float32) {
		if pe != nil && usePacked(false, cog, n, kc) {
			sgemmPrepacked(procs, pe, w.Data, m, ldm, n, 0, o, plane, epi)
			return
		}
		cb.sgemm(false, false, cog, n, kc, 1, wg, kc, m, ldm, 0, o, plane)
		if epi != nil { // a band too small for the packed path (Groups 1)
			epi.apply(o, plane, cog, 0, 0, n)
		}
	}
	for b := range bt {
		for gi := range g {
			xg := x.Data[(b*cin+gi*cig)*h*wd : (b*cin+(gi+1)*cig)*h*wd]
			wg := w.Data[gi*cog*kc : (gi+1)*cog*kc]
			og := dst.Data[(b*cout+gi*cog)*plane : (b*cout+(gi+1)*cog)*plane]
			if pointwise {
				mul(wg, plane, xg, plane, og)
				continue
			}
			for r0 := 0; r0 < oh; r0 += band {
				r1 := min(oh, r0+band)
				nc := (r1 - r0) * ow
				cm := (*col)[:kc*nc]
				cb.im2col(cm, xg, cig, h, wd, kh, kw, sh, sw, p.PadH, p.PadW, r0, r1, ow)
				mul(wg, nc, cm, nc, og[r0*ow:])
			}
		}
	}
	if bias != nil && epi == nil {
		cb.par(bt*cout, rowGrain(plane), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				asm.AddScalar(dst.Data[r*plane:(r+1)*plane], bias.Data[r%cout])
			}
		})
	}
}

// im2col fills col (kc × (r1−r0)·ow), row (c, i, j) of kernel offsets and
// column (oy, ox) of output pixels in rows [r0, r1), from x (c, h, w).
func (cb cpuBackend) im2col(col, x []float32, c, h, w, kh, kw, sh, sw, ph, pw, r0, r1, ow int) {
	nc := (r1 - r0) * ow
	cb.par(c*kh*kw, max(1, elemGrain/max(nc, 1)), func(lo, hi int) {
		for row := lo; row < hi; row++ {
			ci, i, j := row/(kh*kw), row/kw%kh, row%kw
			dstRow := col[row*nc : (row+1)*nc]
			xc := x[ci*h*w : (ci+1)*h*w]
			p := 0
			for oy := r0; oy < r1; oy++ {
				iy := oy*sh - ph + i
				if iy < 0 || iy >= h {
					clear(dstRow[p : p+ow])
					p += ow
					continue
				}
				xr := xc[iy*w : (iy+1)*w]
				d := dstRow[p : p+ow]
				// Output columns whose input column ox·sw + off lies in
				// [0, w); zeros on either side.
				off := j - pw
				oxa := 0
				if off < 0 {
					oxa = min(ow, (-off+sw-1)/sw)
				}
				oxb := 0
				if w-1-off >= 0 {
					oxb = min(ow, (w-1-off)/sw+1)
				}
				oxb = max(oxb, oxa)
				clear(d[:oxa])
				clear(d[oxb:])
				switch {
				case oxa == oxb:
				case sw == 1:
					copy(d[oxa:oxb], xr[oxa+off:oxb+off])
				case sw == 2: // VMamba's stem and downsampling convs
					asm.Gather2(d[oxa:oxb], xr[oxa*2+off:])
				default:
					src := xr[oxa*sw+off:]
					for k := range d[oxa:oxb] {
						d[oxa+k] = src[k*sw]
					}
				}
				p += ow
			}
		}
	})
}

// conv2dDepthwise is the direct loop for groups == Cin == Cout. Pixels whose
// window lies inside the image skip the column bounds tests.
func (cb cpuBackend) conv2dDepthwise(dst, x, w, bias *Tensor, sh, sw, ph, pw int) {
	c := x.Dim(1)
	oh, ow := dst.Dim(2), dst.Dim(3)
	kh, kw := w.Dim(2), w.Dim(3)
	rows := x.Dim(0) * c
	grain := rowGrain(oh * ow * kh * kw)
	if cb.inline(rows, grain) {
		depthwiseRows(dst, x, w, bias, sh, sw, ph, pw, 0, rows)
		return
	}
	cb.par(rows, grain, func(lo, hi int) { depthwiseRows(dst, x, w, bias, sh, sw, ph, pw, lo, hi) })
}

// depthwiseRows computes planes [lo, hi) of the flattened (Bt, C) range. Each
// output row starts at the bias and receives one axpy per kernel tap over the
// columns where that tap lands inside the image (contiguous when the stride
// is 1), so there are no per-pixel bounds tests.
func depthwiseRows(dst, x, w, bias *Tensor, sh, sw, ph, pw, lo, hi int) {
	c, h, wd := x.Dim(1), x.Dim(2), x.Dim(3)
	kh, kw := w.Dim(2), w.Dim(3)
	oh, ow := dst.Dim(2), dst.Dim(3)
	fast3 := kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph == 1 && pw == 1 && wd >= 2
	var zeros []float32
	if fast3 {
		zp := getScratch(wd)
		defer putScratch(zp)
		zeros = *zp
		clear(zeros)
	}
	for r := lo; r < hi; r++ {
		ch := r % c
		xc := x.Data[r*h*wd : (r+1)*h*wd]
		wc := w.Data[ch*kh*kw : (ch+1)*kh*kw]
		oc := dst.Data[r*oh*ow : (r+1)*oh*ow]
		var bv float32
		if bias != nil {
			bv = bias.Data[ch]
		}
		if fast3 {
			for oy := range oh {
				// Rows oy−1, oy, oy+1; outside the image a zero row
				// (its taps add exact zeros, as skipping them would).
				r0, r1, r2 := zeros, xc[oy*wd:(oy+1)*wd], zeros
				if oy > 0 {
					r0 = xc[(oy-1)*wd : oy*wd]
				}
				if oy+1 < h {
					r2 = xc[(oy+1)*wd : (oy+2)*wd]
				}
				asm.DW3Row(oc[oy*ow:(oy+1)*ow], r0, r1, r2, wc, bv)
			}
			continue
		}
		for oy := range oh {
			orow := oc[oy*ow : (oy+1)*ow]
			for i := range orow {
				orow[i] = bv
			}
			for i := max(0, ph-oy*sh); i < min(kh, h+ph-oy*sh); i++ {
				xr := xc[(oy*sh-ph+i)*wd : (oy*sh-ph+i+1)*wd]
				for j, wv := range wc[i*kw : (i+1)*kw] {
					// Output columns whose input column ox·sw − pw + j is inside [0, wd).
					off := j - pw
					oxa := 0
					if off < 0 {
						oxa = (-off + sw - 1) / sw
					}
					oxb := min(ow, (wd-1-off)/sw+1)
					if wd-1-off < 0 {
						oxb = 0
					}
					if oxa >= oxb {
						continue
					}
					if sw == 1 {
						src := xr[oxa+off : oxb+off]
						o := orow[oxa:oxb]
						o = o[:len(src)]
						for k, v := range src {
							o[k] += wv * v
						}
						continue
					}
					for ox := oxa; ox < oxb; ox++ {
						orow[ox] += wv * xr[ox*sw+off]
					}
				}
			}
		}
	}
}
