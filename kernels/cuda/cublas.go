package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// blasHandle is a cuBLAS handle (nil: cuBLAS not loaded).
type blasHandle = unsafe.Pointer

// GEMM precisions accepted by Backend.SetPrecision (and the CLI's
// --precision). Every precision stores tensors in fp32 and accumulates in
// fp32; they differ in how cuBLAS may round the GEMM inputs.
const (
	// PrecisionFP32 is full fp32 GEMMs (CUBLAS_COMPUTE_32F, no TF32): the
	// default, matching PyTorch fp32 with TF32 off (the parity fixtures).
	PrecisionFP32 = "fp32"
	// PrecisionTF32 lets the tensor cores round GEMM inputs to TF32 (10-bit
	// mantissa; CUBLAS_COMPUTE_32F_FAST_TF32).
	PrecisionTF32 = "tf32"
	// PrecisionBF16 lets the tensor cores round GEMM inputs to bfloat16
	// (7-bit mantissa; CUBLAS_COMPUTE_32F_FAST_16BF). The scan, its state,
	// exp, norms and every other op stay fp32.
	PrecisionBF16 = "bf16"
)

// CublasEnv names an environment variable giving the cuBLAS library to load
// (a file, or a folder holding libcublas.so.*); "off" disables cuBLAS, so
// that GEMMs run on gomamba's own SGEMM kernel.
const CublasEnv = "GOMAMBA_CUBLAS"

// precision is the internal form of a GEMM precision.
type precision int32

const (
	precFP32 precision = iota
	precTF32
	precBF16
)

// cuBLAS compute types (cublasComputeType_t in cublas_api.h).
const (
	cublasCompute32F         = 68
	cublasCompute32FFast16BF = 75
	cublasCompute32FFastTF32 = 77
)

func (p precision) String() string {
	switch p {
	case precTF32:
		return PrecisionTF32
	case precBF16:
		return PrecisionBF16
	}
	return PrecisionFP32
}

// computeType is the cuBLAS compute type of p.
func (p precision) computeType() int {
	switch p {
	case precTF32:
		return cublasCompute32FFastTF32
	case precBF16:
		return cublasCompute32FFast16BF
	}
	return cublasCompute32F
}

// parsePrecision reads "fp32", "tf32" or "bf16" (any case; "" is fp32).
func parsePrecision(s string) (precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", PrecisionFP32, "float32":
		return precFP32, nil
	case PrecisionTF32:
		return precTF32, nil
	case PrecisionBF16, "bfloat16":
		return precBF16, nil
	}
	return 0, fmt.Errorf("cuda: precision %q: want %s, %s or %s", s, PrecisionFP32, PrecisionTF32, PrecisionBF16)
}

// SetPrecision selects the precision of this backend's GEMMs (Linear and
// MatMul): PrecisionFP32 (the default), PrecisionTF32 or PrecisionBF16.
// Reduced precisions need cuBLAS; without it SetPrecision returns an error
// and leaves fp32. The setting belongs to the Backend, which OpenDevice
// shares between all users of one GPU: it applies to every model on that
// backend from the next op on. Safe for concurrent use.
func (be *Backend) SetPrecision(name string) error {
	p, err := parsePrecision(name)
	if err != nil {
		return err
	}
	if p != precFP32 && be.blas == nil {
		return fmt.Errorf("cuda: precision %s needs cuBLAS, which is not loaded (%s); the built-in SGEMM is fp32 only", p, be.blasNote)
	}
	be.prec.Store(int32(p))
	return nil
}

// Precision returns the GEMM precision: "fp32", "tf32" or "bf16".
func (be *Backend) Precision() string { return precision(be.prec.Load()).String() }

// GEMMLibrary describes what runs Linear and MatMul: the cuBLAS library
// loaded (its path and version) or gomamba's SGEMM kernel and why.
func (be *Backend) GEMMLibrary() string {
	if be.blas != nil {
		return be.blasNote
	}
	return "gomamba SGEMM kernel (" + be.blasNote + ")"
}

// cublasCandidates lists the libraries to try, in order: $GOMAMBA_CUBLAS
// (a file or a folder), the loader's search path (libcublas.so.13, .12,
// libcublas.so), then /usr/local/cuda/lib64 and the CUDA toolkits'
// targets/x86_64-linux/lib folders, newest name first.
func cublasCandidates(env string, glob func(string) ([]string, error)) []string {
	names := []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so"}
	var out []string
	if env != "" {
		if strings.HasSuffix(env, ".so") || strings.Contains(filepath.Base(env), ".so.") {
			out = append(out, env)
		} else {
			for _, n := range names {
				out = append(out, filepath.Join(env, n))
			}
		}
	}
	out = append(out, names...)
	dirs := []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"}
	if m, err := glob("/usr/local/cuda-*/targets/x86_64-linux/lib"); err == nil {
		// Glob sorts by name; newest toolkit first.
		for i := len(m) - 1; i >= 0; i-- {
			dirs = append(dirs, m[i])
		}
	}
	for _, d := range dirs {
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	return out
}

// ltSibling is the cuBLASLt library beside a cuBLAS path (libcublas needs
// it; loading it first from the same folder avoids relying on RUNPATH).
func ltSibling(path string) string {
	dir, base := filepath.Split(path)
	if dir == "" || !strings.HasPrefix(base, "libcublas.") {
		return ""
	}
	return dir + "libcublasLt." + strings.TrimPrefix(base, "libcublas.")
}

var fallbackNotice sync.Once

// openBLAS loads cuBLAS and creates a handle bound to the backend's stream.
// On failure GEMMs use the built-in kernel and a one-line notice goes to
// stderr (once per process).
func (be *Backend) openBLAS() {
	env := os.Getenv(CublasEnv)
	if strings.EqualFold(env, "off") {
		be.blasNote = CublasEnv + "=off"
		return
	}
	h, lib, ver, err := blasOpen(be.ctx, be.stream, cublasCandidates(env, filepath.Glob))
	if err != nil {
		be.blasNote = err.Error()
		fallbackNotice.Do(func() {
			fmt.Fprintf(os.Stderr, "gomamba: cuda: %v; GEMMs run on the built-in fp32 SGEMM kernel (set %s to a libcublas path)\n", err, CublasEnv)
		})
		return
	}
	be.blas = h
	be.blasNote = fmt.Sprintf("cuBLAS %d.%d.%d (%s)", ver/10000, ver/100%100, ver%100, lib)
}
