package kernels

import (
	"math"
	"unsafe"
)

// Float is the element type of the differentiable ops below: float32 for
// training, float64 for gradient checks against finite differences.
type Float interface{ ~float32 | ~float64 }

// This file holds the forward/backward pairs that training needs. They work on
// plain slices with explicit layouts, are generic over Float so the same code
// is checked in float64, and dispatch float32 matrix products to Sgemm. The
// inference path uses the Backend ops; tests check that both agree.

// Gemm computes C = alpha·op(A)·op(B) + beta·C (row-major, as Sgemm) for any
// Float; float32 goes to Sgemm, float64 to a plain loop.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if af, ok := any(a).([]float32); ok {
		Sgemm(transA, transB, m, n, k, float32(alpha), af, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// LinearForward computes y (M,N) = x (M,K)·wᵀ (w is (N,K)) + bias (N, may be nil).
func LinearForward[T Float](y, x, w, bias []T, m, n, k int) {
	Gemm(false, true, m, n, k, 1, x, k, w, k, 0, y, n)
	if bias != nil {
		for i := 0; i < m; i++ {
			row := y[i*n : (i+1)*n]
			for j := range row {
				row[j] += bias[j]
			}
		}
	}
}

// LinearBackward accumulates the gradients of LinearForward: dx (M,K) += dy·w
// (skipped when dx is nil), dw (N,K) += dyᵀ·x, dbias (N) += Σ_rows dy (skipped
// when nil).
func LinearBackward[T Float](dx, dw, dbias, dy, x, w []T, m, n, k int) {
	if dx != nil {
		Gemm(false, false, m, k, n, 1, dy, n, w, k, 1, dx, k)
	}
	Gemm(true, false, n, k, m, 1, dy, n, x, k, 1, dw, k)
	if dbias != nil {
		for i := 0; i < m; i++ {
			for j, v := range dy[i*n : (i+1)*n] {
				dbias[j] += v
			}
		}
	}
}

// RMSNormForward normalises each of the m rows of x (length n):
// y = x / sqrt(mean(x²) + eps) · w. It stores 1/sqrt(mean(x²)+eps) per row in
// rstd for the backward pass.
func RMSNormForward[T Float](y, rstd, x, w []T, m, n int, eps T) {
	for i := 0; i < m; i++ {
		row := x[i*n : (i+1)*n]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		r := T(1 / math.Sqrt(ss/float64(n)+float64(eps)))
		rstd[i] = r
		out := y[i*n : (i+1)*n]
		for j, v := range row {
			out[j] = v * r * w[j]
		}
	}
}

// RMSNormBackward accumulates dx += ∂L/∂x and dw += ∂L/∂w of RMSNormForward.
func RMSNormBackward[T Float](dx, dw, dy, x, w, rstd []T, m, n int) {
	for i := 0; i < m; i++ {
		row := x[i*n : (i+1)*n]
		g := dy[i*n : (i+1)*n]
		r := rstd[i]
		var dot T
		for j, v := range row {
			dot += g[j] * w[j] * v
			dw[j] += g[j] * v * r
		}
		c := r * r * r * dot / T(n)
		out := dx[i*n : (i+1)*n]
		for j, v := range row {
			out[j] += r*w[j]*g[j] - c*v
		}
	}
}

// SiLU returns x·sigmoid(x).
func SiLU[T Float](x T) T { return x / (1 + expT(-x)) }

// SiLUGrad returns d silu(x)/dx.
func SiLUGrad[T Float](x T) T {
	s := 1 / (1 + expT(-x))
	return s * (1 + x*(1-s))
}

// Softplus is PyTorch's softplus: x above 20, else log1p(exp(x)).
func Softplus[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(fastSoftplusf(float32(x)))
	}
	if x > 20 {
		return x
	}
	return T(math.Log1p(math.Exp(float64(x))))
}

// SoftplusGrad returns d softplus(x)/dx (1 above the threshold 20).
func SoftplusGrad[T Float](x T) T {
	if x > 20 {
		return 1
	}
	return 1 / (1 + expT(-x))
}

// CausalConvForward is the depthwise causal conv1d on one channel-major
// sample: x, y (E, L), w (E, K), bias (E). y[e,t] = bias[e] + Σ_k
// w[e,k]·x[e,t−K+1+k] (zeros before t = 0).
func CausalConvForward[T Float](y, x, w, bias []T, e, l, k int) {
	for c := 0; c < e; c++ {
		xr, yr, wr := x[c*l:(c+1)*l], y[c*l:(c+1)*l], w[c*k:(c+1)*k]
		for t := 0; t < l; t++ {
			s := bias[c]
			for j := max(0, k-1-t); j < k; j++ {
				s += wr[j] * xr[t-k+1+j]
			}
			yr[t] = s
		}
	}
}

// CausalConvBackward accumulates dx, dw and dbias of CausalConvForward.
func CausalConvBackward[T Float](dx, dw, dbias, dy, x, w []T, e, l, k int) {
	for c := 0; c < e; c++ {
		xr, gr, wr := x[c*l:(c+1)*l], dy[c*l:(c+1)*l], w[c*k:(c+1)*k]
		dxr, dwr := dx[c*l:(c+1)*l], dw[c*k:(c+1)*k]
		for t := 0; t < l; t++ {
			g := gr[t]
			dbias[c] += g
			for j := 0; j < k; j++ {
				s := t - k + 1 + j
				if s < 0 {
					continue
				}
				dwr[j] += g * xr[s]
				dxr[s] += g * wr[j]
			}
		}
	}
}

