//go:build amd64 && !noasm

package asm

//go:noescape
func stepN16AVX2(n4 int, h, a, dt, x, dSkip, gate, out, b, c *float32)

// stepStates16 runs whole groups of four channels in the kernel and a
// tail of one to three through it padded to four on the stack (zero
// states, Δ and inputs in the spare lanes, whose results are dropped).
func stepStates16(h, a, dt, x, dSkip, gate, out, b, c []float32) {
	if !useSIMD {
		StepStates16Go(h, a, dt, x, dSkip, gate, out, b, c)
		return
	}
	n := len(dt)
	n4 := n / 4
	if n4 > 0 {
		stepN16AVX2(n4, &h[0], &a[0], &dt[0], &x[0], &dSkip[0], &gate[0], &out[0], &b[0], &c[0])
	}
	r := n - 4*n4
	if r == 0 {
		return
	}
	var th, ta [64]float32
	var tdt, tx, td, tg, to [4]float32
	i := 4 * n4
	copy(th[:], h[16*i:])
	copy(ta[:], a[16*i:])
	copy(tdt[:], dt[i:])
	copy(tx[:], x[i:])
	copy(td[:], dSkip[i:])
	copy(tg[:], gate[i:])
	stepN16AVX2(1, &th[0], &ta[0], &tdt[0], &tx[0], &td[0], &tg[0], &to[0], &b[0], &c[0])
	copy(h[16*i:], th[:16*r])
	copy(out[i:], to[:r])
}

//go:noescape
func conv4StepAVX2(n8 int, dst, state, x, w, bias *float32, bstep int)

// convZeros is the bias row of conv4StepAVX2 when there is none (read
// only; the kernel does not advance over it).
var convZeros [8]float32

// conv4Step runs whole groups of eight channels in the kernel and the
// rest in Go (the same operations, the same bits).
func conv4Step(dst, state, x, w, bias []float32) {
	n8 := len(x) / 8
	if !useSIMD || n8 == 0 {
		Conv4StepGo(dst, state, x, w, bias)
		return
	}
	bp, bstep := &convZeros[0], 0
	if bias != nil {
		bp, bstep = &bias[0], 32
	}
	conv4StepAVX2(n8, &dst[0], &state[0], &x[0], &w[0], bp, bstep)
	if i := 8 * n8; i < len(x) {
		var tb []float32
		if bias != nil {
			tb = bias[i:]
		}
		Conv4StepGo(dst[i:], state[4*i:], x[i:], w[4*i:], tb)
	}
}
