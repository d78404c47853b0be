package asm

import (
	"os"
	"os/exec"
	"testing"
)

// TestNoasmEnv checks that GOMAMBA_NOASM=1 selects the pure-Go paths at
// run time: it re-runs itself in a child process with the variable set.
func TestNoasmEnv(t *testing.T) {
	if os.Getenv("GOMAMBA_NOASM_CHILD") == "1" {
		if Enabled() {
			t.Fatal("GOMAMBA_NOASM=1 but the SIMD kernels are enabled")
		}
		if SetEnabled(true); Enabled() {
			t.Fatal("SetEnabled(true) overrode GOMAMBA_NOASM=1")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoasmEnv$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GOMAMBA_NOASM=1", "GOMAMBA_NOASM_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child with GOMAMBA_NOASM=1: %v\n%s", err, out)
	}
}
