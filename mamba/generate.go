package mamba

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gomamba/gomamba/kernels"
)

// State is the recurrent decoding state of a batch: per layer a conv state
// (Bt, d_inner, d_conv) holding the last d_conv pre-conv inputs and an SSM
// state (Bt, d_inner, d_state). Its size is fixed, independent of how many
// tokens have been processed: decoding memory is O(1) per token.
//
// A State belongs to one Model and one goroutine at a time.
type State struct {
	m     *Model
	batch int
	conv  []*kernels.Tensor
	ssm   []*kernels.Tensor
	ws    *Workspace // batched work
	ws1   *Workspace // per-row prefill of ragged batches
	conv1 []*kernels.Tensor
	ssm1  []*kernels.Tensor
	seen  []int // tokens processed per row

	path         DecodePath
	warm         bool            // a step ran uncaptured (the scratch exists)
	graphOff     bool            // capture failed or is unavailable: launch op by op
	graphLaunch  func() error    // the captured step, or nil
	graphRelease func()          // frees it
	host         *kernels.Tensor // host copy of the step logits (device backends)
}

// NewState returns a zero state for a batch of the given size.
func (m *Model) NewState(batch int) (*State, error) {
	if !m.prepared {
		return nil, fmt.Errorf("mamba: model not prepared (call Prepare or use Load)")
	}
	if batch <= 0 || batch > 1<<16 {
		return nil, fmt.Errorf("mamba: batch size %d out of range", batch)
	}
	s := &State{m: m, batch: batch, ws: NewWorkspace(), ws1: NewWorkspace(), seen: make([]int, batch)}
	e, n, k := m.Config.Inner(), m.Config.DState, m.Config.DConv
	captureMu.RLock()
	defer captureMu.RUnlock()
	for range m.Blocks {
		s.conv = append(s.conv, m.be.New(batch, e, k))
		s.ssm = append(s.ssm, m.be.New(batch, e, n))
	}
	return s, nil
}

// Batch returns the state's batch size.
func (s *State) Batch() int { return s.batch }

// Processed returns how many tokens row has consumed (prompt plus steps);
// the state's size does not depend on it.
func (s *State) Processed(row int) int { return s.seen[row] }

// SetDecodePath selects how Step runs (DecodeAuto unless set); a step graph
// captured before is released.
func (s *State) SetDecodePath(p DecodePath) {
	captureMu.RLock()
	defer captureMu.RUnlock()
	s.releaseGraph()
	s.path, s.warm, s.graphOff = p, false, false
}

// DecodePath returns the path set by SetDecodePath.
func (s *State) DecodePath() DecodePath { return s.path }

func (s *State) releaseGraph() {
	if s.graphRelease != nil {
		s.graphRelease()
	}
	s.graphLaunch, s.graphRelease = nil, nil
}

// Release frees the state's device memory (a no-op on the CPU).
func (s *State) Release() {
	captureMu.RLock()
	defer captureMu.RUnlock()
	s.releaseGraph()
	for _, ts := range [][]*kernels.Tensor{s.conv, s.ssm, s.conv1, s.ssm1} {
		for _, t := range ts {
			s.m.be.Free(t)
		}
	}
	s.ws.Release()
	s.ws1.Release()
}

// Prefill runs the parallel scan over each prompt, overwrites the state with
// the recurrent state after the prompt, and returns the logits of the last
// position of every prompt (Bt, PaddedVocab) as a host tensor valid until the
// next call on s. Prompts may have different lengths (each row is then
// prefilled on its own; the rows of a Mamba state are independent, so no
// padding or mask is needed).
func (s *State) Prefill(ctx context.Context, prompts [][]int) (*kernels.Tensor, error) {
	m := s.m
	if len(prompts) != s.batch {
		return nil, fmt.Errorf("mamba: prefill: %d prompts for a state of batch %d", len(prompts), s.batch)
	}
	if _, err := m.checkIDs(prompts, false); err != nil {
		return nil, err
	}
	captureMu.RLock()
	defer captureMu.RUnlock()
	same := true
	for _, p := range prompts {
		same = same && len(p) == len(prompts[0])
	}
	logits := s.ws.Get(m.be, "mamba.gen.logits", s.batch, m.Config.PaddedVocab())
	if same {
		if err := m.prefill(ctx, s.ws, prompts, s.conv, s.ssm, logits); err != nil {
			return nil, err
		}
	} else {
		e, n, k, v := m.Config.Inner(), m.Config.DState, m.Config.DConv, m.Config.PaddedVocab()
		if s.conv1 == nil {
			for range m.Blocks {
				s.conv1 = append(s.conv1, m.be.New(1, e, k))
				s.ssm1 = append(s.ssm1, m.be.New(1, e, n))
			}
		}
		row := s.ws1.Get(m.be, "mamba.gen.logits1", 1, v)
		for b, p := range prompts {
			if err := m.prefill(ctx, s.ws1, [][]int{p}, s.conv1, s.ssm1, row); err != nil {
				return nil, err
			}
			for i := range m.Blocks {
				m.be.CopyBox(s.conv[i], []int{b, 0, 0}, s.conv1[i], []int{0, 0, 0}, []int{1, e, k})
				m.be.CopyBox(s.ssm[i], []int{b, 0, 0}, s.ssm1[i], []int{0, 0, 0}, []int{1, e, n})
			}
			m.be.CopyBox(logits, []int{b, 0}, row, []int{0, 0}, []int{1, v})
		}
	}
	for b, p := range prompts {
		s.seen[b] = len(p)
	}
	if err := m.be.Sync(); err != nil {
		return nil, fmt.Errorf("mamba: prefill on %s: %w", m.be.Name(), err)
	}
	return m.be.ToHost(logits), nil
}

