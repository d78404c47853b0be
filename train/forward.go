package train

import (
	"fmt"
	"math"

	"github.com/gomamba/gomamba/kernels"
)

// branchCache holds one SSM branch's activations for the backward pass.
type branchCache[T Float] struct {
	x, z, xc, xs, dt, y []T // (E, L), time flipped for the backward branch
	xdbl                []T // (L, R+2N)
	bm, cm              []T // (N, L)
	a                   []T // (E, N) = −exp(A_log)
	hs, das             []T // (E, L, N) states and decay factors
}

type layerCache[T Float] struct {
	res, nrm, xz, y, h []T
	rstd               []T
	br                 [2]branchCache[T]
}

// sample is one worker's forward cache and scratch for a single image. It is
// reused across images; not safe for concurrent use.
type sample[T Float] struct {
	c       Config
	patches []T // (M, inC·P·P)
	tokens  []T // (L, C)
	layers  []layerCache[T]
	resF    []T // (L, C)
	f       []T // (L, C) norm_f output
	rstdF   []T
	logits  []T
	probs   []T
	// backward scratch
	g, dh, dn, dxz, dy, dyb, dxs, dxc, dx, dz, ddt, dxdbl, dbm, dcm, dhs, dflip []T
}

func newSample[T Float](c Config) *sample[T] {
	L, C, E, N, R := c.tokens(), c.Dim, c.inner(), c.DState, c.dtRank()
	M := c.patches()
	mk := func(n int) []T { return make([]T, n) }
	s := &sample[T]{c: c, patches: mk(M * c.InChans * c.Patch * c.Patch), tokens: mk(L * C),
		resF: mk(L * C), f: mk(L * C), rstdF: mk(L), logits: mk(c.Classes), probs: mk(c.Classes)}
	s.layers = make([]layerCache[T], c.Depth)
	for i := range s.layers {
		lc := &s.layers[i]
		lc.res, lc.nrm, lc.xz, lc.y, lc.h, lc.rstd = mk(L*C), mk(L*C), mk(L*2*E), mk(E*L), mk(L*C), mk(L)
		for b := range lc.br {
			lc.br[b] = branchCache[T]{x: mk(E * L), z: mk(E * L), xc: mk(E * L), xs: mk(E * L), dt: mk(E * L), y: mk(E * L),
				xdbl: mk(L * (R + 2*N)), bm: mk(N * L), cm: mk(N * L), a: mk(E * N), hs: mk(E * L * N), das: mk(E * L * N)}
		}
	}
	s.g, s.dh, s.dn, s.dxz = mk(L*C), mk(L*C), mk(L*C), mk(L*2*E)
	s.dy, s.dyb, s.dxs, s.dxc, s.dx, s.dz, s.ddt = mk(E*L), mk(E*L), mk(E*L), mk(E*L), mk(E*L), mk(E*L), mk(E*L)
	s.dxdbl, s.dbm, s.dcm, s.dhs, s.dflip = mk(L*(R+2*N)), mk(N*L), mk(N*L), mk(N), mk(E*L)
	return s
}

// extractPatches lays out img (inC, H, W) as (M, inC·P·P) rows in the order
// of a PyTorch conv weight (c, ky, kx).
func (s *sample[T]) extractPatches(img []T) {
	c := s.c
	G, P, S, H := c.grid(), c.Patch, c.Stride, c.ImgSize
	k := c.InChans * P * P
	for gy := 0; gy < G; gy++ {
		for gx := 0; gx < G; gx++ {
			row := s.patches[(gy*G+gx)*k : (gy*G+gx+1)*k]
			i := 0
			for ch := 0; ch < c.InChans; ch++ {
				for ky := 0; ky < P; ky++ {
					for kx := 0; kx < P; kx++ {
						row[i] = img[ch*H*H+(gy*S+ky)*H+gx*S+kx]
						i++
					}
				}
			}
		}
	}
}

