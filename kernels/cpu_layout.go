package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

func (cb cpuBackend) Copy(dst, src *Tensor) {
	host("Copy", dst, src)
	if dst.Len() != src.Len() {
		panicf("Copy", "src %v, dst %v: element counts differ", shp(src), shp(dst))
	}
	if cb.inline(src.Len(), elemGrain*4) {
		copy(dst.Data, src.Data)
		return
	}
	cb.par(src.Len(), elemGrain*4, func(lo, hi int) { copy(dst.Data[lo:hi], src.Data[lo:hi]) })
}

// maxFastRank is the rank up to which layout ops keep their index arrays on
// the stack.
const maxFastRank = 8

func (cb cpuBackend) Permute(dst, src *Tensor, perm ...int) {
	host("Permute", dst, src)
	r := src.Rank()
	ok := len(perm) == r && dst.Rank() == r
	var seen [64]bool
	for i := 0; ok && i < r; i++ {
		p := perm[i]
		if p < 0 || p >= r || r > len(seen) || seen[p] || dst.shape[i] != src.shape[p] {
			ok = false
			break
		}
		seen[p] = true
	}
	if !ok {
		panicf("Permute", "src %v, perm %v, dst %v: want dst.Dim(i) = src.Dim(perm[i])", shp(src), perm, shp(dst))
	}
	if src.Len() == 0 {
		return
	}
	if r <= 1 {
		copy(dst.Data, src.Data)
		return
	}
	if swapsLastTwo(perm) { // a batch of matrix transposes (VMamba's cross-scan and merge)
		h, w := src.shape[r-2], src.shape[r-1]
		planes := src.Len() / (h * w)
		if cb.inline(planes, rowGrain(h*w)) {
			transposePlanes(dst.Data, src.Data, h, w, 0, planes)
			return
		}
		cb.par(planes, rowGrain(h*w), func(lo, hi int) { transposePlanes(dst.Data, src.Data, h, w, lo, hi) })
		return
	}
	// Source strides in dst axis order.
	var sstrBuf [maxFastRank]int
	sstr := sstrBuf[:]
	if r > maxFastRank {
		sstr = make([]int, r)
	}
	acc := 1
	for i := r - 1; i >= 0; i-- {
		for j, p := range perm {
			if p == i {
				sstr[j] = acc
			}
		}
		acc *= src.shape[i]
	}
	last := dst.shape[r-1]
	rows := dst.Len() / last
	if cb.inline(rows, rowGrain(last)) {
		permuteRows(dst, src, sstr[:r], 0, rows)
		return
	}
	ps := append([]int(nil), sstr[:r]...) // the closure escapes: keep sstrBuf on the stack
	cb.par(rows, rowGrain(last), func(lo, hi int) { permuteRows(dst, src, ps, lo, hi) })
}

// permuteRows writes rows [lo, hi) of dst (rows of its last axis), reading
// src through sstr, the source strides in dst axis order.
func permuteRows(dst, src *Tensor, sstr []int, lo, hi int) {
	r := len(sstr)
	last := dst.shape[r-1]
	ls := sstr[r-1]
	var idxBuf [maxFastRank]int
	idx := idxBuf[:]
	if r > maxFastRank {
		idx = make([]int, r)
	}
	// Decompose row lo into dst indices over axes 0..r-2.
	off := 0
	rem := lo
	for a := r - 2; a >= 0; a-- {
		idx[a] = rem % dst.shape[a]
		rem /= dst.shape[a]
		off += idx[a] * sstr[a]
	}
	for row := lo; row < hi; row++ {
		o := dst.Data[row*last : (row+1)*last]
		if ls == 1 {
			copy(o, src.Data[off:off+last])
		} else {
			s := off
			for i := range o {
				o[i] = src.Data[s]
				s += ls
			}
		}
		for a := r - 2; a >= 0; a-- {
			idx[a]++
			off += sstr[a]
			if idx[a] < dst.shape[a] {
				break
			}
			off -= idx[a] * sstr[a]
			idx[a] = 0
		}
	}
}

func (cb cpuBackend) Flip(dst, src *Tensor, axis int) {
	host("Flip", dst, src)
	r := src.Rank()
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r || !SameShape(dst, src) {
		panicf("Flip", "src %v, axis %d, dst %v: want dst shaped as src and a valid axis", shp(src), axis, shp(dst))
	}
	n := src.shape[axis]
	inner := 1
	for _, d := range src.shape[axis+1:] {
		inner *= d
	}
	if n == 0 || inner == 0 {
		return
	}
	outer := src.Len() / (n * inner)
	if cb.inline(outer*n, rowGrain(inner)) {
		flipRows(dst.Data, src.Data, n, inner, 0, outer*n)
		return
	}
	cb.par(outer*n, rowGrain(inner), func(lo, hi int) { flipRows(dst.Data, src.Data, n, inner, lo, hi) })
}

