//go:build cgo && linux

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// The few cuBLAS types and entry points we use, declared here so that
// building needs no CUDA headers (libcublas is opened at run time). Enums
// (cublasOperation_t, cudaDataType, cublasComputeType_t, cublasGemmAlgo_t)
// are C ints.
typedef int gm_blas_status;
typedef void* gm_blas_handle;

static void* gm_blas_lib;
static int (*p_cuCtxSetCurrentB)(void*);
static gm_blas_status (*p_cublasCreate)(gm_blas_handle*);
static gm_blas_status (*p_cublasSetStream)(gm_blas_handle, void*);
static gm_blas_status (*p_cublasGetVersion)(gm_blas_handle, int*);
static const char* (*p_cublasGetStatusName)(gm_blas_status);
static gm_blas_status (*p_cublasGemmEx)(gm_blas_handle, int, int, int, int, int,
	const void*, const void*, int, int, const void*, int, int,
	const void*, void*, int, int, int, int);
static gm_blas_status (*p_cublasGemmStridedBatchedEx)(gm_blas_handle, int, int, int, int, int,
	const void*, const void*, int, int, long long, const void*, int, int, long long,
	const void*, void*, int, int, long long, int, int, int);

// gm_blas_load opens one candidate library (after its cuBLASLt sibling, if
// given) and resolves the entry points; it returns NULL or what failed.
static const char* gm_blas_load(const char* path, const char* lt) {
	if (gm_blas_lib) return NULL;
	if (!p_cuCtxSetCurrentB) {
		void* cu = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
		if (!cu) return "libcuda.so.1";
		*(void**)(&p_cuCtxSetCurrentB) = dlsym(cu, "cuCtxSetCurrent");
		if (!p_cuCtxSetCurrentB) return "cuCtxSetCurrent";
	}
	if (lt && lt[0]) dlopen(lt, RTLD_NOW | RTLD_GLOBAL);
	void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) return "dlopen";
#define GM_BSYM(var, name) do { *(void**)(&var) = dlsym(lib, name); if (!var) { dlclose(lib); return name; } } while (0)
	GM_BSYM(p_cublasCreate, "cublasCreate_v2");
	GM_BSYM(p_cublasSetStream, "cublasSetStream_v2");
	GM_BSYM(p_cublasGetVersion, "cublasGetVersion_v2");
	GM_BSYM(p_cublasGemmEx, "cublasGemmEx");
	GM_BSYM(p_cublasGemmStridedBatchedEx, "cublasGemmStridedBatchedEx");
#undef GM_BSYM
	*(void**)(&p_cublasGetStatusName) = dlsym(lib, "cublasGetStatusName");
	gm_blas_lib = lib;
	return NULL;
}

static const char* gm_blas_status_name(gm_blas_status s) {
	if (p_cublasGetStatusName) {
		const char* n = p_cublasGetStatusName(s);
		if (n) return n;
	}
	return "CUBLAS_STATUS_UNKNOWN";
}

// Every call first makes ctx current on the calling OS thread (Go moves
// goroutines between threads); cuBLAS then works in our primary context.
static gm_blas_status gm_blas_create(void* ctx, void* stream, gm_blas_handle* h, int* ver) {
	int r = p_cuCtxSetCurrentB(ctx);
	if (r) return -r;
	gm_blas_status s = p_cublasCreate(h);
	if (s) return s;
	if ((s = p_cublasSetStream(*h, stream))) return s;
	return p_cublasGetVersion(*h, ver);
}

// gm_blas_gemm is C = op(A)·op(B) in column-major terms with alpha 1, beta 0
// and fp32 storage; batch > 1 uses the strided-batched call.
static gm_blas_status gm_blas_gemm(void* ctx, gm_blas_handle h, int opA, int opB, int m, int n, int k,
		uint64_t A, int lda, long long sA, uint64_t B, int ldb, long long sB,
		uint64_t C, int ldc, long long sC, int batch, int compute) {
	int r = p_cuCtxSetCurrentB(ctx);
	if (r) return -r;
	const float one = 1.f, zero = 0.f;
	const int f32 = 0;   // CUDA_R_32F
	const int algo = -1; // CUBLAS_GEMM_DEFAULT
	if (batch == 1)
		return p_cublasGemmEx(h, opA, opB, m, n, k, &one, (const void*)(uintptr_t)A, f32, lda,
			(const void*)(uintptr_t)B, f32, ldb, &zero, (void*)(uintptr_t)C, f32, ldc, compute, algo);
	return p_cublasGemmStridedBatchedEx(h, opA, opB, m, n, k, &one, (const void*)(uintptr_t)A, f32, lda, sA,
		(const void*)(uintptr_t)B, f32, ldb, sB, &zero, (void*)(uintptr_t)C, f32, ldc, sC, batch, compute, algo);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// blasErr turns a cuBLAS status (or a negated driver error from making the
// context current) into an error.
func blasErr(op string, s C.gm_blas_status) error {
	switch {
	case s == 0:
		return nil
	case s < 0:
		return &Error{Op: op + ": cuCtxSetCurrent", Code: int(-s), Name: "CUDA driver error"}
	}
	return &Error{Op: op, Code: int(s), Name: C.GoString(C.gm_blas_status_name(s))}
}

// blasOpen loads the first candidate cuBLAS that works and creates a handle
// on stream. It returns the handle, the library and cuBLAS's version.
func blasOpen(ctx cuContext, stream cuStream, candidates []string) (blasHandle, string, int, error) {
	var tried []string
	lib := ""
	for _, path := range candidates {
		cp := C.CString(path)
		lt := C.CString(ltSibling(path))
		miss := C.gm_blas_load(cp, lt)
		C.free(unsafe.Pointer(cp))
		C.free(unsafe.Pointer(lt))
		if miss == nil {
			lib = path
			break
		}
		if m := C.GoString(miss); m != "dlopen" {
			tried = append(tried, path+" (no "+m+")")
		}
	}
	if lib == "" {
		if len(tried) == 0 {
			return nil, "", 0, errors.New("cuBLAS not found (tried libcublas.so.13, .12, .so in the loader path, " + CublasEnv + ", /usr/local/cuda*)")
		}
		return nil, "", 0, fmt.Errorf("cuBLAS unusable: %s", strings.Join(tried, "; "))
	}
	var h C.gm_blas_handle
	var ver C.int
	if err := blasErr("cublasCreate", C.gm_blas_create(unsafe.Pointer(ctx), unsafe.Pointer(stream), &h, &ver)); err != nil {
		return nil, "", 0, fmt.Errorf("cuBLAS %s: %w", lib, err)
	}
	return blasHandle(h), lib, int(ver), nil
}

// blasGemm queues C = op(A)·op(B) (column-major, fp32 storage) on the
// handle's stream; opA/opB are 0 (N) or 1 (T).
func blasGemm(ctx cuContext, h blasHandle, opA, opB, m, n, k int, a uint64, lda, sA int, b uint64, ldb, sB int, c uint64, ldc, sC, batch, compute int) error {
	return blasErr("cublasGemmEx", C.gm_blas_gemm(unsafe.Pointer(ctx), C.gm_blas_handle(h), C.int(opA), C.int(opB), C.int(m), C.int(n), C.int(k),
		C.uint64_t(a), C.int(lda), C.longlong(sA), C.uint64_t(b), C.int(ldb), C.longlong(sB),
		C.uint64_t(c), C.int(ldc), C.longlong(sC), C.int(batch), C.int(compute)))
}