// forward runs the model on one image (inC·H·W values) and returns the
// logits (valid until the next call).
func (s *sample[T]) forward(p *Params[T], img []T) []T {
	c := s.c
	L, C, M, mid := c.tokens(), c.Dim, c.patches(), c.mid()
	k := c.InChans * c.Patch * c.Patch
	s.extractPatches(img)
	emb := s.layers[0].res // reuse as scratch before layer 0 overwrites it
	kernels.LinearForward(emb[:M*C], s.patches, p.Get("patch_embed.proj.weight"), p.Get("patch_embed.proj.bias"), M, C, k)
	copy(s.tokens[:mid*C], emb[:mid*C])
	copy(s.tokens[mid*C:(mid+1)*C], p.Get("cls_token"))
	copy(s.tokens[(mid+1)*C:], emb[mid*C:M*C])
	pos := p.Get("pos_embed")
	for i := range s.tokens {
		s.tokens[i] += pos[i]
	}
	eps := T(c.NormEps)
	for i := range s.layers {
		lc := &s.layers[i]
		if i == 0 {
			copy(lc.res, s.tokens)
		} else {
			prev := &s.layers[i-1]
			for j := range lc.res {
				lc.res[j] = prev.res[j] + prev.h[j]
			}
		}
		kernels.RMSNormForward(lc.nrm, lc.rstd, lc.res, p.Get(fmt.Sprintf("layers.%d.norm.weight", i)), L, C, eps)
		s.mixerForward(p, i, lc)
	}
	last := &s.layers[len(s.layers)-1]
	for j := range s.resF {
		s.resF[j] = last.res[j] + last.h[j]
	}
	kernels.RMSNormForward(s.f, s.rstdF, s.resF, p.Get("norm_f.weight"), L, C, eps)
	kernels.LinearForward(s.logits, s.f[mid*C:(mid+1)*C], p.Get("head.weight"), p.Get("head.bias"), 1, c.Classes, C)
	return s.logits
}

func branchNames(i, b int) (conv, convB, xp, dtw, dtb, alog, d string) {
	pre := fmt.Sprintf("layers.%d.mixer.", i)
	sfx := ""
	alog, d = pre+"A_log", pre+"D"
	if b == 1 {
		sfx = "_b"
		alog, d = pre+"A_b_log", pre+"D_b"
	}
	return pre + "conv1d" + sfx + ".weight", pre + "conv1d" + sfx + ".bias", pre + "x_proj" + sfx + ".weight",
		pre + "dt_proj" + sfx + ".weight", pre + "dt_proj" + sfx + ".bias", alog, d
}

func (s *sample[T]) mixerForward(p *Params[T], i int, lc *layerCache[T]) {
	c := s.c
	L, C, E, N, R, K := c.tokens(), c.Dim, c.inner(), c.DState, c.dtRank(), c.DConv
	pre := fmt.Sprintf("layers.%d.mixer.", i)
	kernels.LinearForward(lc.xz, lc.nrm, p.Get(pre+"in_proj.weight"), nil, L, 2*E, C)
	for b := 0; b < 2; b++ {
		bc := &lc.br[b]
		// channel-major x and z, time reversed for the backward branch
		for t := 0; t < L; t++ {
			tt := t
			if b == 1 {
				tt = L - 1 - t
			}
			row := lc.xz[t*2*E : (t+1)*2*E]
			for e := 0; e < E; e++ {
				bc.x[e*L+tt] = row[e]
				bc.z[e*L+tt] = row[E+e]
			}
		}
		convW, convB, xp, dtw, dtb, alog, dname := branchNames(i, b)
		kernels.CausalConvForward(bc.xc, bc.x, p.Get(convW), p.Get(convB), E, L, K)
		for j, v := range bc.xc {
			bc.xs[j] = kernels.SiLU(v)
		}
		W := R + 2*N
		kernels.Gemm(true, true, L, W, E, 1, bc.xs, L, p.Get(xp), E, 0, bc.xdbl, W)
		kernels.Gemm(false, true, E, L, R, 1, p.Get(dtw), R, bc.xdbl, W, 0, bc.dt, L)
		for t := 0; t < L; t++ {
			for n := 0; n < N; n++ {
				bc.bm[n*L+t] = bc.xdbl[t*W+R+n]
				bc.cm[n*L+t] = bc.xdbl[t*W+R+N+n]
			}
		}
		al, dd, bias := p.Get(alog), p.Get(dname), p.Get(dtb)
		for j, v := range al {
			bc.a[j] = -T(math.Exp(float64(v)))
		}
		for e := 0; e < E; e++ {
			sc := kernels.ScanChannel[T]{U: bc.xs[e*L : (e+1)*L], Delta: bc.dt[e*L : (e+1)*L], Z: bc.z[e*L : (e+1)*L],
				B: bc.bm, C: bc.cm, A: bc.a[e*N : (e+1)*N], D: dd[e], DeltaBias: bias[e], Softplus: true, L: L, N: N}
			sc.Forward(bc.y[e*L:(e+1)*L], bc.hs[e*L*N:(e+1)*L*N], bc.das[e*L*N:(e+1)*L*N])
		}
	}
	f, bw := lc.br[0].y, lc.br[1].y
	for e := 0; e < E; e++ {
		for t := 0; t < L; t++ {
			lc.y[e*L+t] = (f[e*L+t] + bw[e*L+L-1-t]) / 2
		}
	}
	kernels.Gemm(true, true, L, C, E, 1, lc.y, L, p.Get(pre+"out_proj.weight"), E, 0, lc.h, C)
}

