package cuda

import (
	"fmt"

	"github.com/gomamba/gomamba/kernels"
)

// scanNMax are the register-array sizes the scan kernel is built for; a
// d_state N runs in the smallest one that holds it.
var scanNMax = []int{1, 2, 4, 8, 16, 32, 64}

// scanLanes is the number of lanes that share one channel in the split-state
// scan kernel (gm_scan_fwd_s<N>, src/scan.cu ScanSplit::LPC) for a register
// array of nmax states; its blocks have 32·scanLanes threads.
func scanLanes(nmax int) int {
	switch {
	case nmax <= 4:
		return 1
	case nmax == 8:
		return 2
	}
	return 4
}

// The selective scan (split-state kernels, src/scan.cu) and its one-token update.

// bcLayout returns the B/C addressing of src/scan.cu for a (D, N),
// (Bt, N, L) or (Bt, G, N, L) operand, and whether it is time-varying.
func bcLayout(op string, t *kernels.Tensor, bt, d, n, l int) (strides [6]int, varying bool, groupSize int) {
	return bcLayoutShape(op, t, t.Shape(), bt, d, n, l)
}

// bcLayoutShape is bcLayout for an operand of the given shape (t only names
// it in a panic): the fp32 and the 16-bit scans share it.
func bcLayoutShape(op string, t any, shape []int, bt, d, n, l int) (strides [6]int, varying bool, groupSize int) {
	switch len(shape) {
	case 2:
		if shape[0] != d || shape[1] != n {
			panicf(op, "B/C %v, want (%d, %d)", t, d, n)
		}
		return [6]int{0, 0, n, 1, 0, 1}, false, d
	case 3:
		if shape[0] != bt || shape[1] != n || shape[2] != l {
			panicf(op, "B/C %v, want (%d, %d, %d)", t, bt, n, l)
		}
		return [6]int{n * l, 0, 0, l, 1, max(d, 1)}, true, d
	case 4:
		g := shape[1]
		if shape[0] != bt || g < 1 || d%g != 0 || shape[2] != n || shape[3] != l {
			panicf(op, "B/C %v, want (%d, G, %d, %d) with G dividing %d", t, bt, n, l, d)
		}
		return [6]int{g * n * l, n * l, 0, l, 1, max(d/g, 1)}, true, d / g
	}
	panicf(op, "B/C %v has rank %d", t, len(shape))
	return
}

// scanNMaxFor is the smallest kernel register-array size (scanNMax) that
// holds n states; it panics above the largest.
func scanNMaxFor(op string, n int) int {
	for _, m := range scanNMax {
		if n <= m {
			return m
		}
	}
	panicf(op, "d_state %d above the supported %d", n, scanNMax[len(scanNMax)-1])
	return 0
}

