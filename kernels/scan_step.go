package kernels

import "github.com/gomamba/gomamba/kernels/internal/asm"

func (cb cpuBackend) SelectiveStateUpdate(a *StepArgs) {
	const op = "SelectiveStateUpdate"
	host(op, a.State, a.X, a.DT, a.A, a.B, a.C, a.D, a.Z, a.DTBias, a.Out)
	if a.State == nil || a.State.Rank() != 3 || a.X == nil || a.X.Rank() != 2 || a.X.Dim(0) != a.State.Dim(0) || a.X.Dim(1) != a.State.Dim(1) ||
		a.DT == nil || !SameShape(a.DT, a.X) || a.Out == nil || !SameShape(a.Out, a.X) ||
		a.A == nil || a.A.Rank() != 2 || a.A.Dim(0) != a.State.Dim(1) || a.A.Dim(1) != a.State.Dim(2) {
		panicf(op, "state %v, x %v, dt %v, A %v, out %v: want state (Bt, D, N), x, dt, out (Bt, D), A (D, N)",
			shp(a.State), shp(a.X), shp(a.DT), shp(a.A), shp(a.Out))
	}
	bt, d, n := a.State.Dim(0), a.State.Dim(1), a.State.Dim(2)
	gb := stepBCGroups(op, "B", a.B, bt, d, n)
	gc := stepBCGroups(op, "C", a.C, bt, d, n)
	if (a.Z != nil && !SameShape(a.Z, a.X)) || (a.D != nil && (a.D.Rank() != 1 || a.D.Dim(0) != d)) ||
		(a.DTBias != nil && (a.DTBias.Rank() != 1 || a.DTBias.Dim(0) != d)) {
		panicf(op, "x %v, z %v, D %v, dt_bias %v: want z (Bt, D), D and dt_bias (D)", shp(a.X), shp(a.Z), shp(a.D), shp(a.DTBias))
	}
	if cb.inline(bt*d, rowGrain(n*16)) {
		stepRange(a, gb, gc, d, n, 0, bt*d)
		return
	}
	cb.par(bt*d, rowGrain(n*16), func(lo, hi int) { stepRange(a, gb, gc, d, n, lo, hi) })
}

// stepZeros stands in for an absent D skip in stepRange16 (read only; an
// absent gate is onesBlock).
var stepZeros [stepRowBlock]float32

// stepRange16 is stepRange for N = 16 (every Mamba LM): the channels of
// [lo, hi) go in blocks of at most stepRowBlock that share one batch row
// and one group of B and of C; a block's Δ (bias + softplus) and gate
// silu(z) are computed with the vector kernels as in stepRange, then
// asm.StepStates16 does the decays, the state update, Σ state·C, the D
// skip and the gate for the whole block (AVX2: 17 µs for mamba-130m's
// 1536 channels on one goroutine here, where stepRange's Go loops took
// ~100 µs). An absent gate is 1 and an absent D 0.
func stepRange16(a *StepArgs, gb, gc, d, lo, hi int) {
	const n = 16
	var dtBuf, gateBuf [stepRowBlock]float32
	sizeB, sizeC := d/gb, d/gc // channels per group of B, C
	for r0 := lo; r0 < hi; {
		b, c0 := r0/d, r0%d
		row := r0 - c0 // the batch row's first channel
		r1 := min(hi, r0+stepRowBlock, row+d, row+(c0/sizeB+1)*sizeB, row+(c0/sizeC+1)*sizeC)
		k := r1 - r0
		dts := dtBuf[:k]
		copy(dts, a.DT.Data[r0:r1])
		if a.DTBias != nil {
			for i, v := range a.DTBias.Data[c0 : c0+k] {
				dts[i] += v
			}
		}
		if a.DTSoftplus {
			asm.Softplus(dts, dts, 0)
		}
		gates := onesBlock[:k]
		if a.Z != nil {
			gates = gateBuf[:k]
			asm.Silu(gates, a.Z.Data[r0:r1])
		}
		dSkip := stepZeros[:k]
		if a.D != nil {
			dSkip = a.D.Data[c0 : c0+k]
		}
		bo := (b*gb + c0/sizeB) * n
		co := (b*gc + c0/sizeC) * n
		asm.StepStates16(a.State.Data[r0*n:r1*n], a.A.Data[c0*n:(c0+k)*n], dts, a.X.Data[r0:r1], dSkip, gates,
			a.Out.Data[r0:r1], a.B.Data[bo:bo+n], a.C.Data[co:co+n])
		r0 = r1
	}
}

// stepExpBlock is the number of states whose decay SelectiveStateUpdate
// computes per vector exp call: the Δ·A of whole channels (32 at N = 16)
// are staged together, so the call overhead of asm.Exp is paid per block
// rather than per channel.
const stepExpBlock = 512

// stepRowBlock is the number of channels whose Δ (bias + softplus) and gate
// silu(z) stepRange computes per vector call.
const stepRowBlock = 64