// prefill runs equal-length prompts through the model, filling the given
// per-layer states and the last-position logits (Bt, V).
func (m *Model) prefill(ctx context.Context, ws *Workspace, ids [][]int, conv, ssm []*kernels.Tensor, logits *kernels.Tensor) error {
	be := m.be
	bt, l, d := len(ids), len(ids[0]), m.Config.DModel
	eps := float32(m.Config.NormEps)
	x := ws.Get(be, "mamba.pre.x", bt, l, d)
	m.embed(x, ids)
	hn := ws.Get(be, "mamba.pre.hn", bt, l, d)
	mo := ws.Get(be, "mamba.pre.mo", bt, l, d)
	for i := range m.Blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := &m.Blocks[i]
		be.RMSNorm(hn, x, b.Norm, eps)
		b.Mixer.Prefill(be, ws, mo, hn, conv[i], ssm[i])
		be.Add(x, x, mo)
	}
	last := ws.Get(be, "mamba.pre.last", bt, 1, d)
	be.CopyBox(last, []int{0, 0, 0}, x, []int{0, l - 1, 0}, []int{bt, 1, d})
	last2 := last.Reshape(bt, d)
	be.RMSNorm(last2, last2, m.NormF, eps)
	linear(be, logits, last2, m.Head, m.headP, nil)
	return nil
}

