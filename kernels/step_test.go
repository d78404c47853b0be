package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomamba/gomamba/kernels/internal/asm"
)

// stepRef is SelectiveStateUpdate one channel and one state at a time,
// with the same vector kernels called on single elements (they are
// elementwise) and Σ state·C in stepStates' order (four partial sums per
// exp block of states): the reference that the blocked stepRange must
// match bit for bit. At N = 16 each channel is one call of
// asm.StepStates16 (its results do not depend on the channels beside it;
// asm's TestStepStates16ChannelsIndependent), the reference for
// stepRange16's blocks.
func stepRef(a *StepArgs) []float32 {
	bt, d, n := a.State.Dim(0), a.State.Dim(1), a.State.Dim(2)
	groups := func(t *Tensor) int {
		if t.Rank() == 3 {
			return t.Dim(1)
		}
		return 1
	}
	gb, gc := groups(a.B), groups(a.C)
	out := make([]float32, bt*d)
	one := func(f func(dst, src []float32), v float32) float32 {
		s := []float32{v}
		f(s, s)
		return s[0]
	}
	for r := range bt * d {
		b, c := r/d, r%d
		dt := a.DT.Data[r]
		if a.DTBias != nil {
			dt += a.DTBias.Data[c]
		}
		if a.DTSoftplus {
			dt = one(func(dst, src []float32) { asm.Softplus(dst, src, 0) }, dt)
		}
		x := a.X.Data[r]
		bo := (b*gb + c/(d/gb)) * n
		co := (b*gc + c/(d/gc)) * n
		if n == 16 { // one channel of asm.StepStates16
			g, dSkip, o := float32(1), float32(0), []float32{0}
			if a.Z != nil {
				g = one(asm.Silu, a.Z.Data[r])
			}
			if a.D != nil {
				dSkip = a.D.Data[c]
			}
			asm.StepStates16(a.State.Data[r*n:r*n+n], a.A.Data[c*n:c*n+n], []float32{dt}, []float32{x}, []float32{dSkip}, []float32{g},
				o, a.B.Data[bo:bo+n], a.C.Data[co:co+n])
			out[r] = o[0]
			continue
		}
		var y float32
		for j0 := 0; j0 < max(n, 1); j0 += stepExpBlock { // the decays of one exp call
			j1 := min(n, j0+stepExpBlock)
			var s [4]float32 // Σ st·C in partial sums j mod 4, the tail in s[0]
			for j := j0; j < j1; j++ {
				e := one(asm.Exp, a.A.Data[c*n+j]*dt)
				v := a.State.Data[r*n+j]*e + dt*x*a.B.Data[bo+j]
				a.State.Data[r*n+j] = v
				if q := j - j0; q < (j1-j0)&^3 {
					s[q%4] += v * a.C.Data[co+j]
				} else {
					s[0] += v * a.C.Data[co+j]
				}
			}
			if n <= stepExpBlock {
				y = (s[0] + s[1]) + (s[2] + s[3])
			} else {
				y += (s[0] + s[1]) + (s[2] + s[3])
			}
		}
		if a.D != nil {
			y += x * a.D.Data[c]
		}
		if a.Z != nil {
			y *= one(asm.Silu, a.Z.Data[r])
		}
		out[r] = y
	}
	return out
}

// TestSelectiveStateUpdateExact checks the blocked decode step against
// stepRef bit for bit (outputs and states) over odd channel counts, state
// sizes below, at and above the exp block (1, 3, 16, 17, 600), groups
// (blocks of N = 16 end at group and batch-row boundaries) and
// every optional operand, serial and parallel.
func TestSelectiveStateUpdateExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ bt, d, n, g int }{
		{1, 1, 1, 1}, {2, 7, 3, 1}, {1, 1537, 16, 1}, {3, 65, 17, 5}, {1, 33, 600, 3}, {2, 129, 16, 3}, {1, 4097, 16, 1},
		{3, 100, 16, 4}, {2, 7, 16, 7}, {1, 1, 16, 1},
	} {
		for opt := range 8 {
			withD, withZ, withBias := opt&1 != 0, opt&2 != 0, opt&4 != 0
			a := &StepArgs{
				State: rndT(r, 1, c.bt, c.d, c.n), X: rndT(r, 1, c.bt, c.d), DT: rndT(r, 1, c.bt, c.d),
				A: rndT(r, 2, c.d, c.n), DTSoftplus: opt != 3, Out: New(c.bt, c.d),
			}
			if c.g > 1 {
				a.B, a.C = rndT(r, 1, c.bt, c.g, c.n), rndT(r, 1, c.bt, c.g, c.n)
			} else {
				a.B, a.C = rndT(r, 1, c.bt, c.n), rndT(r, 1, c.bt, c.n)
			}
			if withD {
				a.D = rndT(r, 1, c.d)
			}
			if withZ {
				a.Z = rndT(r, 2, c.bt, c.d)
			}
			if withBias {
				a.DTBias = rndT(r, 1, c.d)
			}
			ref := *a
			ref.State = New(a.State.Shape()...)
			copy(ref.State.Data, a.State.Data)
			for _, be := range []Backend{CPU(), CPUSerial()} {
				name := fmt.Sprintf("%+v opt=%d %s", c, opt, be.Name())
				st := New(a.State.Shape()...)
				copy(st.Data, ref.State.Data)
				got := *a
				got.State, got.Out = st, New(c.bt, c.d)
				be.SelectiveStateUpdate(&got)
				refState := New(a.State.Shape()...)
				copy(refState.Data, ref.State.Data)
				rr := ref
				rr.State = refState
				want := stepRef(&rr)
				for i, v := range got.Out.Data {
					if math.Float32bits(v) != math.Float32bits(want[i]) {
						t.Fatalf("%s: out[%d] = %v, reference %v", name, i, v, want[i])
					}
				}
				for i, v := range st.Data {
					if math.Float32bits(v) != math.Float32bits(refState.Data[i]) {
						t.Fatalf("%s: state[%d] = %v, reference %v", name, i, v, refState.Data[i])
					}
				}
			}
		}
	}
}

// BenchmarkSelectiveStateUpdateHeld times the decode step's state update
// of one mamba-130m layer (1536 channels, N = 16, every operand) as the
// LM's step runs it, with helpers held (HoldWorkers): split over
// GOMAXPROCS goroutines ("held", the CPU backend) against one goroutine
// ("serial", CPUSerial), to judge the split on a given machine.
func BenchmarkSelectiveStateUpdateHeld(b *testing.B) {
	const d, n = 1536, 16
	r := rand.New(rand.NewPCG(13, 14))
	a := &StepArgs{
		State: rndT(r, 1, 1, d, n), X: rndT(r, 1, 1, d), DT: rndT(r, 1, 1, d), A: rndT(r, 1, d, n),
		B: rndT(r, 1, 1, n), C: rndT(r, 1, 1, n), D: rndT(r, 1, d), Z: rndT(r, 1, 1, d), DTBias: rndT(r, 1, d),
		DTSoftplus: true, Out: New(1, d),
	}
	for i := range a.A.Data {
		a.A.Data[i] = -float32(1 + i%n)
	}
	for _, c := range []struct {
		name string
		be   Backend
	}{{"held", CPU()}, {"serial", CPUSerial()}} {
		b.Run(c.name, func(b *testing.B) {
			release := HoldWorkers()
			defer release()
			b.SetBytes(int64(4 * (3*d*n + 6*d)))
			for b.Loop() {
				c.be.SelectiveStateUpdate(a)
			}
		})
	}
}
