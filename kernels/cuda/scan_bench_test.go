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
// in the same run), forwards and reversed (the backward branch).
func BenchmarkSelectiveScanVim(b *testing.B) {
	be := openGPU(b)
	for _, s := range []struct {
		name  string
		bt, l int
	}{{"224_b128", 128, 197}, {"1248_b64_pass16", 16, 6085}} {
		benchScanShape(b, be, s.name+"_", s.bt, 384, s.l, 16, rand.NewPCG(7, 8))
	}
}