// Step feeds one token per row (tokens has Batch entries) through the
// recurrent form and returns the next-token logits (Bt, PaddedVocab) as a
// host tensor valid until the next call on s.
func (s *State) Step(ctx context.Context, tokens []int) (*kernels.Tensor, error) {
	m := s.m
	if len(tokens) != s.batch {
		return nil, fmt.Errorf("mamba: step: %d tokens for a state of batch %d", len(tokens), s.batch)
	}
	v := m.Config.PaddedVocab()
	for b, id := range tokens {
		if id < 0 || id >= v {
			return nil, fmt.Errorf("mamba: step: row %d: token id %d outside the vocabulary [0, %d)", b, id, v)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	be, ws := m.be, s.ws
	bt, d := s.batch, m.Config.DModel
	var db decodeBackend
	if s.path != DecodeGeneric {
		db = m.fusedDecoder(bt)
	}
	captureMu.RLock()
	x := ws.Get(be, "mamba.step.x", bt, d)
	logits := ws.Get(be, "mamba.gen.logits", bt, v)
	captureMu.RUnlock()
	s.prepareGraph(db, x, logits)

	captureMu.RLock()
	defer captureMu.RUnlock()
	for b, id := range tokens {
		m.embedRow(x, b, id)
	}
	if err := s.runStep(db, x, logits); err != nil {
		return nil, fmt.Errorf("mamba: step on %s: %w", be.Name(), err)
	}
	out := logits
	if logits.OnDevice() {
		if s.host == nil || !kernels.SameShape(s.host, logits) {
			s.host = kernels.New(bt, v)
		}
		be.Copy(s.host, logits) // waits for the step
		out = s.host
	}
	if err := be.Sync(); err != nil {
		return nil, fmt.Errorf("mamba: step on %s: %w", be.Name(), err)
	}
	for b := range s.seen {
		s.seen[b]++
	}
	return out, nil
}

// captureMu orders CUDA-graph captures against every other use of a
// backend by this package: a capture records whatever is queued on the
// backend's stream meanwhile (and fails on waits), so NewState, Prefill,
// Step, Release, Forward and Prepare hold it shared and a capture holds it
// alone. Other code using the same backend at the same time (another model
// family) is not covered: see DecodeAuto.
var captureMu sync.RWMutex

// prepareGraph captures the step body as a graph when DecodeAuto applies,
// the backend has graphs and one step has run uncaptured (so the scratch
// exists and the capture allocates nothing). A failed capture falls back to
// launching op by op for the State's life.
func (s *State) prepareGraph(db decodeBackend, x, logits *kernels.Tensor) {
	gb, ok := s.m.be.(graphBackend)
	if s.path != DecodeAuto || !ok || s.graphOff || s.graphLaunch != nil || !s.warm {
		return
	}
	captureMu.Lock()
	defer captureMu.Unlock()
	launch, release, err := gb.CaptureGraph(func() { s.stepBody(db, x, logits) })
	if err != nil {
		s.graphOff = true
		return
	}
	s.graphLaunch, s.graphRelease = launch, release
}

// runStep queues one step: a replay of the captured graph, or the step
// body op by op.
func (s *State) runStep(db decodeBackend, x, logits *kernels.Tensor) error {
	if s.graphLaunch != nil {
		return s.graphLaunch()
	}
	s.warm = true
	s.stepBody(db, x, logits)
	return nil
}

// GenerateOptions control Generate. The zero value decodes greedily until
// MaxNewTokens (which must then be set).
//
// Sampling follows mamba_ssm's `sample`: TopK == 1 or Temperature <= 0 is
// greedy (argmax over all PaddedVocab rows, like both official
// implementations); otherwise, with TopK > 0 the top-k logits are kept,
// divided by Temperature, filtered by TopP, soft-maxed and one is drawn;
// with TopK == 0 the whole vocabulary is used. TopP outside (0, 1) disables
// nucleus filtering.
type GenerateOptions struct {
	// MaxNewTokens is the most tokens generated per prompt (required > 0).
	MaxNewTokens int
	// Temperature divides the logits before sampling; <= 0 means greedy.
	Temperature float64
	// TopK keeps the k largest logits (0 = all, 1 = greedy).
	TopK int
	// TopP keeps the smallest set of tokens whose probability reaches TopP.
	TopP float64
	// Seed seeds the sampler (PCG); equal seeds give equal samples.
	Seed uint64
	// RepetitionPenalty, if > 0 and != 1, rescales the logits of every token
	// already in the row (prompt and generated) before sampling, as
	// mamba_ssm: logit·p when negative, logit/p otherwise (p > 1 discourages
	// repeats).
	RepetitionPenalty float64
	// StopTokens end a row when generated (the stop token is kept in the
	// output).
	StopTokens []int
	// OnToken, if set, is called for every generated token in order
	// (row, position within the row's new tokens, id); returning true ends
	// that row, returning an error aborts Generate with it.
	OnToken func(row, pos, id int) (stop bool, err error)
	// DecodePath selects how the recurrent steps run (DecodeAuto: the
	// fastest the backend has).
	DecodePath DecodePath
}

// Generation is the result of Generate.
type Generation struct {
	// Tokens holds the new tokens per prompt (not the prompt).
	Tokens [][]int
	// Finish says why each row ended: "stop" (a stop token), "length"
	// (MaxNewTokens), "callback" (OnToken asked to stop).
	Finish []string
	// PromptTokens is the total number of prompt tokens; NewTokens the total
	// generated.
	PromptTokens, NewTokens int
	// Prefill and Decode are the wall times of the prompt pass and of the
	// recurrent steps.
	Prefill, Decode time.Duration
	// Steps is the number of recurrent steps taken (each over the whole
	// batch).
	Steps int
}

// PrefillTokensPerSecond is the prompt throughput.
func (g *Generation) PrefillTokensPerSecond() float64 {
	return float64(g.PromptTokens) / max(g.Prefill.Seconds(), 1e-9)
}

// DecodeTokensPerSecond is the recurrent-step throughput (batch rows ×
// steps per second).
func (g *Generation) DecodeTokensPerSecond() float64 {
	if g.Steps == 0 {
		return 0
	}
	return float64(g.Steps*len(g.Tokens)) / max(g.Decode.Seconds(), 1e-9)
}

// Generate continues each prompt: a parallel-scan prefill, then one
// recurrent step per new token with O(1) memory per token. It honours ctx
// between steps.
func (m *Model) Generate(ctx context.Context, prompts [][]int, opt GenerateOptions) (*Generation, error) {
	if opt.MaxNewTokens <= 0 {
		return nil, fmt.Errorf("mamba: generate: MaxNewTokens must be positive")
	}
	v := m.Config.PaddedVocab()
	for _, id := range opt.StopTokens {
		if id < 0 || id >= v {
			return nil, fmt.Errorf("mamba: generate: stop token %d outside the vocabulary [0, %d)", id, v)
		}
	}
	st, err := m.NewState(len(prompts))
	if err != nil {
		return nil, err
	}
	defer st.Release()
	st.SetDecodePath(opt.DecodePath)
	g := &Generation{Tokens: make([][]int, len(prompts)), Finish: make([]string, len(prompts))}
	for _, p := range prompts {
		g.PromptTokens += len(p)
	}
	smp := newSampler(opt, v)
	t0 := time.Now()
	logits, err := st.Prefill(ctx, prompts)
	if err != nil {
		return nil, err
	}
	g.Prefill = time.Since(t0)
	t0 = time.Now()
	next := make([]int, len(prompts))
	live := len(prompts)
	for pos := 0; ; pos++ {
		for b := range prompts {
			if g.Finish[b] != "" {
				continue // keep feeding its last token; its output is ignored
			}
			row := logits.Data[b*v : (b+1)*v]
			if p := opt.RepetitionPenalty; p > 0 && p != 1 {
				penalize(row, float32(p), smp.mark, prompts[b], g.Tokens[b])
			}
			id := smp.pick(row)
			next[b] = id
			g.Tokens[b] = append(g.Tokens[b], id)
			g.NewTokens++
			switch {
			case slices.Contains(opt.StopTokens, id):
				g.Finish[b] = "stop"
			case pos+1 >= opt.MaxNewTokens:
				g.Finish[b] = "length"
			}
			if opt.OnToken != nil {
				stop, err := opt.OnToken(b, pos, id)
				if err != nil {
					return g, err
				}
				if stop && g.Finish[b] == "" {
					g.Finish[b] = "callback"
				}
			}
			if g.Finish[b] != "" {
				live--
			}
		}
		if live == 0 {
			break
		}
		if logits, err = st.Step(ctx, next); err != nil {
			g.Decode = time.Since(t0)
			return g, err
		}
		g.Steps++
	}
	g.Decode = time.Since(t0)
	return g, nil
}

// penalize applies mamba_ssm's repetition penalty once to every distinct
// id of the token lists; mark is scratch of the row's length, left false.
func penalize(row []float32, p float32, mark []bool, lists ...[]int) {
	for _, l := range lists {
		for _, id := range l {
			if mark[id] {
				continue
			}
			mark[id] = true
			if row[id] < 0 {
				row[id] *= p
			} else {
				row[id] /= p
			}
		}
	}
	for _, l := range lists {
		for _, id := range l {
			mark[id] = false
		}
	}
}

// sampler turns a row of logits into a token id.
type sampler struct {
	opt  GenerateOptions
	rng  *rand.Rand
	idx  []int
	vals []float64
	mark []bool
}

func newSampler(opt GenerateOptions, v int) *sampler {
	return &sampler{
		opt:  opt,
		rng:  rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		idx:  make([]int, v),
		vals: make([]float64, v),
		mark: make([]bool, v),
	}
}

// argmax returns the first index of the largest value (torch.argmax).
func argmax(row []float32) int {
	best := 0
	for i, x := range row {
		if x > row[best] || (math.IsNaN(float64(x)) && !math.IsNaN(float64(row[best]))) {
			best = i
		}
	}
	return best
}

func (s *sampler) pick(row []float32) int {
	o := s.opt
	if o.TopK == 1 || o.Temperature <= 0 {
		return argmax(row)
	}
	// Candidates in descending logit order (top-k or all).
	idx := s.idx[:len(row)]
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
	if o.TopK > 0 && o.TopK < len(idx) {
		idx = idx[:o.TopK]
	}
	vals := s.vals[:len(idx)]
	for i, j := range idx {
		vals[i] = float64(row[j]) / o.Temperature
	}
	// Top-p as mamba_ssm's modify_logits_for_top_p_filtering: in ascending
	// order, drop tokens whose cumulative probability is <= 1 - top_p.
	keep := len(vals)
	if o.TopP > 0 && o.TopP < 1 {
		p := softmax64(vals)
		cum := 0.0
		for i := len(p) - 1; i >= 0; i-- { // ascending order = from the end
			cum += p[i]
			if cum > 1-o.TopP {
				keep = i + 1
				break
			}
		}
		keep = max(keep, 1)
	}
	p := softmax64(vals[:keep])
	u := s.rng.Float64()
	acc := 0.0
	for i, q := range p {
		acc += q
		if u < acc {
			return idx[i]
		}
	}
	return idx[keep-1]
}

// softmax64 returns softmax(v) in a new slice.
func softmax64(v []float64) []float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = math.Max(mx, x)
	}
	out := make([]float64, len(v))
	sum := 0.0
	for i, x := range v {
		out[i] = math.Exp(x - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