// SelectiveScan runs the Mamba selective scan (../shared/spec/scan.md).
func (be *Backend) SelectiveScan(a *kernels.ScanArgs) {
	const op = "SelectiveScan"
	u := a.U
	if u.Rank() != 3 || !kernels.SameShape(a.Delta, u) || !kernels.SameShape(a.Out, u) || a.A.Rank() != 2 || a.A.Dim(0) != u.Dim(1) {
		panicf(op, "u %v, delta %v, A %v, out %v", u, a.Delta, a.A, a.Out)
	}
	bt, d, l, n := u.Dim(0), u.Dim(1), u.Dim(2), a.A.Dim(1)
	if (a.Z != nil && !kernels.SameShape(a.Z, u)) || (a.D != nil && a.D.Len() != d) || (a.DeltaBias != nil && a.DeltaBias.Len() != d) ||
		(a.LastState != nil && (a.LastState.Rank() != 3 || a.LastState.Dim(0) != bt || a.LastState.Dim(1) != d || a.LastState.Dim(2) != n)) {
		panicf(op, "z %v, D %v, delta_bias %v, last_state %v for u %v, N %d", a.Z, a.D, a.DeltaBias, a.LastState, u, n)
	}
	nmax := scanNMaxFor(op, n)
	if bt == 0 || d == 0 || l == 0 {
		be.zeroState(op, a.LastState)
		return
	}
	bs, bVar, bGroup := bcLayout(op, a.B, bt, d, n, l)
	cs, cVar, cGroup := bcLayout(op, a.C, bt, d, n, l)
	// One shared-memory tile of B/C serves a block's 32 channels when both
	// are time-varying and no block straddles two groups.
	stageable := func(t *kernels.Tensor, group int) bool { return t.Rank() == 3 || group%32 == 0 }
	staged := bVar && cVar && stageable(a.B, bGroup) && stageable(a.C, cGroup)
	if a.Accumulate && !staged {
		// Only the split kernels add into Out themselves.
		tmp := be.New(a.Out.Shape()...)
		f := *a
		f.Out, f.Accumulate = tmp, false
		be.SelectiveScan(&f)
		be.Add(a.Out, a.Out, tmp)
		be.Free(tmp)
		return
	}
	if a.Reverse && !staged {
		be.reverseScan(a) // flips into scratch, then the forward kernel
		return
	}
	args := []uint64{be.dev(op, u), be.dev(op, a.Delta), be.dev(op, a.A), be.dev(op, a.B), be.dev(op, a.C),
		be.dev(op, a.D), be.dev(op, a.Z), be.dev(op, a.DeltaBias), be.dev(op, a.Out), be.dev(op, a.LastState)}
	args = appendStrides(args, bs, cs)
	args = append(args, i64(bt), i64(d), i64(l), i64(n), b64(a.DeltaSoftplus))
	chanWarps := (d + 31) / 32
	if staged {
		dir := 0
		if a.Reverse {
			dir = 1
		}
		ni := nmaxIndex(nmax)
		block := [3]uint32{uint32(32 * scanLanes(nmax)), 1, 1}
		rows := min(bt, 65535)
		nch := (l + scanStep - 1) / scanStep
		segC := be.scanSegmentChunks(chanWarps*rows, nch)
		nseg := (nch + segC - 1) / segC
		var carry *kernels.Tensor
		if nseg > 1 {
			// (Bt, nseg, D, N) end states, then (Bt, nseg, D) sums of Δ.
			carry = be.New(bt * nseg * d * (n + 1))
		}
		args = append(args, be.dev(op, carry), i64(segC), b64(a.Accumulate))
		if nseg > 1 {
			be.launch(scanSplitNames[2+dir][ni], [3]uint32{uint32(chanWarps), uint32(rows), uint32(nseg - 1)}, block, args)
		}
		be.launch(scanSplitNames[dir][ni], [3]uint32{uint32(chanWarps), uint32(rows), uint32(nseg)}, block, args)
		if carry != nil {
			be.Free(carry) // the stream orders its reuse after these kernels
		}
		return
	}
	args = append(args, 0, 1, 0)
	grid, block := laneScanDims(nmax, d, bt)
	be.launch(scanGeneralNames[nmaxIndex(nmax)], grid, block, args)
}

// zeroState writes the zero state h_0 into an empty scan's LastState t
// (nil: none).
func (be *Backend) zeroState(op string, t *kernels.Tensor) {
	if t != nil && t.Len() > 0 {
		be.setErr(drvMemset32(be.ctx, be.dev(op, t), 0, t.Len(), be.stream))
	}
}

// appendStrides appends the B and C addressing of bcLayout to a scan
// kernel's arguments.
func appendStrides(args []uint64, bs, cs [6]int) []uint64 {
	for _, s := range bs {
		args = append(args, i64(s))
	}
	for _, s := range cs {
		args = append(args, i64(s))
	}
	return args
}

// laneScanDims is the launch shape of the lane-per-channel scan kernels
// (gm_scan_fwd_g<N>, and gm_scan_half_*_g<N> of src/scan_half.cu): a warp
// per 32 channels, two warps a block (one for N = 64), a grid row per
// batch row.
func laneScanDims(nmax, d, bt int) (grid, block [3]uint32) {
	warps := 2
	if nmax == 64 {
		warps = 1
	}
	chanWarps := (d + 31) / 32
	return [3]uint32{uint32((chanWarps + warps - 1) / warps), uint32(min(bt, 65535)), 1}, [3]uint32{uint32(32 * warps), 1, 1}
}

// Kernel names by scanNMax index: split-state forward and reverse scans,
// the forward and reverse first passes of a segmented scan, general.
var scanSplitNames, scanGeneralNames = func() (split [4][]string, general []string) {
	for _, n := range scanNMax {
		split[0] = append(split[0], fmt.Sprintf("gm_scan_fwd_s%d", n))
		split[1] = append(split[1], fmt.Sprintf("gm_scan_rev_s%d", n))
		split[2] = append(split[2], fmt.Sprintf("gm_scan_fwd_e%d", n))
		split[3] = append(split[3], fmt.Sprintf("gm_scan_rev_e%d", n))
		general = append(general, fmt.Sprintf("gm_scan_fwd_g%d", n))
	}
	return
}()

