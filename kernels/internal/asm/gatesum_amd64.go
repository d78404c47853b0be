//go:build amd64 && !noasm

package asm

//go:noescape
func gateSumAVX2(n16 int, dst, a, b, z *float32)

// gateSumVec runs gateSumAVX2 over the whole vectors of 16 and once more
// over a zero-padded copy of the last 1–15 elements.
func gateSumVec(dst, a, b, z []float32) {
	if !useSIMD {
		GateSumGo(dst, a, b, z)
		return
	}
	n16 := len(z) / 16
	if n16 > 0 {
		gateSumAVX2(n16, &dst[0], &a[0], &b[0], &z[0])
	}
	if r := len(z) - 16*n16; r > 0 {
		var ta, tb, tz [16]float32
		copy(ta[:], a[16*n16:])
		copy(tb[:], b[16*n16:])
		copy(tz[:], z[16*n16:])
		gateSumAVX2(1, &ta[0], &ta[0], &tb[0], &tz[0])
		copy(dst[16*n16:], ta[:r])
	}
}
