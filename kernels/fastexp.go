package kernels

import "math"

// fastExpf is exp for float32 in float32 arithmetic: Cody–Waite range
// reduction x = k·ln2 + r (|r| ≤ ln2/2) and Cephes' degree-5 polynomial for
// e^r, scaled by 2^k through the exponent bits. Its error is within 2 ulp of
// the correctly rounded result, the accuracy class of PyTorch's vectorised
// expf and CUDA's expf. Arguments outside [−87, 88] (denormal or infinite
// results) and NaN take the float64 path.
func fastExpf(x float32) float32 {
	if !(x >= -87 && x <= 88) {
		return float32(math.Exp(float64(x)))
	}
	const magic = 12582912 // 1.5·2^23: adding it rounds to an integer
	k := float32(x*1.44269504088896341+magic) - magic
	r := x - k*0.693359375
	r -= k * -2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*(r*r) + r + 1
	return y * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// fastLogf is the natural log for positive, finite, normal float32 x in
// float32 arithmetic (Cephes logf: x = m·2^e with m in [√½, √2), a degree-8
// polynomial in m−1); within 2 ulp. Other arguments take the float64 path.
func fastLogf(x float32) float32 {
	if !(x >= 1.1754944e-38 && x <= 3.4e38) {
		return float32(math.Log(float64(x)))
	}
	bits := math.Float32bits(x)
	e := float32(int32(bits>>23) - 126)
	m := math.Float32frombits(bits&0x007fffff | 0x3f000000) // [0.5, 1)
	if m < 0.707106781186547524 {
		e--
		m = m + m - 1
	} else {
		m = m - 1
	}
	z := m * m
	y := float32(7.0376836292e-2)
	y = y*m - 1.1514610310e-1
	y = y*m + 1.1676998740e-1
	y = y*m - 1.2420140846e-1
	y = y*m + 1.4249322787e-1
	y = y*m - 1.6668057665e-1
	y = y*m + 2.0000714765e-1
	y = y*m - 2.4999993993e-1
	y = y*m + 3.3333331174e-1
	y = y * m * z
	y += -2.12194440e-4 * e
	y += -0.5 * z
	return m + y + 0.693359375*e
}

// fastSoftplusf is softplusf (PyTorch threshold 20) built on fastExpf and
// fastLogf: log1p(e) is evaluated as log(1+e) plus the rounding correction
// (e − ((1+e) − 1))/(1+e), and as e itself where e² is below float32
// resolution.
func fastSoftplusf(x float32) float32 {
	if x > 20 {
		return x
	}
	e := fastExpf(x)
	if e < 1.0/(1<<12) {
		return e - 0.5*e*e
	}
	u := 1 + e
	return fastLogf(u) + (e-(u-1))/u
}

// fastSiluf is x/(1+exp(−x)) with fastExpf.
func fastSiluf(x float32) float32 { return x / (1 + fastExpf(-x)) }