// ScanChannel describes one (batch, channel) row of a selective scan for the
// generic forward/backward pair: U, Delta, Z have length L; B and C hold the
// N state rows of this sample's (N, L) input matrix (row n at n·L); A has N
// entries. Z may be nil (no gate); DeltaBias and D are scalars.
type ScanChannel[T Float] struct {
	U, Delta, Z []T
	B, C        []T
	A           []T
	D           T
	DeltaBias   T
	Softplus    bool
	L, N        int
}

// Forward computes the channel's output into out (length L) exactly as
// selective_scan_ref, and when hs is non-nil stores every state h_t in
// hs[t·N:(t+1)·N] for the backward pass, and when das is non-nil the decay
// factors exp(Δ_t·A) in das[t·N:(t+1)·N].
func (s *ScanChannel[T]) Forward(out, hs, das []T) {
	if s32, ok := any(s).(*ScanChannel[float32]); ok {
		scanForward32(s32, any(out).([]float32), any(hs).([]float32), any(das).([]float32))
		return
	}
	l, n := s.L, s.N
	var hbuf [64]T
	h := hbuf[:0]
	if n <= len(hbuf) {
		h = hbuf[:n]
	} else {
		h = make([]T, n)
	}
	for t := 0; t < l; t++ {
		dt := s.Delta[t] + s.DeltaBias
		if s.Softplus {
			dt = Softplus(dt)
		}
		u := s.U[t]
		var y T
		for i := 0; i < n; i++ {
			a := expT(dt * s.A[i])
			if das != nil {
				das[t*n+i] = a
			}
			h[i] = a*h[i] + dt*s.B[i*l+t]*u
			y += h[i] * s.C[i*l+t]
		}
		if hs != nil {
			copy(hs[t*n:(t+1)*n], h)
		}
		y += u * s.D
		if s.Z != nil {
			y *= SiLU(s.Z[t])
		}
		out[t] = y
	}
}

// ScanChannelGrad receives the gradients of one channel. DU, DDelta, DZ (length
// L) are overwritten; DA (N), DB, DC (N rows of L, strided like B, C), DD and
// DDeltaBias are accumulated (B and C are shared by the channels of a sample).
type ScanChannelGrad[T Float] struct {
	DU, DDelta, DZ []T
	DA, DB, DC     []T
	DD, DDeltaBias *T
}

// Backward back-propagates dout (length L) through Forward, using the states
// hs and decay factors das saved by Forward (L·N values each) and scratch dh
// of length N.
func (s *ScanChannel[T]) Backward(g *ScanChannelGrad[T], dout, hs, das, dh []T) {
	if s32, ok := any(s).(*ScanChannel[float32]); ok {
		scanBackward32(s32, any(g).(*ScanChannelGrad[float32]), any(dout).([]float32), any(hs).([]float32), any(das).([]float32), any(dh).([]float32))
		return
	}
	l, n := s.L, s.N
	for i := range dh[:n] {
		dh[i] = 0
	}
	for t := l - 1; t >= 0; t-- {
		raw := s.Delta[t] + s.DeltaBias
		dt := raw
		if s.Softplus {
			dt = Softplus(raw)
		}
		u := s.U[t]
		ht := hs[t*n : (t+1)*n]
		// y_t = Σ h·C + D·u ; out = y·silu(z)
		gy := dout[t]
		if s.Z != nil {
			var y T
			for i := 0; i < n; i++ {
				y += ht[i] * s.C[i*l+t]
			}
			y += u * s.D
			g.DZ[t] = dout[t] * y * SiLUGrad(s.Z[t])
			gy = dout[t] * SiLU(s.Z[t])
		}
		*g.DD += gy * u
		du := gy * s.D
		var ddt T
		for i := 0; i < n; i++ {
			g.DC[i*l+t] += gy * ht[i]
			dh[i] += gy * s.C[i*l+t]
			// h_t = a·h_{t−1} + dt·B·u, a = exp(dt·A)
			a := das[t*n+i]
			var hprev T
			if t > 0 {
				hprev = hs[(t-1)*n+i]
			}
			da := dh[i] * hprev
			ddt += da*a*s.A[i] + dh[i]*s.B[i*l+t]*u
			g.DA[i] += da * a * dt
			g.DB[i*l+t] += dh[i] * dt * u
			du += dh[i] * dt * s.B[i*l+t]
			dh[i] *= a // carry to h_{t−1}
		}
		g.DU[t] = du
		if s.Softplus {
			ddt *= SoftplusGrad(raw)
		}
		g.DDelta[t] = ddt
		*g.DDeltaBias += ddt
	}
}

// expT is exp for Float: float64 uses math.Exp (gradient checks), float32
// the scan's fastExpf (≤2 ulp).
func expT[T Float](x T) T {
	if unsafe.Sizeof(x) == 8 {
		return T(math.Exp(float64(x)))
	}
	return T(fastExpf(float32(x)))
}