// scanStep is the split kernels' chunk of time steps (SCAN2_T in
// src/scan.cu): segments over L are whole chunks.
const scanStep = 16

// Segmenting a long scan over L (src/scan.cu scan_split). A split-state
// scan runs one block per 32 channels of a batch row; when those are too
// few to fill the GPU (vim-tiny at 1248² runs passes of Bt 16 × 384
// channels: 192 blocks on 132 SMs, which hold 6 each), the sequence is cut
// into segments run side by side: a first pass takes every segment but the
// last from a zero state to its end state (no C, z or outputs), and the
// scan proper starts each segment from the state that the ones before it
// carry (the recurrence is linear in its initial state). The first pass
// repeats the exps of all but one segment, so segments pay only where the
// GPU would otherwise idle.
var (
	// scanBlocksPerSM is how many split-kernel blocks an SM holds at once
	// (768 threads by the kernels' launch bounds).
	scanBlocksPerSM = 6
	// scanMinSegChunks is the shortest segment, in chunks of scanStep.
	scanMinSegChunks = 32
	// scanForceSegChunks, when positive, fixes the segment length in
	// chunks (tests run every shape segmented with it).
	scanForceSegChunks = 0
)

// scanSegmentChunks returns the segment length, in chunks, of a staged scan
// of nch chunks launched as `blocks` blocks per segment: nch (one segment)
// unless the blocks fill less than half of one wave, else as many segments
// as fill one wave, each at least scanMinSegChunks long.
func (be *Backend) scanSegmentChunks(blocks, nch int) int {
	if scanForceSegChunks > 0 {
		return min(scanForceSegChunks, nch)
	}
	wave := scanBlocksPerSM * max(be.sms, 1)
	segs := min(wave/max(blocks, 1), nch/scanMinSegChunks)
	if 2*blocks > wave || segs < 2 {
		return nch
	}
	return (nch + segs - 1) / segs
}

func nmaxIndex(nmax int) int {
	for i, m := range scanNMax {
		if m == nmax {
			return i
		}
	}
	panic("cuda: no scan kernel for N " + fmt.Sprint(nmax))
}

// SelectiveStateUpdate advances the scan state by one token.
func (be *Backend) SelectiveStateUpdate(a *kernels.StepArgs) {
	const op = "SelectiveStateUpdate"
	s := a.State
	if s.Rank() != 3 || a.X.Rank() != 2 || a.X.Dim(0) != s.Dim(0) || a.X.Dim(1) != s.Dim(1) || !kernels.SameShape(a.DT, a.X) ||
		!kernels.SameShape(a.Out, a.X) || a.A.Rank() != 2 || a.A.Dim(0) != s.Dim(1) || a.A.Dim(1) != s.Dim(2) {
		panicf(op, "state %v, x %v, dt %v, A %v, out %v", s, a.X, a.DT, a.A, a.Out)
	}
	bt, d, n := s.Dim(0), s.Dim(1), s.Dim(2)
	g := 1
	for _, t := range []*kernels.Tensor{a.B, a.C} {
		switch {
		case t.Rank() == 2 && t.Dim(0) == bt && t.Dim(1) == n:
		case t.Rank() == 3 && t.Dim(0) == bt && t.Dim(2) == n && t.Dim(1) >= 1 && d%t.Dim(1) == 0:
			g = t.Dim(1)
		default:
			panicf(op, "B/C %v for state %v", t, s)
		}
	}
	if (a.B.Rank() == 3 && a.B.Dim(1) != g) || (a.C.Rank() == 3 && a.C.Dim(1) != g) || a.B.Len() != a.C.Len() ||
		(a.D != nil && a.D.Len() != d) || (a.Z != nil && !kernels.SameShape(a.Z, a.X)) || (a.DTBias != nil && a.DTBias.Len() != d) {
		panicf(op, "B %v, C %v, D %v, z %v, dt_bias %v for state %v", a.B, a.C, a.D, a.Z, a.DTBias, s)
	}
	args := []uint64{be.dev(op, s), be.dev(op, a.X), be.dev(op, a.DT), be.dev(op, a.A), be.dev(op, a.B), be.dev(op, a.C),
		be.dev(op, a.D), be.dev(op, a.Z), be.dev(op, a.DTBias), be.dev(op, a.Out), i64(bt), i64(d), i64(n), i64(g), b64(a.DTSoftplus)}
	m := bt * d
	if m == 0 {
		return
	}
	be.launch("gm_scan_step", [3]uint32{uint32((m + threads - 1) / threads), 1, 1}, [3]uint32{threads, 1, 1}, args)
}
