package kernels

// Backend runs the compute ops that the model families (Mamba LM, Vim,
// VMamba, DeiT) are written against. The CPU backend (CPU()) computes on host
// tensors; the CUDA backend (package kernels/cuda) keeps tensors in device
// memory. Model code allocates activations with New, uploads weights once with
// FromHost, calls ops, and brings results back with ToHost; it never touches
// assembly or cgo.
//
// Conventions shared by every op:
//   - dst comes first and must already have the right shape (destination
//     passing; nothing is allocated in steady state);
//   - shapes are checked and a mismatch panics with a message naming the op and
//     the shapes: shapes are a programming contract, validated once when
//     weights are loaded, never user input;
//   - dst may alias an input only where the op's comment says so;
//   - all arithmetic is float32 unless stated.
//
// A Backend is safe for concurrent use by several goroutines as long as they
// do not write the same tensors.
type Backend interface {
	// Name is a short identifier such as "cpu" or "cuda:0".
	Name() string

	// New returns a zeroed tensor of the given shape in this backend's memory.
	New(shape ...int) *Tensor
	// FromHost returns t in this backend's memory (the CPU returns t itself).
	FromHost(t *Tensor) *Tensor
	// ToHost returns t in host memory (the CPU returns t itself).
	ToHost(t *Tensor) *Tensor
	// Free releases t's storage early (optional; a no-op on the CPU).
	Free(t *Tensor)
	// Sync waits for queued work and reports any asynchronous error.
	Sync() error

	// Linear computes dst = x·wᵀ + bias over the last dimension:
	// x (..., K), w (N, K), bias (N) or nil, dst (..., N).
	Linear(dst, x, w, bias *Tensor)
	// MatMul computes dst[i] = op(a[i])·op(b[i]) for a batch of matrices,
	// where op transposes when the flag is set. a is (M, K) or (Bt, M, K)
	// (before op), b likewise, dst (M, N) or (Bt, M, N). A rank-2 operand is
	// broadcast over the batch.
	MatMul(dst, a, b *Tensor, transA, transB bool)

	// Conv1dCausal is the depthwise causal conv1d of Mamba:
	// dst[b,d,t] = act(bias[d] + Σ_k w[d,k]·x[b,d,t-K+1+k]) with zeros before
	// t = 0. x, dst (Bt, D, L); w (D, K); bias (D) or nil.
	Conv1dCausal(dst, x, w, bias *Tensor, act Activation)
	// Conv1dReverse is Conv1dCausal run backwards in time (anti-causal):
	// dst[b,d,t] = act(bias[d] + Σ_k w[d,k]·x[b,d,t+K−1−k]) with zeros after
	// t = L−1, i.e. flip(Conv1dCausal(flip(x))) along L without the flips
	// (Vim's backward branch).
	Conv1dReverse(dst, x, w, bias *Tensor, act Activation)
	// Conv1dStep advances a rolling conv state by one token: state (Bt, D, K)
	// holds the last K inputs (oldest first) and is shifted left with x
	// (Bt, D) written last; dst (Bt, D) = act(bias + Σ_k w[d,k]·state[b,d,k]).
	Conv1dStep(dst, state, x, w, bias *Tensor, act Activation)
	// Conv2d is a grouped 2-D cross-correlation in NCHW: x (Bt, Cin, H, W),
	// w (Cout, Cin/Groups, KH, KW), bias (Cout) or nil,
	// dst (Bt, Cout, OH, OW) with OH = (H + 2·PadH − KH)/StrideH + 1.
	Conv2d(dst, x, w, bias *Tensor, p Conv2dParams)

	// RMSNorm over the last dimension: dst = x / sqrt(mean(x²) + eps) · w.
	// dst may alias x.
	RMSNorm(dst, x, w *Tensor, eps float32)
	// LayerNorm over the last dimension (biased variance); w and b may be nil.
	// dst may alias x.
	LayerNorm(dst, x, w, b *Tensor, eps float32)
	// LayerNorm2d normalises a channel-first (Bt, C, H, W) tensor over C at
	// every pixel (VMamba's LayerNorm2d). dst may alias x.
	LayerNorm2d(dst, x, w, b *Tensor, eps float32)

	// Unary applies an activation elementwise; dst may alias x.
	Unary(dst, x *Tensor, act Activation)
	// Add computes dst = a + b where b's shape equals a trailing suffix of
	// a's shape (b is broadcast over a's leading dimensions). dst may alias a.
	Add(dst, a, b *Tensor)
	// Mul is Add's elementwise product twin.
	Mul(dst, a, b *Tensor)
	// Scale computes dst = s·x; dst may alias x.
	Scale(dst, x *Tensor, s float32)
	// Softmax over the last dimension; dst may alias x.
	Softmax(dst, x *Tensor)
	// Mean averages x over one axis: dst has x's shape without that axis.
	Mean(dst, x *Tensor, axis int)

	// Copy copies src into dst (same number of elements; shapes may differ).
	Copy(dst, src *Tensor)
	// Permute writes src with its axes reordered: dst.Dim(i) = src.Dim(perm[i]).
	Permute(dst, src *Tensor, perm ...int)
	// Flip reverses src along one axis into dst (same shape). dst must not
	// alias src.
	Flip(dst, src *Tensor, axis int)
	// CopyBox copies the box of the given size starting at srcOff in src to
	// the box starting at dstOff in dst (same rank). It serves slicing,
	// concatenation, padding, cropping and token insertion.
	CopyBox(dst *Tensor, dstOff []int, src *Tensor, srcOff []int, size []int)

	// SelectiveScan runs the Mamba selective scan (../shared/spec/scan.md)
	// over a whole sequence, streaming with O(Bt·D·N) state.
	SelectiveScan(a *ScanArgs)
	// SelectiveStateUpdate advances the scan state by one token (generation).
	SelectiveStateUpdate(a *StepArgs)
}

