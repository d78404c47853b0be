// Package asm holds gomamba's amd64 SIMD kernels and their pure-Go twins.
//
// Every SIMD routine here has a Go twin (the function with the Go suffix)
// whose loop is its definition; the exported entry points dispatch to the
// SIMD version when the CPU supports it (AVX2 and FMA, detected at run time
// with golang.org/x/sys/cpu) and to the twin otherwise. Building with the
// noasm tag, running on another architecture, or setting the environment
// variable GOMAMBA_NOASM=1 selects the twins.
//
// On CPUs with AVX-512F the hot kernels have a second, 16-lane version
// chosen at run time: the SGEMM micro-kernels (6×16 and the 6×32 Kernel2),
// the N = 16 scan recurrence (exps fused in, outputs reduced 16 steps at a
// time) and the vector exp, softplus, SiLU and GELU (masked tails). The AVX2
// kernels remain the fallback; GOMAMBA_AVX512=0 selects them on an AVX-512
// CPU (for comparisons), and SetAVX512 switches at run time.
//
// In both N = 16 scans (ScanStates16 and the in-place backward
// ScanStates16Rev) the decay exp(Δ·A) is computed as 2^(Δ·A·log2e), with
// A·log2e formed once per call and a degree-6 polynomial for 2^f (about
// 1 ulp; no Cody–Waite reduction), inside the recurrence. Softplus is
// max(x, 0) + log1p(exp(−|x|)) with a degree-9 log1p polynomial (no log, no
// division). The AVX-512 and AVX2 states are bit-identical.
//
// scan1_amd64.s (generator gen/scan1.go) holds VMamba's kernels: the N = 1
// scan's fused decay pass (Oct1Prep, also AVX-512), eight interleaved
// recurrences (Recur8) and output pass (Oct1Out), and the channel-first
// LayerNorm2dPixels, the 8×8-tile Transpose, the 3×3 depthwise DW3Row, the
// stride-2 Gather2 and AddScalar.
//
// step_amd64.s (generator gen/step.go) holds the LM decode step's kernels,
// AVX2 only (also run on AVX-512 CPUs): StepStates16, the state update of
// many channels at N = 16 (the scans' 2^(Δ·A·log2e) decay, the states,
// Σ state·C, D skip and gate, four channels per iteration, two of them
// interleaved), and Conv4Step, the K = 4 conv step (eight channels per
// iteration, bit-equal to the full causal conv).
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

// avx512Env reports whether GOMAMBA_AVX512 forbids the AVX-512 kernels
// (set to 0).
func avx512Env() bool { return os.Getenv("GOMAMBA_AVX512") == "0" }

// allowAVX512: the CPU has AVX-512F (and the SIMD kernels are allowed) and
// GOMAMBA_AVX512=0 does not forbid them.
var allowAVX512 = haveAVX512 && allowSIMD && !avx512Env()

// useAVX512 selects the AVX-512 kernels where useSIMD holds.
var useAVX512 = allowAVX512

// Enabled reports whether the SIMD kernels are in use.
func Enabled() bool { return useSIMD }

// AVX512 reports whether the AVX-512 kernels are in use (a subset of
// Enabled).
func AVX512() bool { return useSIMD && useAVX512 }

// SetAVX512 switches the AVX-512 kernels on or off (falling back to AVX2)
// and returns the previous setting. Switching on has no effect without
// AVX-512F, in a noasm build, under GOMAMBA_NOASM=1 or GOMAMBA_AVX512=0;
// while SetEnabled(false) holds, neither SIMD path runs. Like SetEnabled it
// is meant for tests and benchmarks and must not be called while kernels
// are running.
func SetAVX512(on bool) (prev bool) {
	prev = useAVX512
	useAVX512 = on && allowAVX512
	return prev
}

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
