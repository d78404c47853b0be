// Package asm holds gomamba's amd64 SIMD kernels and their pure-Go twins.
//
// Every SIMD routine here has a Go twin (the function with the Go suffix)
// whose loop is its definition; the exported entry points dispatch to the
// SIMD version when the CPU supports it (AVX2 and FMA, detected at run time
// with golang.org/x/sys/cpu) and to the twin otherwise. Building with the
// noasm tag, running on another architecture, or setting the environment
// variable GOMAMBA_NOASM=1 selects the twins.
//
// The SGEMM pieces follow the GotoBLAS design: op(A) is packed into MR-row
// panels, op(B) into NR-column panels, and Kernel multiplies one A panel by
// one B panel into an MR×NR tile of C. The blocking loops and threading
// live in package kernels (kernels.Sgemm); this package must not import it.
//
// All functions are safe for concurrent use on disjoint outputs.
package asm

import "os"

// noasmEnv reports whether GOMAMBA_NOASM asks for the pure-Go paths.
func noasmEnv() bool {
	v := os.Getenv("GOMAMBA_NOASM")
	return v != "" && v != "0"
}

// allowSIMD: the CPU supports the kernels and GOMAMBA_NOASM does not forbid
// them.
var allowSIMD = haveSIMD && !noasmEnv()

// Enabled reports whether the SIMD kernels are in use.
func Enabled() bool { return useSIMD }

// SetEnabled switches the SIMD kernels on or off and returns the previous
// setting. Switching on has no effect on a CPU without AVX2 and FMA, in a
// noasm build or under GOMAMBA_NOASM=1. It is meant for tests and
// benchmarks that compare the two paths; it must not be called while
// kernels are running.
func SetEnabled(on bool) (prev bool) {
	prev = useSIMD
	useSIMD = on && allowSIMD
	return prev
}
