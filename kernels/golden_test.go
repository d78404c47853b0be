package kernels

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/nlpodyssey/safetensors"
)

// loadSafetensors reads every F32 tensor of a safetensors file (test helper;
// the checkpoint package is the real reader).
func loadSafetensors(t *testing.T, path string) map[string]*Tensor {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	st, err := safetensors.Deserialize(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]*Tensor{}
	for _, nt := range st.Tensors() {
		tv := nt.TensorView
		if tv.DType() != safetensors.F32 {
			continue
		}
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		b := tv.Data()
		data := make([]float32, len(b)/4)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		x, err := FromSlice(data, shape...)
		if err != nil {
			t.Fatalf("%s: tensor %s: %v", path, nt.Name, err)
		}
		out[nt.Name] = x
	}
	return out
}

// goldenCases lists the scan fixture cases: index.json's "cases" when
// present, else every *.safetensors file.
func goldenCases(t *testing.T, dir string) []string {
	t.Helper()
	var idx struct {
		Cases []string `json:"cases"`
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "index.json")); err == nil {
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatalf("index.json: %v", err)
		}
	}
	if len(idx.Cases) == 0 {
		files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
		for _, f := range files {
			idx.Cases = append(idx.Cases, strings.TrimSuffix(filepath.Base(f), ".safetensors"))
		}
		sort.Strings(idx.Cases)
	}
	if len(idx.Cases) == 0 {
		t.Fatalf("no scan fixture cases in %s", dir)
	}
	return idx.Cases
}

// maxAbsDiff returns max |a−b| and fails on a shape mismatch.
func maxAbsDiff(t *testing.T, name string, got, want *Tensor) float64 {
	t.Helper()
	if !SameShape(got, want) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
	}
	var m float64
	for i := range got.Data {
		d := math.Abs(float64(got.Data[i]) - float64(want.Data[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

const goldenTol = 1e-4

func TestGoldenScan(t *testing.T) {
	dir := golden.Dir(t, "scan")
	be := CPU()
	counts := map[string]int{}
	for _, name := range goldenCases(t, dir) {
		ts := loadSafetensors(t, filepath.Join(dir, name+".safetensors"))
		var meta map[string]any
		if raw, err := os.ReadFile(filepath.Join(dir, name+".json")); err == nil {
			if err := json.Unmarshal(raw, &meta); err != nil {
				t.Fatalf("%s.json: %v", name, err)
			}
		}
		t.Run(name, func(t *testing.T) {
			check := func(what string, got, want *Tensor) {
				if want == nil {
					t.Fatalf("fixture lacks %s", what)
				}
				d := maxAbsDiff(t, what, got, want)
				t.Logf("%s/%s: max abs diff %.3g", name, what, d)
				if d > goldenTol {
					t.Errorf("%s: max abs diff %.3g > %g", what, d, goldenTol)
				}
			}
			switch {
			case ts["u"] != nil && ts["delta"] != nil:
				counts["scan"]++
				sp, ok := meta["sp"].(bool)
				if !ok {
					call, _ := meta["call"].(string)
					sp = strings.Contains(call, "delta_softplus=True")
				}
				out := New(ts["u"].Shape()...)
				last := New(ts["u"].Dim(0), ts["u"].Dim(1), ts["A"].Dim(1))
				be.SelectiveScan(&ScanArgs{U: ts["u"], Delta: ts["delta"], A: ts["A"], B: ts["B"], C: ts["C"],
					D: ts["D"], Z: ts["z"], DeltaBias: ts["delta_bias"], DeltaSoftplus: sp, Out: out, LastState: last})
				check("out", out, ts["out"])
				if ts["last_state"] != nil { // optional: return_last_state=False fixtures
					check("last_state", last, ts["last_state"])
				}
				// Without LastState the scratch-state path must agree.
				out2 := New(ts["u"].Shape()...)
				be.SelectiveScan(&ScanArgs{U: ts["u"], Delta: ts["delta"], A: ts["A"], B: ts["B"], C: ts["C"],
					D: ts["D"], Z: ts["z"], DeltaBias: ts["delta_bias"], DeltaSoftplus: sp, Out: out2})
				check("out(no last_state)", out2, ts["out"])
			case ts["state_in"] != nil:
				counts["step"]++
				call, _ := meta["call"].(string)
				sp := call == "" || strings.Contains(call, "dt_softplus=True")
				st := ts["state_in"].Clone()
				out := New(ts["x"].Shape()...)
				be.SelectiveStateUpdate(&StepArgs{State: st, X: ts["x"], DT: ts["dt"], A: ts["A"], B: ts["B"], C: ts["C"],
					D: ts["D"], Z: ts["z"], DTBias: ts["dt_bias"], DTSoftplus: sp, Out: out})
				check("out", out, ts["out"])
				check("state_out", st, ts["state_out"])
			case ts["x"] != nil && ts["weight"] != nil:
				counts["conv"]++
				x, w := ts["x"], ts["weight"]
				y := New(x.Shape()...)
				be.Conv1dCausal(y, x, w, nil, ActNone)
				check("y_nobias", y, ts["y_nobias"])
				be.Conv1dCausal(y, x, w, ts["bias"], ActSiLU)
				check("y_bias_silu", y, ts["y_bias_silu"])
				if ts["conv_state_in"] != nil {
					st := ts["conv_state_in"].Clone()
					ys := New(ts["x_new"].Shape()...)
					be.Conv1dStep(ys, st, ts["x_new"], w, ts["bias"], ActSiLU)
					check("y_step", ys, ts["y_step"])
					check("conv_state_out", st, ts["conv_state_out"])
				}
			default:
				t.Fatalf("unrecognised fixture case %s (tensors %v)", name, keys(ts))
			}
		})
	}
	if counts["scan"] == 0 {
		t.Errorf("no selective-scan cases found in %s", dir)
	}
	t.Logf("cases: %v", counts)
}

func keys(m map[string]*Tensor) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
