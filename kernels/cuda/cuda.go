package cuda

//go:generate ./gen.sh

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomamba/gomamba/kernels"
)

// kernelsPTX is the PTX of src/*.cu made by gen.sh (nvcc -ptx
// -arch=compute_80); the driver compiles it for the GPU at Open.
//
//go:embed kernels.ptx
var kernelsPTX []byte

// PTXEnv names an environment variable that, when set, gives a PTX file to
// load instead of the embedded one (for kernel development).
const PTXEnv = "GOMAMBA_CUDA_PTX"

// ErrNoDevice is wrapped by Open's error when the machine has no NVIDIA
// driver or no GPU; callers then fall back to kernels.CPU().
var ErrNoDevice = errors.New("cuda: no CUDA driver or GPU found")

// ErrNotBuilt is Open's error in builds without cgo: the CUDA backend is not
// built (it wraps ErrNoDevice, so one errors.Is check covers both).
var ErrNotBuilt = fmt.Errorf("cuda: CUDA backend not built (needs cgo on linux): %w", ErrNoDevice)

// Error is a failed CUDA driver call: Name is the CUDA error name (such as
// CUDA_ERROR_OUT_OF_MEMORY), Op the driver call.
type Error struct {
	Op   string
	Code int
	Name string
}

func (e *Error) Error() string { return fmt.Sprintf("cuda: %s: %s (%d)", e.Op, e.Name, e.Code) }

// Backend is the CUDA implementation of kernels.Backend on one GPU.
//
// Concurrency: a Backend is safe for concurrent use by several goroutines,
// under the kernels.Backend rule that they do not write the same tensors.
// Every op is queued, in call order, on the Backend's single CUDA stream and
// returns before the GPU has run it; ToHost, Sync and GPUTime wait. Because
// all work shares one stream, a buffer freed (explicitly or by the garbage
// collector) and reused by a later op is never overwritten while earlier
// queued work still reads it. Driver failures inside ops (they return
// nothing) are kept: the first one is reported by Sync and Err.
type Backend struct {
	ordinal int
	name    string
	device  string
	sms     int
	cc      [2]int
	ctx     cuContext
	stream  cuStream
	mod     cuModule
	funcs   map[string]cuFunc
	alloc   allocator

	// GEMMs: the cuBLAS handle (nil: the built-in SGEMM kernel), what was
	// loaded or why not, and the precision (a precision value).
	blas     blasHandle
	blasNote string
	prec     atomic.Int32
	// prof times every op with CUDA events when GOMAMBA_CUDA_PROFILE=1.
	prof *profiler

	errMu sync.Mutex
	err   error
}

var _ kernels.Backend = (*Backend)(nil)

var (
	openMu sync.Mutex
	opened = map[int]*Backend{}
)

// Open returns the backend of GPU 0 (see OpenDevice).
func Open() (*Backend, error) { return OpenDevice(0) }

// OpenDevice loads the CUDA driver (libcuda.so.1, found at run time; no
// CUDA toolkit is needed), retains the primary context of GPU ordinal,
// creates a stream and loads the kernels. It returns an error wrapping
// ErrNoDevice when there is no driver or GPU, so that callers can fall back
// to kernels.CPU(). Backends are shared: opening the same ordinal twice
// returns the same Backend.
func OpenDevice(ordinal int) (*Backend, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if be := opened[ordinal]; be != nil {
		return be, nil
	}
	if err := drvOpen(); err != nil {
		return nil, err
	}
	n, err := drvDeviceCount()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: the driver reports 0 devices", ErrNoDevice)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: device %d out of range (%d devices)", ordinal, n)
	}
	dev, devName, attrs, err := drvDevice(ordinal)
	if err != nil {
		return nil, err
	}
	be := &Backend{ordinal: ordinal, name: fmt.Sprintf("cuda:%d", ordinal), device: devName, sms: attrs[0], cc: [2]int{attrs[1], attrs[2]}}
	if be.cc[0] < 8 {
		return nil, fmt.Errorf("cuda: %s has compute capability %d.%d; the kernels need 8.0 or newer", devName, be.cc[0], be.cc[1])
	}
	if be.ctx, err = drvCtxRetain(dev); err != nil {
		return nil, err
	}
	if be.stream, err = drvStream(be.ctx); err != nil {
		return nil, err
	}
	ptx := kernelsPTX
	if p := os.Getenv(PTXEnv); p != "" {
		if ptx, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("cuda: %s: %w", PTXEnv, err)
		}
	}
	if len(ptx) == 0 {
		return nil, errors.New("cuda: the embedded PTX is empty (run kernels/cuda/gen.sh)")
	}
	if be.mod, err = drvModuleLoad(be.ctx, ptx); err != nil {
		return nil, fmt.Errorf("cuda: load kernels: %w", err)
	}
	be.funcs = map[string]cuFunc{}
	for _, k := range kernelNames() {
		f, err := drvFunc(be.ctx, be.mod, k)
		if err != nil {
			return nil, err
		}
		be.funcs[k] = f
	}
	be.alloc.be = be
	be.openBLAS()
	if os.Getenv(ProfileEnv) == "1" {
		be.prof = newProfiler()
	}
	opened[ordinal] = be
	return be, nil
}

