//go:build cgo && linux

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

// CUDA graph entry points (stream capture and replay), resolved on first
// use so that Open works with drivers that lack them.
typedef int CUresult;
typedef void* CUcontext;
typedef void* CUstream;
typedef void* CUgraph;
typedef void* CUgraphExec;

static CUresult (*pg_cuCtxSetCurrent)(CUcontext);
static CUresult (*pg_cuStreamBeginCapture)(CUstream, int);
static CUresult (*pg_cuStreamEndCapture)(CUstream, CUgraph*);
static CUresult (*pg_cuGraphInstantiate)(CUgraphExec*, CUgraph, unsigned long long);
static CUresult (*pg_cuGraphLaunch)(CUgraphExec, CUstream);
static CUresult (*pg_cuGraphExecDestroy)(CUgraphExec);
static CUresult (*pg_cuGraphDestroy)(CUgraph);

#define GMG_SYM(var, name) do { *(void**)(&var) = dlsym(lib, name); if (!var) return name; } while (0)

// gmg_open resolves the graph entry points; NULL or the missing name.
static const char* gmg_open(void) {
	void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib) lib = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
	if (!lib) return "libcuda.so.1";
	GMG_SYM(pg_cuCtxSetCurrent, "cuCtxSetCurrent");
	GMG_SYM(pg_cuStreamBeginCapture, "cuStreamBeginCapture_v2");
	GMG_SYM(pg_cuStreamEndCapture, "cuStreamEndCapture");
	GMG_SYM(pg_cuGraphInstantiate, "cuGraphInstantiateWithFlags");
	GMG_SYM(pg_cuGraphLaunch, "cuGraphLaunch");
	GMG_SYM(pg_cuGraphExecDestroy, "cuGraphExecDestroy");
	GMG_SYM(pg_cuGraphDestroy, "cuGraphDestroy");
	return NULL;
}

#define GMG_CTX(ctx) do { CUresult r_ = pg_cuCtxSetCurrent(ctx); if (r_) return r_; } while (0)

// Capture mode 2 is CU_STREAM_CAPTURE_MODE_RELAXED.
static CUresult gmg_begin(CUcontext ctx, CUstream s) { GMG_CTX(ctx); return pg_cuStreamBeginCapture(s, 2); }
static CUresult gmg_end(CUcontext ctx, CUstream s, CUgraph* g) { GMG_CTX(ctx); return pg_cuStreamEndCapture(s, g); }
static CUresult gmg_instantiate(CUcontext ctx, CUgraphExec* e, CUgraph g) { GMG_CTX(ctx); return pg_cuGraphInstantiate(e, g, 0); }
static CUresult gmg_launch(CUcontext ctx, CUgraphExec e, CUstream s) { GMG_CTX(ctx); return pg_cuGraphLaunch(e, s); }
static CUresult gmg_exec_destroy(CUcontext ctx, CUgraphExec e) { GMG_CTX(ctx); return pg_cuGraphExecDestroy(e); }
static CUresult gmg_destroy(CUcontext ctx, CUgraph g) { GMG_CTX(ctx); return pg_cuGraphDestroy(g); }
*/
import "C"

import (
	"fmt"
	"sync"
)

type (
	cuGraph     = C.CUgraph
	cuGraphExec = C.CUgraphExec
)

var (
	graphOnce sync.Once
	graphErr  error
)

// drvGraphOpen resolves the graph entry points once.
func drvGraphOpen() error {
	graphOnce.Do(func() {
		if miss := C.gmg_open(); miss != nil {
			graphErr = fmt.Errorf("cuda: the driver has no %s (CUDA graphs unavailable)", C.GoString(miss))
		}
	})
	return graphErr
}

func drvBeginCapture(ctx cuContext, s cuStream) error {
	return cuErr("cuStreamBeginCapture", C.gmg_begin(C.CUcontext(ctx), C.CUstream(s)))
}

func drvEndCapture(ctx cuContext, s cuStream) (cuGraph, error) {
	var g C.CUgraph
	return g, cuErr("cuStreamEndCapture", C.gmg_end(C.CUcontext(ctx), C.CUstream(s), &g))
}

func drvGraphInstantiate(ctx cuContext, g cuGraph) (cuGraphExec, error) {
	var e C.CUgraphExec
	return e, cuErr("cuGraphInstantiate", C.gmg_instantiate(C.CUcontext(ctx), &e, g))
}

func drvGraphLaunch(ctx cuContext, e cuGraphExec, s cuStream) error {
	return cuErr("cuGraphLaunch", C.gmg_launch(C.CUcontext(ctx), e, C.CUstream(s)))
}

func drvGraphExecDestroy(ctx cuContext, e cuGraphExec) error {
	return cuErr("cuGraphExecDestroy", C.gmg_exec_destroy(C.CUcontext(ctx), e))
}

func drvGraphDestroy(ctx cuContext, g cuGraph) error {
	return cuErr("cuGraphDestroy", C.gmg_destroy(C.CUcontext(ctx), g))
}
