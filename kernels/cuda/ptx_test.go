package cuda

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sourcesHash is gen.sh's hash: sha256 of src/* concatenated in name order.
func sourcesHash(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("src/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CUDA sources in src/: %v", err)
	}
	h := sha256.New()
	for _, f := range files { // Glob sorts by name
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestPTXMatchesSources proves the embedded PTX was generated from the
// committed .cu sources: gen.sh writes their hash into sources.sha256 and
// into the PTX's first line.
func TestPTXMatchesSources(t *testing.T) {
	want := sourcesHash(t)
	rec, err := os.ReadFile("sources.sha256")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(rec)); got != want {
		t.Errorf("sources.sha256 = %s, src/* hashes to %s: run kernels/cuda/gen.sh", got, want)
	}
	first, _, _ := bytes.Cut(kernelsPTX, []byte("\n"))
	if wantLine := "// gomamba kernels sources-sha256: " + want; string(first) != wantLine {
		t.Errorf("embedded PTX header %q, want %q: run kernels/cuda/gen.sh", first, wantLine)
	}
}

// TestPTXHasEveryKernel checks that each kernel the Go side launches is an
// entry point of the embedded PTX.
func TestPTXHasEveryKernel(t *testing.T) {
	entries := map[string]bool{}
	for _, m := range regexp.MustCompile(`\.entry\s+(\w+)`).FindAllSubmatch(kernelsPTX, -1) {
		entries[string(m[1])] = true
	}
	for _, k := range kernelNames() {
		if !entries[k] {
			t.Errorf("kernel %s missing from kernels.ptx", k)
		}
	}
	if !bytes.Contains(kernelsPTX, []byte(".target sm_80")) {
		t.Errorf("kernels.ptx does not target sm_80 (built with -arch=compute_80?)")
	}
}

func TestBucketSize(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{1, 512}, {512, 512}, {513, 1024}, {4 << 20, 4 << 20}, {4<<20 + 1, 6 << 20}, {7 << 20, 8 << 20}, {9<<20 + 5, 10 << 20},
	} {
		if got := bucketSize(c.in); got != c.want {
			t.Errorf("bucketSize(%d) = %d, want %d", c.in, got, c.want)
		}
		if bucketSize(c.in) < c.in {
			t.Errorf("bucketSize(%d) smaller than the request", c.in)
		}
	}
}