// kernelNames lists every kernel the Go side launches.
func kernelNames() []string {
	names := []string{
		"gm_scan_step", "gm_conv1d_causal", "gm_conv1d_step", "gm_conv2d",
		"gm_norm_rows", "gm_layernorm2d", "gm_softmax", "gm_mean_axis",
		"gm_unary", "gm_scale", "gm_binary", "gm_strided_copy", "gm_sgemm",
	}
	names = append(names, scanGeneralNames...)
	for _, split := range scanSplitNames {
		names = append(names, split...)
	}
	names = append(names, opKernels...)
	names = append(names, halfKernels...)
	return names
}

// Name returns "cuda:<ordinal>".
func (be *Backend) Name() string { return be.name }

// Device describes the GPU: its name, compute capability and number of
// multiprocessors.
func (be *Backend) Device() string {
	return fmt.Sprintf("%s (sm_%d%d, %d SMs)", be.device, be.cc[0], be.cc[1], be.sms)
}

// setErr keeps the first asynchronous error.
func (be *Backend) setErr(err error) {
	if err == nil {
		return
	}
	be.errMu.Lock()
	if be.err == nil {
		be.err = err
	}
	be.errMu.Unlock()
}

// Err returns the first error met by an op so far (nil if none); it does not
// wait for queued work (Sync does).
func (be *Backend) Err() error {
	be.errMu.Lock()
	defer be.errMu.Unlock()
	return be.err
}

// Sync waits for all queued work and returns the first error met so far.
func (be *Backend) Sync() error {
	be.setErr(drvStreamSync(be.ctx, be.stream))
	if be.prof != nil {
		be.prof.collect(be)
	}
	return be.Err()
}

// GPUTime runs fn (which queues work on this backend) between two CUDA
// events and returns the GPU time between them.
func (be *Backend) GPUTime(fn func()) (time.Duration, error) {
	a, err := drvEvent(be.ctx)
	if err != nil {
		return 0, err
	}
	defer drvEventDestroy(be.ctx, a)
	b, err := drvEvent(be.ctx)
	if err != nil {
		return 0, err
	}
	defer drvEventDestroy(be.ctx, b)
	if err := drvEventRecord(be.ctx, a, be.stream); err != nil {
		return 0, err
	}
	fn()
	if err := drvEventRecord(be.ctx, b, be.stream); err != nil {
		return 0, err
	}
	ms, err := drvEventElapsed(be.ctx, a, b)
	if err != nil {
		return 0, err
	}
	if err := be.Err(); err != nil {
		return 0, err
	}
	return time.Duration(float64(ms) * float64(time.Millisecond)), nil
}

// MemInfo returns the device's free and total memory in bytes.
func (be *Backend) MemInfo() (free, total int, err error) { return drvMemInfo(be.ctx) }

// buffer is a tensor's device storage (kernels.DeviceBuffer). Reshaped
// views share it; Free is idempotent.
type buffer struct {
	ptr   devptr
	n     int // float32 elements
	state *bufState
}

// bufState is shared by a buffer and its garbage-collection cleanup.
type bufState struct {
	freed atomic.Bool
	a     *allocator
	ptr   devptr
	size  int
}

func (s *bufState) release() {
	if s.freed.CompareAndSwap(false, true) {
		s.a.put(s.ptr, s.size)
	}
}

// Free returns the memory to the backend's cache (stream-ordered, so queued
// work that still reads it is unaffected).
func (b *buffer) Free() { b.state.release() }

