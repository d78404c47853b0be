package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// stepOperands returns random StepStates16 operands for n channels: decay
// rates like Mamba's A = −exp(A_log) (−0.05 … −16), Δ after softplus, with
// a very long step (exp far below the clamp) and a tiny one (decay near
// 1) among them.
func stepOperands(r *rand.Rand, n int) (h, a, dt, x, dSkip, gate, b, c []float32) {
	h, a = randSlice(r, 16*n), make([]float32, 16*n)
	for i := range a {
		a[i] = -(0.05 + r.Float32()*16)
	}
	dt = make([]float32, n)
	for i := range dt {
		dt[i] = r.Float32() * 2
	}
	if n > 1 {
		dt[1] = 30
	}
	if n > 2 {
		dt[2] = 1e-4
	}
	return h, a, dt, randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, 16), randSlice(r, 16)
}

func TestStepStates16MatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 67, 1537} {
		h0, a, dt, x, dSkip, gate, b, c := stepOperands(r, n)
		wantH := append([]float32(nil), h0...)
		want := make([]float32, n)
		StepStates16Go(wantH, a, dt, x, dSkip, gate, want, b, c)
		bothWays(t, func(t *testing.T) {
			h, allH := guarded(16 * n)
			copy(h, h0)
			got, all := guarded(n)
			StepStates16(h, a, dt, x, dSkip, gate, got, b, c)
			checkGuards(t, all, n)
			checkGuards(t, allH, 16*n)
			for i := range got {
				if !relClose(float64(got[i]), float64(want[i]), 1e-5, 1e-5) {
					t.Fatalf("n=%d: out[%d] = %v, twin %v", n, i, got[i], want[i])
				}
			}
			for i := range h {
				if !relClose(float64(h[i]), float64(wantH[i]), 1e-5, 1e-6) {
					t.Fatalf("n=%d: h[%d] = %v, twin %v", n, i, h[i], wantH[i])
				}
			}
		})
	}
}

// TestStepStates16ChannelsIndependent checks, in every mode, that a
// channel's state and output are the same bits whether a call takes it
// alone or among others (whole groups of four and padded tails), which
// SelectiveStateUpdate's blocking relies on.
func TestStepStates16ChannelsIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	const n = 23
	h0, a, dt, x, dSkip, gate, b, c := stepOperands(r, n)
	bothWays(t, func(t *testing.T) {
		h, out := append([]float32(nil), h0...), make([]float32, n)
		StepStates16(h, a, dt, x, dSkip, gate, out, b, c)
		for i := range n {
			hi, oi := append([]float32(nil), h0[16*i:16*i+16]...), make([]float32, 1)
			StepStates16(hi, a[16*i:], dt[i:i+1], x[i:], dSkip[i:], gate[i:], oi, b, c)
			if math.Float32bits(oi[0]) != math.Float32bits(out[i]) {
				t.Fatalf("channel %d alone: out %v, in the call of %d: %v", i, oi[0], n, out[i])
			}
			for k, v := range hi {
				if math.Float32bits(v) != math.Float32bits(h[16*i+k]) {
					t.Fatalf("channel %d alone: h[%d] %v, in the call of %d: %v", i, k, v, n, h[16*i+k])
				}
			}
		}
	})
}

// BenchmarkStepStates16 times one decode step's state update of a
// mamba-130m layer (1536 channels) and of a mamba-2.8b one (5120) on one
// goroutine; bytes are the states read and written plus A.
func BenchmarkStepStates16(b *testing.B) {
	benchModes(b, func(b *testing.B) {
		for _, n := range []int{1536, 5120} {
			r := rand.New(rand.NewPCG(95, 96))
			h, a, dt, x, dSkip, gate, bb, c := stepOperands(r, n)
			out := make([]float32, n)
			b.Run(fmt.Sprintf("d%d", n), func(b *testing.B) {
				b.SetBytes(int64(4 * 48 * n))
				for b.Loop() {
					StepStates16(h, a, dt, x, dSkip, gate, out, bb, c)
				}
			})
		}
	})
}

// TestConv4StepMatchesTwin requires the SIMD conv step to equal its twin
// bit for bit (outputs and states), with and without a bias, on odd
// channel counts around the eight-channel group, with guards.
func TestConv4StepMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(97, 98))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 1536, 1539} {
		state0, x, w, bias := randSlice(r, 4*n), randSlice(r, n), randSlice(r, 4*n), randSlice(r, n)
		for _, bb := range [][]float32{nil, bias} {
			wantS := append([]float32(nil), state0...)
			want := make([]float32, n)
			Conv4StepGo(want, wantS, x, w, bb)
			bothWays(t, func(t *testing.T) {
				st, allS := guarded(4 * n)
				copy(st, state0)
				got, all := guarded(n)
				Conv4Step(got, st, x, w, bb)
				checkGuards(t, all, n)
				checkGuards(t, allS, 4*n)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d bias=%v: dst[%d] = %v, twin %v", n, bb != nil, i, got[i], want[i])
					}
				}
				for i := range st {
					if st[i] != wantS[i] {
						t.Fatalf("n=%d: state[%d] = %v, twin %v", n, i, st[i], wantS[i])
					}
				}
			})
		}
	}
}

// BenchmarkConv4Step times the conv step of a mamba-130m layer (1536
// channels) on one goroutine; bytes are the state read and written, the
// weights, x, bias and dst.
func BenchmarkConv4Step(b *testing.B) {
	const n = 1536
	r := rand.New(rand.NewPCG(99, 100))
	st, x, w, bias, dst := randSlice(r, 4*n), randSlice(r, n), randSlice(r, 4*n), randSlice(r, n), make([]float32, n)
	benchModes(b, func(b *testing.B) {
		b.SetBytes(int64(4 * 15 * n))
		for b.Loop() {
			Conv4Step(dst, st, x, w, bias)
		}
	})
}
