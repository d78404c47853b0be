package train

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ParamSpec names one parameter tensor with its official checkpoint key and
// shape.
type ParamSpec struct {
	Name  string
	Shape []int
}

func (s ParamSpec) size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Params is a flat parameter (or gradient, or optimizer moment) buffer with
// named views in checkpoint order.
type Params[T Float] struct {
	Specs []ParamSpec
	Data  []T
	off   map[string]int
}

// NewParams allocates a zeroed buffer laid out by specs.
func NewParams[T Float](specs []ParamSpec) *Params[T] {
	p := &Params[T]{Specs: specs, off: make(map[string]int, len(specs))}
	n := 0
	for _, s := range specs {
		p.off[s.Name] = n
		n += s.size()
	}
	p.Data = make([]T, n)
	return p
}

// Get returns the view of one named parameter; it panics on an unknown name
// (names come from the model's own spec list).
func (p *Params[T]) Get(name string) []T {
	o, ok := p.off[name]
	if !ok {
		panic(fmt.Sprintf("train: no parameter %q", name))
	}
	for _, s := range p.Specs {
		if s.Name == name {
			return p.Data[o : o+s.size()]
		}
	}
	panic("unreachable")
}

// Zero clears the buffer.
func (p *Params[T]) Zero() {
	clear(p.Data)
}

// truncNormal fills v with N(0, std²) truncated to ±2 std (timm's
// trunc_normal_ with its default bounds in units of std).
func truncNormal[T Float](r *rand.Rand, v []T, std float64) {
	for i := range v {
		for {
			x := r.NormFloat64()
			if math.Abs(x) <= 2 {
				v[i] = T(x * std)
				break
			}
		}
	}
}

func uniform[T Float](r *rand.Rand, v []T, lo, hi float64) {
	for i := range v {
		v[i] = T(lo + (hi-lo)*r.Float64())
	}
}