// allocator is a caching allocator: freed blocks go to free lists keyed by
// their size bucket and are reused before new device memory is asked for.
type allocator struct {
	be     *Backend
	mu     sync.Mutex
	free   map[int][]devptr
	inUse  int
	cached int
	peak   int
	// peakHeld is the largest inUse+cached: device memory the allocator
	// held from the driver at once, free-list blocks included.
	peakHeld int
}

// bucketSize rounds a request up: to 512 bytes, to a power of two up to
// 4 MiB, then to a multiple of 2 MiB (waste under 1/2 and 2 MiB).
func bucketSize(n int) int {
	switch {
	case n <= 512:
		return 512
	case n <= 4<<20:
		s := 512
		for s < n {
			s <<= 1
		}
		return s
	default:
		const g = 2 << 20
		return (n + g - 1) / g * g
	}
}

func (a *allocator) get(bytes int) (devptr, int, error) {
	size := bucketSize(bytes)
	a.mu.Lock()
	if l := a.free[size]; len(l) > 0 {
		p := l[len(l)-1]
		a.free[size] = l[:len(l)-1]
		a.cached -= size
		a.inUse += size
		a.peak = max(a.peak, a.inUse)
		a.mu.Unlock()
		return p, size, nil
	}
	a.mu.Unlock()
	p, err := drvAlloc(a.be.ctx, size)
	if err != nil {
		// Out of memory: let the collector return dead tensors, give the
		// cache back to the driver, and try once more.
		runtime.GC()
		a.be.setErr(drvStreamSync(a.be.ctx, a.be.stream))
		a.EmptyCache()
		if p, err = drvAlloc(a.be.ctx, size); err != nil {
			return 0, 0, fmt.Errorf("cuda: allocate %d bytes: %w", size, err)
		}
	}
	a.mu.Lock()
	a.inUse += size
	a.peak = max(a.peak, a.inUse)
	a.peakHeld = max(a.peakHeld, a.inUse+a.cached)
	a.mu.Unlock()
	return p, size, nil
}

func (a *allocator) put(p devptr, size int) {
	a.mu.Lock()
	if a.free == nil {
		a.free = map[int][]devptr{}
	}
	a.free[size] = append(a.free[size], p)
	a.inUse -= size
	a.cached += size
	a.mu.Unlock()
}

// EmptyCache returns every cached block to the driver (after the stream has
// drained).
func (a *allocator) EmptyCache() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for size, l := range a.free {
		for _, p := range l {
			a.be.setErr(drvFree(a.be.ctx, p))
			a.cached -= size
		}
	}
	a.free = map[int][]devptr{}
}

// MemStats describes the caching allocator.
type MemStats struct {
	InUse  int // bytes held by live tensors (bucket sizes)
	Cached int // bytes in the free lists
	Peak   int // largest InUse seen
	// PeakHeld is the largest InUse+Cached seen: the device memory the
	// allocator held at once, blocks cached for reuse included.
	PeakHeld int
}

// MemStats returns the allocator's counters.
func (be *Backend) MemStats() MemStats {
	be.alloc.mu.Lock()
	defer be.alloc.mu.Unlock()
	return MemStats{InUse: be.alloc.inUse, Cached: be.alloc.cached, Peak: be.alloc.peak, PeakHeld: be.alloc.peakHeld}
}

// ResetPeak sets the allocator's peak to the bytes now in use, so that a
// later MemStats().Peak covers only what ran after this call.
func (be *Backend) ResetPeak() {
	be.alloc.mu.Lock()
	defer be.alloc.mu.Unlock()
	be.alloc.peak = be.alloc.inUse
	be.alloc.peakHeld = be.alloc.inUse + be.alloc.cached
}

// EmptyCache waits for queued work and returns cached device memory to the
// driver.
func (be *Backend) EmptyCache() {
	be.setErr(drvStreamSync(be.ctx, be.stream))
	be.alloc.EmptyCache()
}

// newBuffer allocates n float32 values; the memory goes back to the cache
// on Free or when the buffer becomes unreachable.
func (be *Backend) newBuffer(n int) *buffer {
	p, size, err := be.alloc.get(max(4*n, 4))
	if err != nil {
		// An allocation failure cannot be returned through the Backend
		// interface: it is a resource limit the caller must size for.
		panic(err)
	}
	st := &bufState{a: &be.alloc, ptr: p, size: size}
	b := &buffer{ptr: p, n: n, state: st}
	runtime.AddCleanup(b, func(s *bufState) { s.release() }, st)
	return b
}
