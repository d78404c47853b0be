package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gomamba/gomamba/kernels"
	"github.com/gomamba/gomamba/kernels/cuda"
	"github.com/gomamba/gomamba/mamba"
)

// precisionFlag is --precision, registered beside every --device (one
// command runs per process, so one variable serves them all).
var precisionFlag = cuda.PrecisionFP32

// noticeOut receives the one-line notice of a --device auto that falls back
// to the CPU.
var noticeOut io.Writer = os.Stderr

// addDeviceFlag registers --device (default def: "auto" for the inference
// commands, "cpu" for bench) and --precision on a command's flags.
func addDeviceFlag(f *pflag.FlagSet, dst *string, def string) {
	f.StringVar(dst, "device", def, `compute device: "auto" (the first CUDA GPU if there is one, else the CPU), "cpu", "cuda" or "cuda:N"`)
	if f.Lookup("precision") == nil {
		f.StringVar(&precisionFlag, "precision", cuda.PrecisionFP32,
			`GPU matrix-multiply precision: "fp32" (exact, matches PyTorch fp32), "tf32" or "bf16" (tensor cores round the GEMM inputs; storage, accumulation, scan and norms stay fp32); on the CPU, generate and bench lm take "bf16" as bf16 weight storage (half the memory and bytes per token; fp32 accumulation, scan and norms) and "int8" as int8 weight storage with fp32 scales (a quarter; CPU only)`)
	}
}

// openBackend returns the backend named by a --device value, set to the
// --precision.
func openBackend(name string) (kernels.Backend, error) {
	return openBackendPrecision(name, precisionFlag)
}

// checkPrecisionName rejects a --precision value that no backend knows
// before --device auto can fall back to the CPU, where the GPU would have
// refused it but the fallback would only print a notice.
func checkPrecisionName(p string) error {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "", cuda.PrecisionFP32, "float32", cuda.PrecisionTF32, cuda.PrecisionBF16, "bfloat16":
		return nil
	case mamba.PrecisionInt8:
		return fmt.Errorf("--precision int8: int8 weight storage is for the language model on the CPU (generate, bench lm)")
	}
	return fmt.Errorf("--precision %q: want fp32, tf32 or bf16 (and, for generate and bench lm on the CPU, int8)", p)
}

// openBackendPrecision returns the backend named by a --device value with
// its GEMMs in the given precision (the CPU computes in fp32 only).
func openBackendPrecision(name, precision string) (kernels.Backend, error) {
	if err := checkPrecisionName(precision); err != nil {
		return nil, err
	}
	switch n := strings.ToLower(strings.TrimSpace(name)); {
	case n == "auto":
		be, err := openBackendPrecision("cuda", precision)
		if err == nil {
			return be, nil
		}
		if !noCUDA(err) {
			return nil, err // a GPU is there but unusable as asked (e.g. --precision): say so
		}
		note := ""
		if p := strings.ToLower(strings.TrimSpace(precision)); p != "" && p != cuda.PrecisionFP32 {
			note = ", in fp32 (--precision is for GPUs)"
		}
		fmt.Fprintf(noticeOut, "gomamba: no CUDA GPU (%v); running on the CPU%s\n", err, note)
		return kernels.CPU(), nil
	case n == "" || n == "cpu":
		if p := strings.ToLower(strings.TrimSpace(precision)); p != "" && p != cuda.PrecisionFP32 {
			return nil, fmt.Errorf("--precision %s: the CPU computes in fp32 only (use --device cuda)", precision)
		}
		return kernels.CPU(), nil
	case n == "cuda" || n == "gpu" || strings.HasPrefix(n, "cuda:"):
		i := 0
		if s, ok := strings.CutPrefix(n, "cuda:"); ok {
			var err error
			if i, err = strconv.Atoi(s); err != nil || i < 0 {
				return nil, fmt.Errorf("--device %q: want cuda:N with N ≥ 0", name)
			}
		}
		be, err := cuda.OpenDevice(i)
		if err != nil {
			return nil, err
		}
		if err := be.SetPrecision(precision); err != nil {
			return nil, fmt.Errorf("--precision: %w", err)
		}
		return be, nil
	}
	return nil, fmt.Errorf("--device %q: want auto, cpu, cuda or cuda:N", name)
}

// openLMBackend is openBackend for the Mamba LM commands (generate, bench
// lm), where --precision bf16 on the CPU means bf16 weight storage: it
// returns the backend and the weight precision to load the model with
// (mamba.PrecisionBF16 only on the CPU; a GPU takes bf16 as its tensor-core
// GEMM precision and keeps fp32 weights). --precision int8 is int8 weight
// storage, which only the CPU has: "auto" then means the CPU.
func openLMBackend(name string) (kernels.Backend, string, error) {
	prec := strings.ToLower(strings.TrimSpace(precisionFlag))
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case prec == mamba.PrecisionInt8 && (n == "" || n == "cpu" || n == "auto"):
		return kernels.CPU(), mamba.PrecisionInt8, nil
	case prec == mamba.PrecisionInt8:
		return nil, "", fmt.Errorf("--precision int8: int8 weight storage runs on the CPU only (use --device cpu)")
	case prec == mamba.PrecisionBF16 && (n == "" || n == "cpu"):
		return kernels.CPU(), mamba.PrecisionBF16, nil
	case prec == mamba.PrecisionBF16 && n == "auto":
		be, err := openBackendPrecision("cuda", precisionFlag)
		if err == nil {
			return be, mamba.PrecisionFP32, nil
		}
		if !noCUDA(err) {
			return nil, "", err
		}
		fmt.Fprintf(noticeOut, "gomamba: no CUDA GPU (%v); running on the CPU with bf16 weights\n", err)
		return kernels.CPU(), mamba.PrecisionBF16, nil
	}
	be, err := openBackend(name)
	return be, mamba.PrecisionFP32, err
}

// noCUDA reports whether opening a GPU failed because there is none (or
// the binary was built without CUDA), the case where --device auto falls
// back to the CPU.
func noCUDA(err error) bool {
	return errors.Is(err, cuda.ErrNoDevice) || errors.Is(err, cuda.ErrNotBuilt)
}

// deviceLabel names a backend in reports: "cpu", or "cuda:0 bf16".
func deviceLabel(be kernels.Backend) string {
	if g, ok := be.(*cuda.Backend); ok {
		return g.Name() + " " + g.Precision()
	}
	return be.Name()
}

// printProfile sends the CUDA backend's per-op profile (GOMAMBA_CUDA_PROFILE=1)
// of the last runs model runs line by line to a progress printer (stderr),
// then resets it.
func printProfile(dev *cuda.Backend, runs int, progress func(string, ...any)) error {
	var b bytes.Buffer
	if err := dev.ProfileReport(&b, runs); err != nil {
		return err
	}
	for line := range strings.Lines(b.String()) {
		progress("%s", strings.TrimRight(line, "\n"))
	}
	dev.ResetProfile()
	return nil
}