// lossAndGrad computes softmax cross-entropy of the last forward for label
// and writes dlogits·scale into s.logits' gradient (returned slice).
func (s *sample[T]) crossEntropy(label int) (loss float64, dlogits []T) {
	mx := math.Inf(-1)
	for _, v := range s.logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for i, v := range s.logits {
		e := math.Exp(float64(v) - mx)
		s.probs[i] = T(e)
		sum += e
	}
	for i := range s.probs {
		s.probs[i] = T(float64(s.probs[i]) / sum)
	}
	loss = -math.Log(math.Max(float64(s.probs[label]), 1e-30))
	s.probs[label] -= 1
	return loss, s.probs
}

// backward accumulates into grad the gradient of Σ dlogits·logits for the
// last forward on img.
func (s *sample[T]) backward(p, grad *Params[T], dlogits []T) {
	c := s.c
	L, C, M, mid := c.tokens(), c.Dim, c.patches(), c.mid()
	k := c.InChans * c.Patch * c.Patch
	clear(s.g)
	// head
	df := s.dn
	clear(df)
	kernels.LinearBackward(df[mid*C:(mid+1)*C], grad.Get("head.weight"), grad.Get("head.bias"), dlogits, s.f[mid*C:(mid+1)*C], p.Get("head.weight"), 1, c.Classes, C)
	kernels.RMSNormBackward(s.g, grad.Get("norm_f.weight"), df, s.resF, p.Get("norm_f.weight"), s.rstdF, L, C)
	for i := len(s.layers) - 1; i >= 0; i-- {
		lc := &s.layers[i]
		copy(s.dh, s.g)
		s.mixerBackward(p, grad, i, lc)
		kernels.RMSNormBackward(s.g, grad.Get(fmt.Sprintf("layers.%d.norm.weight", i)), s.dn, lc.res, p.Get(fmt.Sprintf("layers.%d.norm.weight", i)), lc.rstd, L, C)
	}
	// tokens = insert(emb, cls) + pos
	dpos := grad.Get("pos_embed")
	for j, v := range s.g {
		dpos[j] += v
	}
	dcls := grad.Get("cls_token")
	for j := 0; j < C; j++ {
		dcls[j] += s.g[mid*C+j]
	}
	demb := s.dn[:M*C]
	copy(demb[:mid*C], s.g[:mid*C])
	copy(demb[mid*C:], s.g[(mid+1)*C:])
	kernels.LinearBackward(nil, grad.Get("patch_embed.proj.weight"), grad.Get("patch_embed.proj.bias"), demb, s.patches, p.Get("patch_embed.proj.weight"), M, C, k)
}

