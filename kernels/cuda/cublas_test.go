package cuda

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gomamba/gomamba/kernels"
)

func TestParsePrecision(t *testing.T) {
	for _, c := range []struct {
		in   string
		want precision
		ok   bool
	}{
		{"", precFP32, true}, {"fp32", precFP32, true}, {" FP32 ", precFP32, true}, {"tf32", precTF32, true},
		{"bf16", precBF16, true}, {"BFloat16", precBF16, true}, {"fp16", 0, false}, {"int8", 0, false},
	} {
		got, err := parsePrecision(c.in)
		if !c.ok {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
		require.Equal(t, c.want.String(), map[precision]string{precFP32: "fp32", precTF32: "tf32", precBF16: "bf16"}[got])
	}
	require.Equal(t, cublasCompute32F, precFP32.computeType())
	require.Equal(t, cublasCompute32FFastTF32, precTF32.computeType())
	require.Equal(t, cublasCompute32FFast16BF, precBF16.computeType())
}

func TestCublasCandidates(t *testing.T) {
	glob := func(string) ([]string, error) {
		return []string{"/usr/local/cuda-12.4/targets/x86_64-linux/lib", "/usr/local/cuda-13.0/targets/x86_64-linux/lib"}, nil
	}
	c := cublasCandidates("", glob)
	require.Equal(t, []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so"}, c[:3])
	i13 := indexOf(c, "/usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13")
	i12 := indexOf(c, "/usr/local/cuda-12.4/targets/x86_64-linux/lib/libcublas.so.12")
	require.True(t, i13 > 0 && i12 > i13, "newest toolkit first: %v", c)
	require.Contains(t, c, "/usr/local/cuda/lib64/libcublas.so.13")

	c = cublasCandidates("/opt/blas", glob)
	require.Equal(t, filepath.Join("/opt/blas", "libcublas.so.13"), c[0])
	c = cublasCandidates("/opt/blas/libcublas.so.12.9.1", glob)
	require.Equal(t, "/opt/blas/libcublas.so.12.9.1", c[0])
	require.Equal(t, "libcublas.so.13", c[1])

	require.Equal(t, "/x/libcublasLt.so.13", ltSibling("/x/libcublas.so.13"))
	require.Equal(t, "", ltSibling("libcublas.so.13"))
	require.Equal(t, "", ltSibling("/x/other.so"))
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestWriteProfile(t *testing.T) {
	stats := []profStat{
		{Kind: "gemm", Detail: "bf16 197×384×192 ×128 (AN BT)", Calls: 48, Ms: 6, Flops: 48 * 2 * 197 * 384 * 192 * 128},
		{Kind: "gemm", Detail: "bf16 197×192×384 ×128 (AT BT)", Calls: 24, Ms: 2, Flops: 24 * 2 * 197 * 384 * 192 * 128},
		{Kind: "gm_scan_fwd_s16", Calls: 48, Ms: 10},
		{Kind: "gm_binary", Calls: 96, Ms: 2},
	}
	var b bytes.Buffer
	require.NoError(t, writeProfile(&b, stats, 2, "run", "bf16"))
	out := b.String()
	t.Log("\n" + out)
	require.Contains(t, out, "20.00 ms over 2 runs (10.000 ms per run)")
	require.Contains(t, out, "calls/run")
	lines := strings.Split(out, "\n")
	// Kinds sorted by time: scan (10 ms, 50%), gemm (8 ms, 40%), binary.
	require.Contains(t, lines[2], "gm_scan_fwd_s16")
	require.Contains(t, lines[2], "50.0%")
	require.Contains(t, lines[3], "gemm")
	require.Contains(t, lines[3], "40.0%")
	require.Contains(t, lines[4], "gm_binary")
	require.Contains(t, out, "GEMM shapes")
	// 48·2·197·384·192·128 flop in 6 ms.
	require.Contains(t, out, fmt.Sprintf("%.1f", 48*2*197*384*192*128/6e-3/1e12))
}

// gemmCase is one Linear or MatMul call checked against a float64 product.
type gemmCase struct {
	name           string
	m, n, k, batch int
	transA, transB bool
	bBatched       bool // b has a batch dimension (else broadcast)
	linear, bias   bool
}

// refGemm computes the float64 product and Σ|a||b| per output (the scale
// of the rounding error).
func refGemm(c gemmCase, a, b, bias *kernels.Tensor) (ref, mag []float64) {
	ref = make([]float64, c.batch*c.m*c.n)
	mag = make([]float64, len(ref))
	for z := range c.batch {
		for i := range c.m {
			for j := range c.n {
				s, g := 0.0, 0.0
				for p := range c.k {
					var av, bv float32
					if c.transA {
						av = a.Data[z*c.m*c.k+p*c.m+i]
					} else {
						av = a.Data[z*c.m*c.k+i*c.k+p]
					}
					zb := 0
					if c.bBatched {
						zb = z
					}
					if c.transB {
						bv = b.Data[zb*c.n*c.k+j*c.k+p]
					} else {
						bv = b.Data[zb*c.n*c.k+p*c.n+j]
					}
					s += float64(av) * float64(bv)
					g += math.Abs(float64(av) * float64(bv))
				}
				if bias != nil {
					s += float64(bias.Data[j])
					g += math.Abs(float64(bias.Data[j]))
				}
				ref[(z*c.m+i)*c.n+j] = s
				mag[(z*c.m+i)*c.n+j] = g
			}
		}
	}
	return ref, mag
}

// unitRoundoff is the rounding unit of a GEMM input in each precision:
// fp32 24-bit significand, TF32 11, bfloat16 8.
var unitRoundoff = map[string]float64{PrecisionFP32: 0x1p-24, PrecisionTF32: 0x1p-11, PrecisionBF16: 0x1p-8}

// gemmErr runs c on be and returns the worst error relative to Σ|a||b|.
func gemmErr(t *testing.T, be *Backend, c gemmCase, r *rand.Rand) float64 {
	t.Helper()
	ash := []int{c.batch, c.m, c.k}
	if c.transA {
		ash = []int{c.batch, c.k, c.m}
	}
	bsh := []int{c.k, c.n}
	if c.transB {
		bsh = []int{c.n, c.k}
	}
	if c.bBatched {
		bsh = append([]int{c.batch}, bsh...)
	}
	a, b := randT(r, 1, ash...), randT(r, 1, bsh...)
	var bias *kernels.Tensor
	if c.bias {
		bias = randT(r, 1, c.n)
	}
	dst := poisoned(be, c.batch, c.m, c.n)
	da, db, dbias := be.FromHost(a), be.FromHost(b), (*kernels.Tensor)(nil)
	if bias != nil {
		dbias = be.FromHost(bias)
	}
	if c.linear {
		be.Linear(dst, da, db, dbias)
	} else {
		be.MatMul(dst, da, db, c.transA, c.transB)
	}
	got := be.ToHost(dst)
	require.NoError(t, be.Sync())
	ref, mag := refGemm(c, a, b, bias)
	worst := 0.0
	for i, v := range got.Data {
		e := math.Abs(float64(v)-ref[i]) / math.Max(mag[i], 1e-30)
		if math.IsNaN(e) {
			t.Fatalf("%s: NaN at %d (unwritten output?)", c.name, i)
		}
		worst = math.Max(worst, e)
	}
	return worst
}

func gemmCases() []gemmCase {
	cs := []gemmCase{
		{name: "Linear/bias", m: 197, n: 96, k: 192, batch: 1, transB: true, linear: true, bias: true},
		{name: "Linear/nobias", m: 33, n: 70, k: 300, batch: 1, transB: true, linear: true},
		{name: "Linear/large", m: 512, n: 256, k: 512, batch: 1, transB: true, linear: true},
	}
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, bb := range []bool{false, true} {
				cs = append(cs, gemmCase{name: fmt.Sprintf("MatMul/tA=%v/tB=%v/bBatched=%v", ta, tb, bb), m: 45, n: 77, k: 256, batch: 3, transA: ta, transB: tb, bBatched: bb})
			}
		}
	}
	return cs
}

// TestGEMMPrecision checks every precision on Linear and MatMul shapes
// against a float64 product: the error must stay under the rounding of the
// inputs to that precision (4u·Σ|a||b|, enough for truncation as well as
// rounding to nearest, plus fp32 accumulation), and the reduced precisions
// must really round (their error exceeds fp32's), so a precision that is
// silently ignored fails.
func TestGEMMPrecision(t *testing.T) {
	be := openGPU(t)
	t.Logf("GEMMs: %s", be.GEMMLibrary())
	if be.blas == nil {
		require.Error(t, be.SetPrecision(PrecisionBF16))
		t.Skip("cuBLAS not loaded: only fp32 runs (TestOpsVsCPU)")
	}
	defer func() { require.NoError(t, be.SetPrecision(PrecisionFP32)) }()
	worst := map[string]float64{}
	for _, p := range []string{PrecisionFP32, PrecisionTF32, PrecisionBF16} {
		require.NoError(t, be.SetPrecision(p))
		require.Equal(t, p, be.Precision())
		r := rand.New(rand.NewPCG(7, 8))
		for _, c := range gemmCases() {
			e := gemmErr(t, be, c, r)
			bound := 4.02*unitRoundoff[p] + float64(c.k)*0x1p-24
			if e > bound {
				t.Errorf("%s %s: error %.3g·Σ|a||b| above %.3g", p, c.name, e, bound)
			}
			worst[p] = math.Max(worst[p], e)
		}
		t.Logf("%s: worst error %.3g·Σ|a||b| (input rounding unit %.3g)", p, worst[p], unitRoundoff[p])
	}
	require.Greater(t, worst[PrecisionTF32], 4*worst[PrecisionFP32], "tf32 no less exact than fp32: tensor cores not used?")
	require.Greater(t, worst[PrecisionBF16], 4*worst[PrecisionFP32], "bf16 no less exact than fp32: tensor cores not used?")
	t.Logf("bf16/tf32 worst-error ratio %.1f (cuBLAS may pick TF32 kernels under FAST_16BF)", worst[PrecisionBF16]/worst[PrecisionTF32])
	require.Error(t, be.SetPrecision("fp8"))
	require.Equal(t, PrecisionFP32, func() string { require.NoError(t, be.SetPrecision("")); return be.Precision() }())
}

// TestBuiltinSGEMM runs the GEMM cases on gomamba's own kernel (the path
// taken when cuBLAS cannot be loaded), which then refuses reduced precision.
func TestBuiltinSGEMM(t *testing.T) {
	be := openGPU(t)
	saved, note := be.blas, be.blasNote
	be.blas, be.blasNote = nil, "disabled by the test"
	defer func() { be.blas, be.blasNote = saved, note }()
	require.Error(t, be.SetPrecision(PrecisionTF32))
	require.Equal(t, PrecisionFP32, be.Precision())
	require.Contains(t, be.GEMMLibrary(), "SGEMM kernel")
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range gemmCases() {
		if e := gemmErr(t, be, c, r); e > float64(c.k)*0x1p-24 {
			t.Errorf("%s: error %.3g·Σ|a||b|", c.name, e)
		}
	}
}

// TestProfile turns the profiler on, runs a Linear with bias and a scale,
// and checks that the report names both the GEMM and the kernels.
func TestProfile(t *testing.T) {
	be := openGPU(t)
	saved := be.prof
	be.prof = newProfiler()
	defer func() { be.prof = saved }()
	r := rand.New(rand.NewPCG(11, 12))
	x, w, bias := be.FromHost(randT(r, 1, 64, 32)), be.FromHost(randT(r, 1, 48, 32)), be.FromHost(randT(r, 1, 48))
	dst := be.New(64, 48)
	for range 3 {
		be.Linear(dst, x, w, bias)
		be.Scale(dst, dst, 0.5)
		require.NoError(t, be.Sync())
	}
	var b bytes.Buffer
	require.NoError(t, be.ProfileReport(&b, 0))
	out := b.String()
	t.Log("\n" + out)
	require.Contains(t, out, "gm_scale")
	require.Contains(t, out, "over 3 syncs")
	if be.blas != nil {
		require.Contains(t, out, "64×48×32 ×1 (AN BT)")
		require.Contains(t, out, "gm_binary")
	} else {
		require.Contains(t, out, "gm_sgemm")
	}
	be.ResetProfile()
	be.Scale(dst, dst, 2)
	b.Reset()
	require.NoError(t, be.ProfileReport(&b, 1))
	require.Contains(t, b.String(), "over 1 runs")
	require.NotContains(t, b.String(), "gemm")
}

// BenchmarkGEMMPrecision times vim-tiny's batched GEMMs at 224² batch 128
// (in_proj, x_proj, out_proj, as the model calls MatMul) and a square 4096³
// in every precision and on the built-in kernel, in TFLOP/s from CUDA events.
func BenchmarkGEMMPrecision(b *testing.B) {
	be := openGPU(b)
	defer func() { _ = be.SetPrecision(PrecisionFP32) }()
	const bt, l, c, e = 128, 197, 192, 384
	shapes := []struct {
		name           string
		a, bb, dst     []int
		transA, transB bool
	}{
		{"in_proj_384x197x192x128", []int{e, c}, []int{bt, l, c}, []int{bt, e, l}, false, true},
		{"x_proj_44x197x384x128", []int{44, e}, []int{bt, e, l}, []int{bt, 44, l}, false, false},
		{"out_proj_197x192x384x128", []int{bt, e, l}, []int{c, e}, []int{bt, l, c}, true, true},
		{"square_4096", []int{4096, 4096}, []int{4096, 4096}, []int{4096, 4096}, false, false},
	}
	r := rand.New(rand.NewPCG(13, 14))
	for _, s := range shapes {
		a, bb, dst := be.FromHost(randT(r, 1, s.a...)), be.FromHost(randT(r, 1, s.bb...)), be.New(s.dst...)
		m, n := s.dst[len(s.dst)-2], s.dst[len(s.dst)-1]
		k := s.a[len(s.a)-1]
		if s.transA {
			k = s.a[len(s.a)-2]
		}
		batch := 1
		if len(s.dst) == 3 {
			batch = s.dst[0]
		}
		flop := 2 * float64(m) * float64(n) * float64(k) * float64(batch)
		for _, p := range []string{PrecisionFP32, PrecisionTF32, PrecisionBF16, "builtin"} {
			b.Run(s.name+"/"+p, func(b *testing.B) {
				if p == "builtin" {
					saved := be.blas
					be.blas = nil
					defer func() { be.blas = saved }()
				} else if err := be.SetPrecision(p); err != nil {
					b.Skip(err)
				}
				sec := gpuLoop(b, be, func() { be.MatMul(dst, a, bb, s.transA, s.transB) })
				b.ReportMetric(flop/sec/1e12, "TFLOP/s")
				b.ReportMetric(sec*1e6, "gpu-us/op")
			})
		}
		be.Free(a)
		be.Free(bb)
		be.Free(dst)
	}
}
