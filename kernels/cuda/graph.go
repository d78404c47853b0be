package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Graph is a CUDA graph: the work that a function queued on the backend's
// stream, recorded once (Capture) and replayed with one launch. Replays read
// and write the same device buffers as the captured calls did, with the same
// kernel arguments, so the tensors it uses must stay allocated (and keep
// their addresses) for the Graph's life. A Graph is safe for concurrent use;
// replays are queued on the backend's stream in call order.
type Graph struct {
	be   *Backend
	mu   sync.Mutex
	g    cuGraph
	exec cuGraphExec
	done bool
}

// Capture runs fn with the backend's stream in capture mode and returns the
// recorded work as a Graph; nothing of it runs on the GPU until Launch. fn
// must only queue work (ops, device-to-device copies): anything that waits
// for the stream (ToHost, Sync, copies to the host) fails the capture, and
// so does work queued meanwhile by other goroutines on this backend, which
// would be recorded too, so capture while no other goroutine uses it.
// Allocations made by fn are not part of the graph: warm fn up once first so
// that its scratch tensors exist.
func (be *Backend) Capture(fn func()) (g *Graph, err error) {
	if err := drvGraphOpen(); err != nil {
		return nil, err
	}
	if err := be.Sync(); err != nil {
		return nil, fmt.Errorf("cuda: capture: %w", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := drvBeginCapture(be.ctx, be.stream); err != nil {
		return nil, err
	}
	ended := false
	defer func() {
		if !ended { // fn panicked: leave capture mode before the panic goes on
			if cg, e := drvEndCapture(be.ctx, be.stream); e == nil && cg != nil {
				drvGraphDestroy(be.ctx, cg)
			}
		}
	}()
	fn()
	cg, err := drvEndCapture(be.ctx, be.stream)
	ended = true
	if err != nil {
		return nil, fmt.Errorf("cuda: capture: %w", err)
	}
	if err := be.Err(); err != nil {
		drvGraphDestroy(be.ctx, cg)
		return nil, fmt.Errorf("cuda: capture: %w", err)
	}
	exec, err := drvGraphInstantiate(be.ctx, cg)
	if err != nil {
		drvGraphDestroy(be.ctx, cg)
		return nil, err
	}
	return &Graph{be: be, g: cg, exec: exec}, nil
}

// Launch queues one replay of the graph on the backend's stream and returns
// before it runs (Sync waits).
func (g *Graph) Launch() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return errors.New("cuda: graph launched after Destroy")
	}
	err := drvGraphLaunch(g.be.ctx, g.exec, g.be.stream)
	g.be.setErr(err)
	return err
}

// Destroy releases the graph (after the replays already queued have run);
// it is idempotent.
func (g *Graph) Destroy() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return
	}
	g.done = true
	g.be.setErr(drvStreamSync(g.be.ctx, g.be.stream))
	g.be.setErr(drvGraphExecDestroy(g.be.ctx, g.exec))
	g.be.setErr(drvGraphDestroy(g.be.ctx, g.g))
}

// CaptureGraph is Capture for callers that see the backend only as a
// kernels.Backend (the Mamba LM's decode step): it returns the replay and
// release functions of the Graph.
func (be *Backend) CaptureGraph(fn func()) (launch func() error, release func(), err error) {
	g, err := be.Capture(fn)
	if err != nil {
		return nil, nil, err
	}
	return g.Launch, g.Destroy, nil
}