// stepRange updates channels [lo, hi) of the flattened (Bt, D) range; N =
// 16 goes to stepRange16. For other N, Δ and the gate are computed a block of channels at a time with the vector
// softplus and SiLU (the same kernels the full scan uses); then exp(Δ·A) of
// as many whole channels as fit stepExpBlock is computed with one vector
// exp, and each of those channels' N states is updated (stepStates). With
// N > stepExpBlock one channel's decays take several calls. The exp is
// elementwise, so the blocking does not change a bit; channel, batch and
// group indices advance by counting (no division per channel).
func stepRange(a *StepArgs, gb, gc, d, n, lo, hi int) {
	if n == 16 {
		stepRange16(a, gb, gc, d, lo, hi)
		return
	}
	var dtBuf, gateBuf [stepRowBlock]float32
	var dA [stepExpBlock]float32
	per := max(1, stepExpBlock/max(n, 1)) // channels per exp call
	sizeB, sizeC := d/gb, d/gc            // channels per group of B, C
	for r0 := lo; r0 < hi; r0 += stepRowBlock {
		r1 := min(hi, r0+stepRowBlock)
		dts := dtBuf[:r1-r0]
		copy(dts, a.DT.Data[r0:r1])
		if a.DTBias != nil {
			c := r0 % d
			for i := range dts {
				dts[i] += a.DTBias.Data[c]
				if c++; c == d {
					c = 0
				}
			}
		}
		if a.DTSoftplus {
			asm.Softplus(dts, dts, 0)
		}
		var gates []float32
		if a.Z != nil {
			gates = gateBuf[:r1-r0]
			asm.Silu(gates, a.Z.Data[r0:r1])
		}
		for i0 := 0; i0 < len(dts); i0 += per {
			i1 := min(len(dts), i0+per)
			if n <= stepExpBlock {
				e := dA[:(i1-i0)*n]
				c := (r0 + i0) % d
				for i := i0; i < i1; i++ {
					dt := dts[i]
					ei := e[(i-i0)*n : (i-i0+1)*n]
					stageDecay(ei, a.A.Data[c*n:c*n+n], dt)
					if c++; c == d {
						c = 0
					}
				}
				asm.Exp(e, e) // exp(Δ·A) of i1−i0 channels
			}
			r := r0 + i0
			b, c := r/d, r%d
			for i := i0; i < i1; i, r = i+1, r+1 {
				x, dt := a.X.Data[r], dts[i]
				st := a.State.Data[r*n : r*n+n]
				bo, co := b*n, b*n // one group: the batch row
				if gb > 1 {
					bo = (b*gb + c/sizeB) * n
				}
				if gc > 1 {
					co = (b*gc + c/sizeC) * n
				}
				br := a.B.Data[bo : bo+n]
				cr := a.C.Data[co : co+n]
				var y float32
				if n <= stepExpBlock {
					y = stepStates(st, dA[(i-i0)*n:(i-i0+1)*n], br, cr, dt, x)
				} else {
					ar := a.A.Data[c*n : (c+1)*n]
					for j0 := 0; j0 < n; j0 += stepExpBlock {
						j1 := min(n, j0+stepExpBlock)
						e := dA[:j1-j0]
						stageDecay(e, ar[j0:j1], dt)
						asm.Exp(e, e)
						y += stepStates(st[j0:j1], e, br[j0:j1], cr[j0:j1], dt, x)
					}
				}
				if a.D != nil {
					y += x * a.D.Data[c]
				}
				if gates != nil {
					y *= gates[i]
				}
				a.Out.Data[r] = y
				if c++; c == d {
					c, b = 0, b+1
				}
			}
		}
	}
}

// stageDecay writes e[j] = a[j]·dt, the argument of the decay exp.
func stageDecay(e, a []float32, dt float32) {
	a = a[:len(e)]
	j := 0
	for ; j+4 <= len(e); j += 4 {
		ej, aj := e[j:j+4:j+4], a[j:j+4:j+4]
		ej[0], ej[1], ej[2], ej[3] = aj[0]*dt, aj[1]*dt, aj[2]*dt, aj[3]*dt
	}
	for ; j < len(e); j++ {
		e[j] = a[j] * dt
	}
}

// stepStates advances one channel's states by a token given their decays
// e = exp(Δ·A): st[j] = st[j]·e[j] + (Δ·x)·B[j] (the order of the full
// scan's definition, asm.ScanStates16Go), and returns Σ_j st[j]·C[j]. The
// sum runs in four interleaved partial sums (j mod 4, the tail in the
// first), added as (s0 + s1) + (s2 + s3): one serial chain of N adds was
// the step's latency bound.
func stepStates(st, e, br, cr []float32, dt, x float32) float32 {
	e, br, cr = e[:len(st)], br[:len(st)], cr[:len(st)]
	dx := dt * x
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(st); j += 4 {
		h, ej, bj, cj := st[j:j+4:j+4], e[j:j+4:j+4], br[j:j+4:j+4], cr[j:j+4:j+4]
		v0 := h[0]*ej[0] + dx*bj[0]
		v1 := h[1]*ej[1] + dx*bj[1]
		v2 := h[2]*ej[2] + dx*bj[2]
		v3 := h[3]*ej[3] + dx*bj[3]
		h[0], h[1], h[2], h[3] = v0, v1, v2, v3
		s0 += v0 * cj[0]
		s1 += v1 * cj[1]
		s2 += v2 * cj[2]
		s3 += v3 * cj[3]
	}
	for ; j < len(st); j++ {
		v := st[j]*e[j] + dx*br[j]
		st[j] = v
		s0 += v * cr[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// stepBCGroups validates B or C of SelectiveStateUpdate and returns its
// number of groups.
func stepBCGroups(op, name string, t *Tensor, bt, d, n int) int {
	switch {
	case t == nil:
	case t.Rank() == 2 && t.Dim(0) == bt && t.Dim(1) == n:
		return 1
	case t.Rank() == 3 && t.Dim(0) == bt && t.Dim(1) > 0 && d%t.Dim(1) == 0 && t.Dim(2) == n:
		return t.Dim(1)
	}
	panicf(op, "%s %v: want (Bt, N) = (%d, %d) or (Bt, G, N) with G dividing %d", name, shp(t), bt, n, d)
	return 0
}
