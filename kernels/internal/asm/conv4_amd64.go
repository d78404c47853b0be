//go:build amd64 && !noasm

package asm

//go:noescape
func conv4AVX2(n8 int, o, x, w *float32, b float32)

//go:noescape
func conv4RevAVX2(n8 int, o, x, w *float32, b float32)

// conv4Vec runs the rows' outputs whose four inputs all lie in x through
// the SIMD kernel, eight at a time (causal: from t = 3; anti-causal: up to
// len(x) − 3), and the others (the zero-padded edge and the last 1-7)
// through the twin's per-output code.
func conv4Vec(o, x []float32, w *[4]float32, b float32, rev bool) {
	n := len(x)
	if !useSIMD || n < 11 {
		if rev {
			Conv4RevGo(o, x, w[:], b)
		} else {
			Conv4Go(o, x, w[:], b)
		}
		return
	}
	n8 := (n - 3) / 8
	if rev { // outputs [0, 8·n8) read x[0 … 8·n8+2]
		conv4RevAVX2(n8, &o[0], &x[0], &w[0], b)
		for t := 8 * n8; t < n; t++ {
			o[t] = conv4RevAt(x, w, b, t)
		}
		return
	}
	for t := range 3 {
		o[t] = conv4At(x, w, b, t)
	}
	// outputs [3, 3+8·n8) read x[0 … 8·n8+2]
	conv4AVX2(n8, &o[3], &x[0], &w[0], b)
	for t := 3 + 8*n8; t < n; t++ {
		o[t] = conv4At(x, w, b, t)
	}
}