// flipRows moves rows [lo, hi) of the (outer·n, inner) view of src to their
// mirrored position along n.
func flipRows(dst, src []float32, n, inner, lo, hi int) {
	if inner == 1 { // reversing the last axis: element by element
		for j := lo; j < hi; {
			o, a := j/n, j%n
			end := min(hi, (o+1)*n)
			s := src[j:end]
			d := dst[o*n+n-a-len(s) : o*n+n-a] // mirror image of s
			for i, v := range s {
				d[len(d)-1-i] = v
			}
			j = end
		}
		return
	}
	for j := lo; j < hi; j++ {
		o, a := j/n, j%n
		copy(dst[(o*n+n-1-a)*inner:(o*n+n-a)*inner], src[j*inner:(j+1)*inner])
	}
}

func (cb cpuBackend) CopyBox(dst *Tensor, dstOff []int, src *Tensor, srcOff []int, size []int) {
	host("CopyBox", dst, src)
	r := src.Rank()
	ok := dst.Rank() == r && len(dstOff) == r && len(srcOff) == r && len(size) == r
	for i := 0; ok && i < r; i++ {
		if size[i] < 0 || dstOff[i] < 0 || srcOff[i] < 0 || dstOff[i]+size[i] > dst.shape[i] || srcOff[i]+size[i] > src.shape[i] {
			ok = false
		}
	}
	if !ok {
		panicf("CopyBox", "src %v at %v, dst %v at %v, size %v: box out of range or rank mismatch", shp(src), srcOff, shp(dst), dstOff, size)
	}
	total := 1
	for _, s := range size {
		total *= s
	}
	if total == 0 {
		return
	}
	if r == 0 {
		dst.Data[0] = src.Data[0]
		return
	}
	// Strides.
	var dstrBuf, sstrBuf [maxFastRank]int
	dstr, sstr := dstrBuf[:], sstrBuf[:]
	if r > maxFastRank {
		dstr, sstr = make([]int, r), make([]int, r)
	}
	da, sa := 1, 1
	for i := r - 1; i >= 0; i-- {
		dstr[i], sstr[i] = da, sa
		da *= dst.shape[i]
		sa *= src.shape[i]
	}
	d0, s0 := 0, 0
	for i := range r {
		d0 += dstOff[i] * dstr[i]
		s0 += srcOff[i] * sstr[i]
	}
	last := size[r-1]
	rows := total / last
	if cb.inline(rows, rowGrain(last)) {
		copyBoxRows(dst, src, dstr[:r], sstr[:r], size, d0, s0, 0, rows)
		return
	}
	pd, ps := append([]int(nil), dstr[:r]...), append([]int(nil), sstr[:r]...) // keep the stack buffers off the heap
	cb.par(rows, rowGrain(last), func(lo, hi int) { copyBoxRows(dst, src, pd, ps, size, d0, s0, lo, hi) })
}

// copyBoxRows copies rows [lo, hi) of the box (rows of its last axis).
func copyBoxRows(dst, src *Tensor, dstr, sstr, size []int, d0, s0, lo, hi int) {
	r := len(size)
	last := size[r-1]
	var idxBuf [maxFastRank]int
	idx := idxBuf[:]
	if r > maxFastRank {
		idx = make([]int, r)
	}
	do, so := d0, s0
	rem := lo
	for a := r - 2; a >= 0; a-- {
		idx[a] = rem % size[a]
		rem /= size[a]
		do += idx[a] * dstr[a]
		so += idx[a] * sstr[a]
	}
	for row := lo; row < hi; row++ {
		copy(dst.Data[do:do+last], src.Data[so:so+last])
		for a := r - 2; a >= 0; a-- {
			idx[a]++
			do += dstr[a]
			so += sstr[a]
			if idx[a] < size[a] {
				break
			}
			do -= idx[a] * dstr[a]
			so -= idx[a] * sstr[a]
			idx[a] = 0
		}
	}
}

// swapsLastTwo reports whether perm swaps the last two axes and keeps the
// others in place.
func swapsLastTwo(perm []int) bool {
	r := len(perm)
	if r < 2 || perm[r-2] != r-1 || perm[r-1] != r-2 {
		return false
	}
	for i, p := range perm[:r-2] {
		if p != i {
			return false
		}
	}
	return true
}

// transposePlanes transposes the h×w planes [lo, hi) of src into dst
// (asm.Transpose: 8×8 register tiles with SIMD).
func transposePlanes(dst, src []float32, h, w, lo, hi int) {
	for p := lo; p < hi; p++ {
		asm.Transpose(dst[p*h*w:(p+1)*h*w], src[p*h*w:(p+1)*h*w], h, w)
	}
}
