package mamba

import (
	"github.com/gomamba/gomamba/kernels"
)

// Workspace holds reusable scratch tensors, keyed by a name, so that
// steady-state inference allocates nothing: Get returns the same tensor for
// the same name and shape on every call, and replaces it (freeing the old one)
// when the shape changes.
//
// A Workspace belongs to one Backend (the first one Get sees; a different
// backend resets it) and to one goroutine at a time: it is not safe for
// concurrent use. Give each concurrent caller its own Workspace.
//
// Names beginning with "mamba." are reserved for this package; callers that
// share a Workspace with Branch or Mixer (Vim does) should use their own
// prefix.
type Workspace struct {
	be   kernels.Backend
	bufs map[string]*kernels.Tensor
	subs map[string]*Workspace
}

// Sub returns the child Workspace called name, made on first use and kept
// with w (Release frees it too). A child has its own tensors, so the
// parent and its children may each be used by a different goroutine at
// the same time (Vim runs its two branches concurrently this way); Sub
// itself must be called from the goroutine that owns w.
func (w *Workspace) Sub(name string) *Workspace {
	if w.subs == nil {
		w.subs = map[string]*Workspace{}
	}
	c, ok := w.subs[name]
	if !ok {
		c = NewWorkspace()
		w.subs[name] = c
	}
	return c
}

// NewWorkspace returns an empty Workspace.
func NewWorkspace() *Workspace {
	return &Workspace{bufs: map[string]*kernels.Tensor{}}
}

// Get returns the scratch tensor called name with the given shape, allocating
// it in be's memory on first use or when its shape changed. Its contents are
// whatever the last user left there, except that a freshly allocated tensor
// is zero.
func (w *Workspace) Get(be kernels.Backend, name string, shape ...int) *kernels.Tensor {
	if w.bufs == nil {
		w.bufs = map[string]*kernels.Tensor{}
	}
	if w.be != be {
		w.Release()
		w.be = be
	}
	if t, ok := w.bufs[name]; ok {
		if kernels.EqualShape(t.Shape(), shape) {
			return t
		}
		be.Free(t)
	}
	t := be.New(shape...)
	w.bufs[name] = t
	return t
}

// Release frees every scratch tensor; the Workspace stays usable.
func (w *Workspace) Release() {
	if w.be != nil {
		for _, t := range w.bufs {
			w.be.Free(t)
		}
	}
	clear(w.bufs)
	for _, c := range w.subs {
		c.Release()
	}
}
