package mamba

import (
	"github.com/gomamba/gomamba/kernels"
)

// DecodePath selects how State.Step runs the recurrent step on the model's
// backend. All paths compute the same function (the parity tests run each).
type DecodePath int

const (
	// DecodeAuto uses the fastest path the backend offers: on the CUDA
	// backend the fused decode kernels (5 per layer), replayed as one
	// captured CUDA graph per step; elsewhere DecodeGeneric. The graph is
	// captured at a State's second step; this package's own calls on the
	// backend wait for a capture (a lock), but work that other code queues
	// on the same backend meanwhile would be recorded into it, so do not
	// run other models on that backend concurrently with a State's first
	// steps (or use DecodeFused).
	DecodeAuto DecodePath = iota
	// DecodeGeneric runs the step with the generic Backend ops (about 13
	// per layer), each launched on its own.
	DecodeGeneric
	// DecodeFused uses the fused decode kernels where the backend has them,
	// each launched on its own (no graph).
	DecodeFused
)

// String returns "auto", "generic" or "fused".
func (p DecodePath) String() string {
	switch p {
	case DecodeGeneric:
		return "generic"
	case DecodeFused:
		return "fused"
	}
	return "auto"
}

// decodeBackend is implemented by backends with fused decode-step kernels
// (kernels/cuda.Backend); see their doc comments for the exact contracts.
type decodeBackend interface {
	DecodeKernels() bool
	DecodeLinear(dst, x, norm, w, bias *kernels.Tensor, eps float32, accumulate bool)
	DecodeConvStep(xc, state, xz, w, bias *kernels.Tensor)
	DecodeScanStep(y, state, xc, xz, xdbl, dtW, dtB, a, d *kernels.Tensor)
}

// graphBackend is implemented by backends that can record queued work and
// replay it with one launch (kernels/cuda.Backend: CUDA graphs).
type graphBackend interface {
	CaptureGraph(fn func()) (launch func() error, release func(), err error)
}

// decodeMaxRows is the largest batch the fused kernels take
// (cuda.DecodeMaxRows); larger batches use the generic ops, whose tiled
// GEMM suits them better.
const decodeMaxRows = 8

// fusedDecoder returns the backend's fused decode kernels when they apply
// to this model and batch, or nil.
func (m *Model) fusedDecoder(batch int) decodeBackend {
	db, ok := m.be.(decodeBackend)
	if !ok || batch > decodeMaxRows || m.Config.DState > 32 || !db.DecodeKernels() {
		return nil
	}
	return db
}

// stepBody queues one recurrent step over the embedded tokens in x (Bt, d):
// every block, norm_f and the head into logits (Bt, V). x is updated in
// place (the residual stream). With db non-nil it uses the fused decode
// kernels, otherwise the generic ops. It only queues work and allocates
// nothing once ws holds its scratch, so it can be captured as a graph.
func (s *State) stepBody(db decodeBackend, x, logits *kernels.Tensor) {
	m, be, ws := s.m, s.m.be, s.ws
	bt, d := s.batch, m.Config.DModel
	eps := float32(m.Config.NormEps)
	if db == nil {
		// The step is ~100 short parallel ops (GEMVs of 0.1–0.4 ms):
		// held helpers take their chunks at once instead of a goroutine
		// that an idle thread picks up late (see kernels.HoldWorkers).
		defer kernels.HoldWorkers()()
		hn := ws.Get(be, "mamba.step.hn", bt, d)
		mo := ws.Get(be, "mamba.step.mo", bt, d)
		for i := range m.Blocks {
			b := &m.Blocks[i]
			be.RMSNorm(hn, x, b.Norm, eps)
			b.Mixer.Step(be, ws, mo, hn, s.conv[i], s.ssm[i])
			be.Add(x, x, mo)
		}
		be.RMSNorm(hn, x, m.NormF, eps)
		linear(be, logits, hn, m.Head, m.headP, nil)
		return
	}
	e, n, r := m.Config.Inner(), m.Config.DState, m.Config.Rank()
	xz := ws.Get(be, "mamba.fstep.xz", bt, 2*e)
	xc := ws.Get(be, "mamba.fstep.xc", bt, e)
	xdbl := ws.Get(be, "mamba.fstep.xdbl", bt, r+2*n)
	y := ws.Get(be, "mamba.fstep.y", bt, e)
	for i := range m.Blocks {
		b := &m.Blocks[i]
		mx := &b.Mixer
		db.DecodeLinear(xz, x, b.Norm, mx.InProj, mx.InProjB, eps, false)
		db.DecodeConvStep(xc, s.conv[i], xz, mx.ConvW, mx.ConvB)
		db.DecodeLinear(xdbl, xc, nil, mx.XProj, nil, 0, false)
		db.DecodeScanStep(y, s.ssm[i], xc, xz, xdbl, mx.DTProjW, mx.DTProjB, mx.A, mx.D)
		db.DecodeLinear(x, y, nil, mx.OutProj, mx.OutProjB, 0, true)
	}
	db.DecodeLinear(logits, x, m.NormF, m.Head, nil, eps, false)
}