// mixerBackward takes s.dh (gradient of the mixer output) and leaves the
// gradient of the mixer input (the normed tokens) in s.dn.
func (s *sample[T]) mixerBackward(p, grad *Params[T], i int, lc *layerCache[T]) {
	c := s.c
	L, C, E, N, R, K := c.tokens(), c.Dim, c.inner(), c.DState, c.dtRank(), c.DConv
	W := R + 2*N
	pre := fmt.Sprintf("layers.%d.mixer.", i)
	wout := p.Get(pre + "out_proj.weight")
	// out (L,C) = yᵀ·Woutᵀ with y (E,L)
	kernels.Gemm(true, true, E, L, C, 1, wout, E, s.dh, C, 0, s.dy, L)
	kernels.Gemm(true, true, C, E, L, 1, s.dh, C, lc.y, L, 1, grad.Get(pre+"out_proj.weight"), E)
	clear(s.dxz)
	for b := 0; b < 2; b++ {
		bc := &lc.br[b]
		dyb := s.dyb
		for e := 0; e < E; e++ {
			for t := 0; t < L; t++ {
				tt := t
				if b == 1 {
					tt = L - 1 - t
				}
				dyb[e*L+t] = s.dy[e*L+tt] / 2
			}
		}
		convW, convB, xp, dtw, dtb, alog, dname := branchNames(i, b)
		dd, bias := p.Get(dname), p.Get(dtb)
		gA, gD, gBias := grad.Get(alog), grad.Get(dname), grad.Get(dtb)
		clear(s.dbm)
		clear(s.dcm)
		for e := 0; e < E; e++ {
			sc := kernels.ScanChannel[T]{U: bc.xs[e*L : (e+1)*L], Delta: bc.dt[e*L : (e+1)*L], Z: bc.z[e*L : (e+1)*L],
				B: bc.bm, C: bc.cm, A: bc.a[e*N : (e+1)*N], D: dd[e], DeltaBias: bias[e], Softplus: true, L: L, N: N}
			da := s.dhs // reuse N scratch for dA of this channel
			clear(da)
			g := kernels.ScanChannelGrad[T]{DU: s.dxs[e*L : (e+1)*L], DDelta: s.ddt[e*L : (e+1)*L], DZ: s.dz[e*L : (e+1)*L],
				DA: da, DB: s.dbm, DC: s.dcm, DD: &gD[e], DDeltaBias: &gBias[e]}
			sc.Backward(&g, dyb[e*L:(e+1)*L], bc.hs[e*L*N:(e+1)*L*N], bc.das[e*L*N:(e+1)*L*N], s.dflip[:N])
			// A = −exp(A_log) ⇒ dA_log = dA·A
			for n := 0; n < N; n++ {
				gA[e*N+n] += da[n] * bc.a[e*N+n]
			}
		}
		// dt (E,L) = Wdt (E,R) · dtinᵀ, dtin = xdbl[:, :R]
		clear(s.dxdbl)
		kernels.Gemm(false, false, E, R, L, 1, s.ddt, L, bc.xdbl, W, 1, grad.Get(dtw), R)
		kernels.Gemm(true, false, L, R, E, 1, s.ddt, L, p.Get(dtw), R, 0, s.dxdbl, W)
		for t := 0; t < L; t++ {
			for n := 0; n < N; n++ {
				s.dxdbl[t*W+R+n] = s.dbm[n*L+t]
				s.dxdbl[t*W+R+N+n] = s.dcm[n*L+t]
			}
		}
		// xdbl (L,W) = xsᵀ·Wxᵀ
		kernels.Gemm(true, true, E, L, W, 1, p.Get(xp), E, s.dxdbl, W, 1, s.dxs, L)
		kernels.Gemm(true, true, W, E, L, 1, s.dxdbl, W, bc.xs, L, 1, grad.Get(xp), E)
		for j, v := range bc.xc {
			s.dxc[j] = s.dxs[j] * kernels.SiLUGrad(v)
		}
		clear(s.dx)
		kernels.CausalConvBackward(s.dx, grad.Get(convW), grad.Get(convB), s.dxc, bc.x, p.Get(convW), E, L, K)
		for t := 0; t < L; t++ {
			tt := t
			if b == 1 {
				tt = L - 1 - t
			}
			row := s.dxz[tt*2*E : (tt+1)*2*E]
			for e := 0; e < E; e++ {
				row[e] += s.dx[e*L+t]
				row[E+e] += s.dz[e*L+t]
			}
		}
	}
	clear(s.dn)
	kernels.LinearBackward(s.dn, grad.Get(pre+"in_proj.weight"), nil, s.dxz, lc.nrm, p.Get(pre+"in_proj.weight"), L, 2*E, C)
}
