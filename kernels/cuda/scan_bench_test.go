package cuda

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSelectiveScanVim times the scan at the shapes one vim-tiny
// forward actually launches (BenchmarkSelectiveScan's Bt=64 is neither):
// 224², batch 128 runs whole (Bt 128, L 197); 1248², batch 64 runs as
// passes of 16 images under vim.DefaultChunkBytes (Bt 16, L 6085), where
// only 6,144 channels are in flight and the kernel is bound by how many
// lanes it can keep busy rather than by bandwidth. Same options and
// metrics as BenchmarkSelectiveScan (memcpy of the same traffic measured
// in the same run), forwards and reversed (the backward branch). The
// 1248² pass also runs with the segment length over L forced (seg1: one
// segment, the kernel without the first pass; seg2, seg8).
func BenchmarkSelectiveScanVim(b *testing.B) {
	be := openGPU(b)
	for _, s := range []struct {
		name  string
		bt, l int
		segC  int // forced segment length in chunks (0: the default rule)
	}{
		{"224_b128", 128, 197, 0},
		{"1248_b64_pass16", 16, 6085, 0}, // 4 segments of 96 chunks on an H200
		// The same pass unsegmented (the kernel before segments) and
		// with 2 and 8 segments.
		{"1248_b64_pass16_seg1", 16, 6085, 1 << 20},
		{"1248_b64_pass16_seg2", 16, 6085, 191},
		{"1248_b64_pass16_seg8", 16, 6085, 48},
	} {
		withSegChunks(s.segC, func() {
			benchScanShape(b, be, s.name+"_", s.bt, 384, s.l, 16, rand.NewPCG(7, 8))
		})
	}
}
