package train

import (
	"math"
	"strings"
)

// AdamW is decoupled-weight-decay Adam (Loshchilov & Hutter), as
// torch.optim.AdamW: m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// p −= lr·(m̂/(√v̂ + eps) + wd·p) with bias-corrected m̂, v̂.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	m, v                           *Params[float32]
	decay                          []bool // per element: apply weight decay
	Step                           int
}

// NoWeightDecay reports whether a parameter is exempt from weight decay, as in
// Vim's training (timm's rule: 1-D tensors and biases, plus pos_embed,
// cls_token and Mamba's A_log/D).
func NoWeightDecay(s ParamSpec) bool {
	if len(s.Shape) <= 1 || strings.HasSuffix(s.Name, ".bias") {
		return true
	}
	for _, k := range []string{"pos_embed", "cls_token", "A_log", "A_b_log", ".D", ".D_b"} {
		if strings.HasSuffix(s.Name, k) || s.Name == k {
			return true
		}
	}
	return false
}

// NewAdamW makes an optimizer for parameters laid out as specs.
func NewAdamW(specs []ParamSpec, weightDecay float64) *AdamW {
	o := &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		m: NewParams[float32](specs), v: NewParams[float32](specs)}
	o.decay = make([]bool, len(o.m.Data))
	off := 0
	for _, s := range specs {
		n := s.size()
		if !NoWeightDecay(s) {
			for i := off; i < off+n; i++ {
				o.decay[i] = true
			}
		}
		off += n
	}
	return o
}

// Update applies one step with learning rate lr to p given gradient g.
func (o *AdamW) Update(p, g *Params[float32], lr float64) {
	o.Step++
	b1, b2 := o.Beta1, o.Beta2
	c1 := 1 - math.Pow(b1, float64(o.Step))
	c2 := 1 - math.Pow(b2, float64(o.Step))
	m, v := o.m.Data, o.v.Data
	for i, gi := range g.Data {
		gf := float64(gi)
		mi := b1*float64(m[i]) + (1-b1)*gf
		vi := b2*float64(v[i]) + (1-b2)*gf*gf
		m[i], v[i] = float32(mi), float32(vi)
		upd := (mi / c1) / (math.Sqrt(vi/c2) + o.Eps)
		pi := float64(p.Data[i])
		if o.decay[i] {
			pi -= lr * o.WeightDecay * pi
		}
		p.Data[i] = float32(pi - lr*upd)
	}
}

// ClipGradNorm scales g so that its global L2 norm is at most maxNorm and
// returns the norm before clipping (torch.nn.utils.clip_grad_norm_).
func ClipGradNorm(g *Params[float32], maxNorm float64) float64 {
	var ss float64
	for _, v := range g.Data {
		ss += float64(v) * float64(v)
	}
	n := math.Sqrt(ss)
	if maxNorm > 0 && n > maxNorm {
		s := float32(maxNorm / (n + 1e-6))
		for i := range g.Data {
			g.Data[i] *= s
		}
	}
	return n
}

// CosineLR is linear warm-up to base over warmup steps, then cosine decay to
// minLR at total steps.
func CosineLR(step, warmup, total int, base, minLR float64) float64 {
	if step < warmup {
		return base * float64(step+1) / float64(warmup)
	}
	if total <= warmup {
		return base
	}
	p := math.Min(1, float64(step-warmup)/float64(total-warmup))
	return minLR + 0.5*(base-minLR)*(1+math.Cos(math.Pi*p))
}
