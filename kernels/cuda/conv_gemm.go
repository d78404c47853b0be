package cuda

import "github.com/gomamba/gomamba/kernels"

// Dense convolutions (Groups = 1) run as GEMMs on cuBLAS, in the backend's
// precision: out[b] (Cout, OH·OW) = W (Cout, Cin·KH·KW) · cols[b], where
// cols[b] (Cin·KH·KW, OH·OW) is the im2col of image b. A 1×1 stride-1
// convolution needs no cols (cols[b] is x[b] itself); otherwise cols is one
// strided copy of x (of a zero-padded copy of x when there is padding),
// made for a chunk of images at a time so that it stays under colsBudget.
// Depthwise and other grouped convolutions keep the gm_conv2d kernel.

// colsBudget bounds the im2col scratch of one chunk (float32 elements).
const colsBudget = 64 << 20

// empty returns a device tensor whose contents are undefined (no memset).
func (be *Backend) empty(shape ...int) *kernels.Tensor {
	return kernels.NewDevice(be.newBuffer(shapeLen("Conv2d", shape)), shape...)
}

// conv2dGEMM runs a Groups = 1 Conv2d on cuBLAS and reports whether it did
// (false without cuBLAS or beyond cuBLAS's int32 sizes).
func (be *Backend) conv2dGEMM(dst, x, w, bias *kernels.Tensor, bt, cin, h, wd, cout, kh, kw, oh, ow, sh, sw, ph, pw int) bool {
	n, k := oh*ow, cin*kh*kw
	if be.blas == nil || bt == 0 || n == 0 || cout == 0 || k == 0 || max(n, k, cout) > 1<<31-1 {
		return false
	}
	const op = "Conv2d"
	pw0, pd := be.dev(op, w), be.dev(op, dst)
	if kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 {
		be.blasSgemm(pw0, be.dev(op, x), pd, cout, n, k, k, n, n, 0, k*n, cout*n, bt, false, false)
	} else {
		hp, wp := h+2*ph, wd+2*pw
		chunk := max(1, min(bt, colsBudget/max(k*n, hp*wp*cin)))
		cols := be.empty(chunk, cin, kh, kw, oh, ow)
		var xp *kernels.Tensor
		if ph > 0 || pw > 0 {
			xp = be.New(chunk, cin, hp, wp)
		}
		for b0 := 0; b0 < bt; b0 += chunk {
			nb := min(chunk, bt-b0)
			src, sbase := x, b0*cin*h*wd
			if xp != nil {
				if nb < chunk { // last chunk: a smaller padded buffer
					be.Free(xp)
					xp = be.New(nb, cin, hp, wp)
				}
				be.CopyBox(xp, []int{0, 0, ph, pw}, x, []int{b0, 0, 0, 0}, []int{nb, cin, h, wd})
				src, sbase = xp, 0
			}
			size := []int{nb, cin, kh, kw, oh, ow}
			be.stridedCopy(op, cols, src, size, contiguousStrides(size),
				[]int{cin * hp * wp, hp * wp, wp, 1, sh * wp, sw}, 0, sbase)
			be.blasSgemm(pw0, be.dev(op, cols), pd+uint64(4*b0*cout*n), cout, n, k, k, n, n, 0, k*n, cout*n, nb, false, false)
		}
		be.Free(cols)
		if xp != nil {
			be.Free(xp)
		}
	}
	if bias != nil {
		// dst (Bt, Cout, OH·OW) += bias[c]: expand bias over the pixels
		// (a stride-0 copy), then one broadcast add.
		eb := be.empty(cout, n)
		be.stridedCopy(op, eb, bias, []int{cout, n}, []int{n, 1}, []int{1, 0}, 0, 0)
		be.launch1D("gm_binary", dst.Len(), []uint64{pd, be.dev(op, eb), pd, i64(dst.Len()), i64(cout * n), 0})
		be.Free(eb)
	}
	return true
}
