package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

// FusedPointwise is implemented by backends that fold a 1×1 convolution's
// bias, its activation and a residual add into the matrix product (the CPU
// backend, for prepacked weights). Model code calls it when a backend has
// it and otherwise runs Conv2d, Unary and Add (which compute the same up to
// the rounding of the residual sum).
type FusedPointwise interface {
	// PointwiseConv computes y = act(conv1x1(x, w) + bias) for x
	// (Bt, Cin, H, W), w (Cout, Cin, 1, 1) and bias (Cout) or nil, and
	// writes y to dst (Bt, Cout, H, W), or with accumulate adds it to dst
	// (dst += y, a residual connection; act must then be ActNone). dst
	// must not alias x.
	PointwiseConv(dst, x, w, bias *Tensor, act Activation, accumulate bool)
}

// gemmEpi is the epilogue a prepacked GEMM applies to each finished block
// of C: c[i][j] = act(c[i][j] + bias[i]) (bias nil: no add).
type gemmEpi struct {
	bias []float32 // per row of C, or nil
	act  Activation
}

// gemmEpiCols is the width of the column bands macroTile hands to the
// epilogue: wide enough that the per-row calls cost little, narrow enough
// that a band of gemmMC rows (72 KiB) is still in L2.
const gemmEpiCols = 128

// apply runs the epilogue on rows [0, rows) and columns [j0, j1) of c,
// whose row 0 is row row0 of C.
func (e *gemmEpi) apply(c []float32, ldc, rows, row0, j0, j1 int) {
	if j0 >= j1 {
		return
	}
	for i := range rows {
		row := c[i*ldc+j0 : i*ldc+j1]
		if e.bias != nil {
			asm.AddScalar(row, e.bias[row0+i])
		}
		if e.act != ActNone {
			applyAct(row, row, e.act)
		}
	}
}

// PointwiseConv implements FusedPointwise. With w prepacked (Prepack) the
// bias and activation run on each block of the output as the GEMM finishes
// it, and accumulate starts the GEMM from dst (beta 1): no extra pass over
// the output. Otherwise it runs Conv2d, the activation and Add.
func (cb cpuBackend) PointwiseConv(dst, x, w, bias *Tensor, act Activation, accumulate bool) {
	host("PointwiseConv", dst, x, w, bias)
	if x.Rank() != 4 || w.Rank() != 4 || dst.Rank() != 4 || w.Dim(2) != 1 || w.Dim(3) != 1 || w.Dim(1) != x.Dim(1) ||
		dst.Dim(0) != x.Dim(0) || dst.Dim(1) != w.Dim(0) || dst.Dim(2) != x.Dim(2) || dst.Dim(3) != x.Dim(3) ||
		(bias != nil && (bias.Rank() != 1 || bias.Dim(0) != w.Dim(0))) || (accumulate && act != ActNone) {
		panicf("PointwiseConv", "x %v, w %v, bias %v, dst %v, act %v, accumulate %v: want x (Bt, Cin, H, W), w (Cout, Cin, 1, 1), bias (Cout), dst (Bt, Cout, H, W), no activation with accumulate",
			shp(x), shp(w), shp(bias), shp(dst), act, accumulate)
	}
	bt, cin, cout := x.Dim(0), x.Dim(1), w.Dim(0)
	plane := x.Dim(2) * x.Dim(3)
	if dst.Len() == 0 {
		return
	}
	pe := packedEntry(w, cout, cin)
	if pe == nil || !usePacked(false, cout, plane, cin) {
		cb.pointwiseUnfused(dst, x, w, bias, act, accumulate)
		return
	}
	procs := cb.procs()
	epi := &gemmEpi{act: act}
	if bias != nil {
		epi.bias = bias.Data
	}
	var beta float32
	if accumulate {
		beta = 1
	}
	for b := range bt {
		xb := x.Data[b*cin*plane : (b+1)*cin*plane]
		ob := dst.Data[b*cout*plane : (b+1)*cout*plane]
		sgemmPrepacked(procs, pe, w.Data, xb, plane, plane, beta, ob, plane, epi)
	}
}

// sgemmPrepacked computes C = W·X + beta·C and then epi (nil for none) on
// each finished block, for the prepacked weight W (its entry pe and data
// w, M×K), X (K×n, row stride ldx) and C (M×n, row stride ldc), over up to
// procs goroutines: as the swapped product when it wins (narrow maps:
// cpu_gemm_swap.go), else sgemmAEpi. PointwiseConv and Conv2d share it.
func sgemmPrepacked(procs int, pe *prepackEntry, w, x []float32, ldx, n int, beta float32, c []float32, ldc int, epi *gemmEpi) {
	pa := pe.mats[0]
	if swapWins(pa.m, n, pa.k) {
		sgemmSwapped(procs, pe, w, x, ldx, n, beta, c, ldc, epi)
		return
	}
	sgemmAEpi(procs, pa, false, n, x, ldx, beta, c, ldc, epi)
}

// pointwiseUnfused is PointwiseConv as separate ops (weights not prepacked).
func (cb cpuBackend) pointwiseUnfused(dst, x, w, bias *Tensor, act Activation, accumulate bool) {
	if !accumulate {
		cb.Conv2d(dst, x, w, bias, Conv2dParams{})
		if act != ActNone {
			cb.Unary(dst, dst, act)
		}
		return
	}
	buf := getScratch(dst.Len())
	defer putScratch(buf)
	y := MustFromSlice(*buf, dst.Shape()...)
	cb.Conv2d(y, x, w, bias, Conv2dParams{})
	cb.Add(dst, dst, y)
}
