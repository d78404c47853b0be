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
