//go:build cgo && linux

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The few CUDA driver API types and entry points we use, declared here so
// that building needs no CUDA headers (libcuda.so.1 is opened at run time).
typedef int CUresult;
typedef int CUdevice;
typedef void* CUcontext;
typedef void* CUmodule;
typedef void* CUfunction;
typedef void* CUstream;
typedef void* CUevent;
typedef unsigned long long CUdeviceptr;

static void* gm_lib;
static CUresult (*p_cuInit)(unsigned);
static CUresult (*p_cuDeviceGetCount)(int*);
static CUresult (*p_cuDeviceGet)(CUdevice*, int);
static CUresult (*p_cuDeviceGetName)(char*, int, CUdevice);
static CUresult (*p_cuDeviceGetAttribute)(int*, int, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
static CUresult (*p_cuCtxSetCurrent)(CUcontext);
static CUresult (*p_cuModuleLoadDataEx)(CUmodule*, const void*, unsigned, int*, void**);
static CUresult (*p_cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
static CUresult (*p_cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void**, void**);
static CUresult (*p_cuMemAlloc)(CUdeviceptr*, size_t);
static CUresult (*p_cuMemFree)(CUdeviceptr);
static CUresult (*p_cuMemGetInfo)(size_t*, size_t*);
static CUresult (*p_cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
static CUresult (*p_cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
static CUresult (*p_cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
static CUresult (*p_cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
static CUresult (*p_cuStreamCreate)(CUstream*, unsigned);
static CUresult (*p_cuStreamSynchronize)(CUstream);
static CUresult (*p_cuEventCreate)(CUevent*, unsigned);
static CUresult (*p_cuEventRecord)(CUevent, CUstream);
static CUresult (*p_cuEventSynchronize)(CUevent);
static CUresult (*p_cuEventElapsedTime)(float*, CUevent, CUevent);
static CUresult (*p_cuEventDestroy)(CUevent);
static CUresult (*p_cuGetErrorName)(CUresult, const char**);

#define GM_SYM(var, name) do { *(void**)(&var) = dlsym(gm_lib, name); if (!var) return name; } while (0)

// gm_open loads libcuda and resolves every entry point; it returns NULL or
// the name of what is missing.
static const char* gm_open(void) {
	if (gm_lib) return NULL;
	void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib) lib = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
	if (!lib) return "libcuda.so.1";
	gm_lib = lib;
	GM_SYM(p_cuInit, "cuInit");
	GM_SYM(p_cuDeviceGetCount, "cuDeviceGetCount");
	GM_SYM(p_cuDeviceGet, "cuDeviceGet");
	GM_SYM(p_cuDeviceGetName, "cuDeviceGetName");
	GM_SYM(p_cuDeviceGetAttribute, "cuDeviceGetAttribute");
	GM_SYM(p_cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
	GM_SYM(p_cuCtxSetCurrent, "cuCtxSetCurrent");
	GM_SYM(p_cuModuleLoadDataEx, "cuModuleLoadDataEx");
	GM_SYM(p_cuModuleGetFunction, "cuModuleGetFunction");
	GM_SYM(p_cuLaunchKernel, "cuLaunchKernel");
	GM_SYM(p_cuMemAlloc, "cuMemAlloc_v2");
	GM_SYM(p_cuMemFree, "cuMemFree_v2");
	GM_SYM(p_cuMemGetInfo, "cuMemGetInfo_v2");
	GM_SYM(p_cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
	GM_SYM(p_cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
	GM_SYM(p_cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
	GM_SYM(p_cuMemsetD32Async, "cuMemsetD32Async");
	GM_SYM(p_cuStreamCreate, "cuStreamCreate");
	GM_SYM(p_cuStreamSynchronize, "cuStreamSynchronize");
	GM_SYM(p_cuEventCreate, "cuEventCreate");
	GM_SYM(p_cuEventRecord, "cuEventRecord");
	GM_SYM(p_cuEventSynchronize, "cuEventSynchronize");
	GM_SYM(p_cuEventElapsedTime, "cuEventElapsedTime");
	GM_SYM(p_cuEventDestroy, "cuEventDestroy_v2");
	GM_SYM(p_cuGetErrorName, "cuGetErrorName");
	return NULL;
}

static const char* gm_error_name(CUresult r) {
	const char* s = NULL;
	if (p_cuGetErrorName && p_cuGetErrorName(r, &s) == 0 && s) return s;
	return "CUDA_ERROR_UNKNOWN_CODE";
}

static CUresult gm_init(void) { return p_cuInit(0); }
static CUresult gm_device_count(int* n) { return p_cuDeviceGetCount(n); }
static CUresult gm_device_get(CUdevice* d, int ord) { return p_cuDeviceGet(d, ord); }
static CUresult gm_device_name(char* buf, int n, CUdevice d) { return p_cuDeviceGetName(buf, n, d); }
static CUresult gm_device_attr(int* v, int attr, CUdevice d) { return p_cuDeviceGetAttribute(v, attr, d); }
static CUresult gm_ctx_retain(CUcontext* c, CUdevice d) { return p_cuDevicePrimaryCtxRetain(c, d); }

// Every call below first makes ctx current on the calling OS thread: Go
// moves goroutines between threads, and a CUDA context is per thread.
#define GM_CTX(ctx) do { CUresult r_ = p_cuCtxSetCurrent(ctx); if (r_) return r_; } while (0)

static CUresult gm_module_load(CUcontext ctx, CUmodule* m, const void* image, char* log, unsigned logSize) {
	GM_CTX(ctx);
	int opts[2] = {5, 6}; // CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
	void* vals[2] = {log, (void*)(uintptr_t)logSize};
	return p_cuModuleLoadDataEx(m, image, 2, opts, vals);
}
static CUresult gm_module_func(CUcontext ctx, CUfunction* f, CUmodule m, const char* name) {
	GM_CTX(ctx);
	return p_cuModuleGetFunction(f, m, name);
}
// gm_launch passes one by-value parameter: the kernel's parameter struct,
// whose bytes are in argbuf.
static CUresult gm_launch(CUcontext ctx, CUfunction f, unsigned gx, unsigned gy, unsigned gz,
		unsigned bx, unsigned by, unsigned bz, unsigned shmem, CUstream s, void* argbuf) {
	GM_CTX(ctx);
	void* params[1] = {argbuf};
	return p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shmem, s, params, NULL);
}
static CUresult gm_alloc(CUcontext ctx, CUdeviceptr* p, size_t n) { GM_CTX(ctx); return p_cuMemAlloc(p, n); }
static CUresult gm_free(CUcontext ctx, CUdeviceptr p) { GM_CTX(ctx); return p_cuMemFree(p); }
static CUresult gm_mem_info(CUcontext ctx, size_t* fr, size_t* tot) { GM_CTX(ctx); return p_cuMemGetInfo(fr, tot); }
static CUresult gm_htod(CUcontext ctx, CUdeviceptr d, const void* h, size_t n, CUstream s) { GM_CTX(ctx); return p_cuMemcpyHtoDAsync(d, h, n, s); }
static CUresult gm_dtoh(CUcontext ctx, void* h, CUdeviceptr d, size_t n, CUstream s) {
	GM_CTX(ctx);
	CUresult r = p_cuMemcpyDtoHAsync(h, d, n, s);
	if (r) return r;
	return p_cuStreamSynchronize(s);
}
static CUresult gm_dtod(CUcontext ctx, CUdeviceptr d, CUdeviceptr src, size_t n, CUstream s) { GM_CTX(ctx); return p_cuMemcpyDtoDAsync(d, src, n, s); }
static CUresult gm_memset32(CUcontext ctx, CUdeviceptr d, unsigned v, size_t n, CUstream s) { GM_CTX(ctx); return p_cuMemsetD32Async(d, v, n, s); }
static CUresult gm_stream_create(CUcontext ctx, CUstream* s) { GM_CTX(ctx); return p_cuStreamCreate(s, 1); }
static CUresult gm_stream_sync(CUcontext ctx, CUstream s) { GM_CTX(ctx); return p_cuStreamSynchronize(s); }
static CUresult gm_event_create(CUcontext ctx, CUevent* e) { GM_CTX(ctx); return p_cuEventCreate(e, 0); }
static CUresult gm_event_record(CUcontext ctx, CUevent e, CUstream s) { GM_CTX(ctx); return p_cuEventRecord(e, s); }
static CUresult gm_event_elapsed(CUcontext ctx, float* ms, CUevent a, CUevent b) {
	GM_CTX(ctx);
	CUresult r = p_cuEventSynchronize(b);
	if (r) return r;
	return p_cuEventElapsedTime(ms, a, b);
}
static CUresult gm_event_destroy(CUcontext ctx, CUevent e) { GM_CTX(ctx); return p_cuEventDestroy(e); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// cuErr turns a driver result into a Go error naming the CUDA error and the
// call that failed (nil for CUDA_SUCCESS).
func cuErr(op string, r C.CUresult) error {
	if r == 0 {
		return nil
	}
	return &Error{Op: op, Code: int(r), Name: C.GoString(C.gm_error_name(r))}
}

// Result codes that mean "no usable GPU here" rather than a failure.
const (
	cudaErrorNoDevice         = 100
	cudaErrorInsufficientDrv  = 35
	cudaErrorNotInitialized   = 3
	cudaErrorSystemDrvMismatc = 803
	cudaErrorCompatNotSupport = 804
)

const cgoBuilt = true

type (
	devptr    = uint64
	cuContext = C.CUcontext
	cuModule  = C.CUmodule
	cuFunc    = C.CUfunction
	cuStream  = C.CUstream
	cuEvent   = C.CUevent
	cuDevice  = C.CUdevice
)

// drvOpen loads libcuda and initialises the driver. Its error wraps
// ErrNoDevice when the machine has no driver or no GPU.
func drvOpen() error {
	if miss := C.gm_open(); miss != nil {
		return fmt.Errorf("%w: cannot load %s", ErrNoDevice, C.GoString(miss))
	}
	if r := C.gm_init(); r != 0 {
		err := cuErr("cuInit", r)
		switch int(r) {
		case cudaErrorNoDevice, cudaErrorInsufficientDrv, cudaErrorNotInitialized, cudaErrorSystemDrvMismatc, cudaErrorCompatNotSupport:
			return fmt.Errorf("%w: %v", ErrNoDevice, err)
		}
		return err
	}
	return nil
}

func drvDeviceCount() (int, error) {
	var n C.int
	return int(n), cuErr("cuDeviceGetCount", C.gm_device_count(&n))
}

func drvDevice(ord int) (cuDevice, string, [3]int, error) {
	var d C.CUdevice
	if err := cuErr("cuDeviceGet", C.gm_device_get(&d, C.int(ord))); err != nil {
		return 0, "", [3]int{}, err
	}
	var buf [256]C.char
	if err := cuErr("cuDeviceGetName", C.gm_device_name(&buf[0], 255, d)); err != nil {
		return 0, "", [3]int{}, err
	}
	var attrs [3]int
	// multiprocessor count, compute capability major and minor.
	for i, a := range []int{16, 75, 76} {
		var v C.int
		if err := cuErr("cuDeviceGetAttribute", C.gm_device_attr(&v, C.int(a), d)); err != nil {
			return 0, "", [3]int{}, err
		}
		attrs[i] = int(v)
	}
	return d, C.GoString(&buf[0]), attrs, nil
}

func drvCtxRetain(d cuDevice) (cuContext, error) {
	var c C.CUcontext
	return c, cuErr("cuDevicePrimaryCtxRetain", C.gm_ctx_retain(&c, d))
}

func drvModuleLoad(ctx cuContext, ptx []byte) (cuModule, error) {
	img := C.CBytes(append(append([]byte(nil), ptx...), 0))
	defer C.free(img)
	const logSize = 16 << 10
	log := (*C.char)(C.calloc(logSize, 1))
	defer C.free(unsafe.Pointer(log))
	var m C.CUmodule
	if err := cuErr("cuModuleLoadDataEx", C.gm_module_load(ctx, &m, img, log, logSize)); err != nil {
		if s := C.GoString(log); s != "" {
			return nil, fmt.Errorf("%w\n%s", err, s)
		}
		return nil, err
	}
	return m, nil
}

func drvFunc(ctx cuContext, m cuModule, name string) (cuFunc, error) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	var f C.CUfunction
	if err := cuErr("cuModuleGetFunction", C.gm_module_func(ctx, &f, m, cs)); err != nil {
		return nil, fmt.Errorf("kernel %s: %w", name, err)
	}
	return f, nil
}

// drvLaunch launches f with its parameter struct packed in args (uint64
// fields). The driver copies the parameters before cuLaunchKernel returns.
func drvLaunch(ctx cuContext, f cuFunc, grid, block [3]uint32, s cuStream, args []uint64) error {
	return cuErr("cuLaunchKernel", C.gm_launch(ctx, f,
		C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
		C.uint(block[0]), C.uint(block[1]), C.uint(block[2]),
		0, s, unsafe.Pointer(&args[0])))
}

func drvAlloc(ctx cuContext, n int) (devptr, error) {
	var p C.CUdeviceptr
	err := cuErr("cuMemAlloc", C.gm_alloc(ctx, &p, C.size_t(n)))
	return devptr(p), err
}

func drvFree(ctx cuContext, p devptr) error {
	return cuErr("cuMemFree", C.gm_free(ctx, C.CUdeviceptr(p)))
}

func drvMemInfo(ctx cuContext) (free, total int, err error) {
	var f, t C.size_t
	err = cuErr("cuMemGetInfo", C.gm_mem_info(ctx, &f, &t))
	return int(f), int(t), err
}

// drvHtoD queues a copy from host memory; for pageable memory the driver
// has staged the bytes when it returns, so src may be reused at once.
func drvHtoD(ctx cuContext, dst devptr, src []float32, s cuStream) error {
	if len(src) == 0 {
		return nil
	}
	return cuErr("cuMemcpyHtoDAsync", C.gm_htod(ctx, C.CUdeviceptr(dst), unsafe.Pointer(&src[0]), C.size_t(4*len(src)), s))
}

// drvDtoH copies to host memory and waits for the stream.
func drvDtoH(ctx cuContext, dst []float32, src devptr, s cuStream) error {
	if len(dst) == 0 {
		return nil
	}
	return cuErr("cuMemcpyDtoHAsync", C.gm_dtoh(ctx, unsafe.Pointer(&dst[0]), C.CUdeviceptr(src), C.size_t(4*len(dst)), s))
}

func drvDtoD(ctx cuContext, dst, src devptr, bytes int, s cuStream) error {
	if bytes == 0 {
		return nil
	}
	return cuErr("cuMemcpyDtoDAsync", C.gm_dtod(ctx, C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(bytes), s))
}

func drvMemset32(ctx cuContext, dst devptr, v uint32, n int, s cuStream) error {
	if n == 0 {
		return nil
	}
	return cuErr("cuMemsetD32Async", C.gm_memset32(ctx, C.CUdeviceptr(dst), C.uint(v), C.size_t(n), s))
}

func drvStream(ctx cuContext) (cuStream, error) {
	var s C.CUstream
	return s, cuErr("cuStreamCreate", C.gm_stream_create(ctx, &s))
}

func drvStreamSync(ctx cuContext, s cuStream) error {
	return cuErr("cuStreamSynchronize", C.gm_stream_sync(ctx, s))
}

func drvEvent(ctx cuContext) (cuEvent, error) {
	var e C.CUevent
	return e, cuErr("cuEventCreate", C.gm_event_create(ctx, &e))
}

func drvEventRecord(ctx cuContext, e cuEvent, s cuStream) error {
	return cuErr("cuEventRecord", C.gm_event_record(ctx, e, s))
}

// drvEventElapsed waits for b and returns the milliseconds from a to b.
func drvEventElapsed(ctx cuContext, a, b cuEvent) (float32, error) {
	var ms C.float
	err := cuErr("cuEventElapsedTime", C.gm_event_elapsed(ctx, &ms, a, b))
	return float32(ms), err
}

func drvEventDestroy(ctx cuContext, e cuEvent) error {
	return cuErr("cuEventDestroy", C.gm_event_destroy(ctx, e))
}
