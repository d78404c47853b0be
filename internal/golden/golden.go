// Package golden locates the parity fixtures made with the official PyTorch
// code (../shared/golden beside the repository, or $GOMAMBA_GOLDEN).
package golden

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the fixture root: $GOMAMBA_GOLDEN when set, else
// ../shared/golden relative to the repository root.
func Root() string {
	if d := os.Getenv("GOMAMBA_GOLDEN"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(repo, "..", "shared", "golden")
}

// Dir returns the fixture folder sub (e.g. "scan") and fails the test, never
// skips it, when the folder is missing.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	d := filepath.Join(Root(), sub)
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Fatalf("golden fixtures %q not found (set GOMAMBA_GOLDEN or put shared/golden beside the repo): %v", d, err)
	}
	return d
}