// Activation names an elementwise function.
type Activation int

// Activations understood by Unary and the fused conv ops.
const (
	ActNone     Activation = iota // identity
	ActSiLU                       // x·sigmoid(x)
	ActGELU                       // exact GELU, 0.5·x·(1+erf(x/√2))
	ActGELUTanh                   // tanh-approximated GELU
	ActSoftplus                   // log1p(exp(x)), x itself above 20 (PyTorch)
	ActExp                        // exp(x)
	ActSigmoid                    // 1/(1+exp(−x))
	ActReLU                       // max(x, 0)
	ActNegExp                     // −exp(x) (A = −exp(A_log))
)

// Conv2dParams holds the geometry of a Conv2d call. Zero strides mean 1 and
// zero Groups means 1.
type Conv2dParams struct {
	StrideH, StrideW int
	PadH, PadW       int
	Groups           int
}

// ScanArgs are the operands of SelectiveScan, named and laid out as the
// official selective_scan_ref (state-spaces/mamba):
//
//	Δ = Delta (+ DeltaBias[d]); Δ = softplus(Δ) if DeltaSoftplus
//	h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·B_t·u_t      (h_0 = 0)
//	y_t = Σ_n h_t·C_t (+ D·u_t) (· silu(z_t))
type ScanArgs struct {
	U, Delta *Tensor // (Bt, D, L)
	A        *Tensor // (D, N)
	// B and C are (D, N) time-invariant, (Bt, N, L) time-varying, or
	// (Bt, G, N, L) grouped: channel d uses group d / (D/G).
	B, C          *Tensor
	D             *Tensor // (D) skip, or nil
	Z             *Tensor // (Bt, D, L) gate, or nil
	DeltaBias     *Tensor // (D), or nil
	DeltaSoftplus bool
	Out           *Tensor // (Bt, D, L) destination
	LastState     *Tensor // (Bt, D, N) destination for h_L, or nil
	// Reverse runs the recurrence backwards in time, from t = L−1 down to
	// t = 0 (h_L = 0, LastState receives h_0): the result equals flipping
	// U, Delta, Z and time-varying B and C along L, scanning, and flipping
	// Out back, without the copies (Vim's backward branch).
	Reverse bool
	// Accumulate adds the scan's output to what Out holds (Out += y, as
	// SelectiveScan into a temporary followed by Add(Out, Out, y)) instead
	// of overwriting it: Vim's backward branch adds y_b to y_f this way
	// without a separate pass over both.
	Accumulate bool
}

// StepArgs are the operands of SelectiveStateUpdate (selective_state_update):
//
//	dt = softplus(DT + DTBias) (if DTSoftplus); State = State·exp(dt·A) + dt·B·X
//	Out = Σ_n State·C + D·X, then · silu(Z)
type StepArgs struct {
	State      *Tensor // (Bt, D, N), updated in place
	X, DT      *Tensor // (Bt, D)
	A          *Tensor // (D, N)
	B, C       *Tensor // (Bt, N) or (Bt, G, N)
	D, Z       *Tensor // (D) and (Bt, D), each optional
	DTBias     *Tensor // (D), optional
	DTSoftplus bool
	Out        *Tensor // (Bt, D) destination
}
