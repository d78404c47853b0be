package checkpoint

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSafetensorsDTypes(t *testing.T) {
	le := binary.LittleEndian
	f16 := []byte{}
	for _, h := range []uint16{0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x8000, 0x3555} {
		f16 = le.AppendUint16(f16, h)
	}
	bf16 := le.AppendUint16(le.AppendUint16(nil, 0x3f80), 0xc0a0)
	f64 := le.AppendUint64(le.AppendUint64(nil, math.Float64bits(0.1)), math.Float64bits(-3))
	i32 := le.AppendUint32(le.AppendUint32(nil, uint32(0xffffffff)), 7)
	p := writeTemp(t, "x.bin", safetensorsFile(t,
		stTensor{"a.f32", "F32", []int{2}, f32(1.5, -2)},
		stTensor{"b.f16", "F16", []int{7}, f16},
		stTensor{"c.bf16", "BF16", []int{2}, bf16},
		stTensor{"d.f64", "F64", []int{1, 2}, f64},
		stTensor{"e.i32", "I32", []int{2}, i32},
		stTensor{"f.u8", "U8", []int{3}, []byte{1, 2, 255}},
		stTensor{"g.empty", "F32", []int{0, 3}, nil},
		stTensor{"h.scalar", "F32", []int{}, f32(4)},
	))
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	floats := map[string][]float32{
		"a.f32":    {1.5, -2},
		"b.f16":    {1, -2, float32(math.Ldexp(1, -24)), 65504, float32(math.Inf(1)), float32(math.Copysign(0, -1)), 0.33325195},
		"c.bf16":   {1, -5},
		"d.f64":    {float32(0.1), -3},
		"g.empty":  {},
		"h.scalar": {4},
	}
	for n, want := range floats {
		got, err := f.Tensor(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if diff := cmp.Diff(want, got.Data); diff != "" {
			t.Errorf("%s (-want +got):\n%s", n, diff)
		}
	}
	ints := map[string][]int64{"e.i32": {-1, 7}, "f.u8": {1, 2, 255}}
	for n, want := range ints {
		got, _, err := f.Int64(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", n, diff)
		}
	}
	if _, _, err := f.Int64("a.f32"); err == nil {
		t.Error("Int64 on F32 did not fail")
	}
	if _, err := f.Tensor("e.i32"); err == nil {
		t.Error("Tensor on I32 did not fail")
	}
	if _, err := f.Tensor("nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing tensor: %v", err)
	}
	if info, ok := f.Info("d.f64"); !ok || !cmp.Equal(info, TensorInfo{Shape: []int{1, 2}, DType: "F64"}) {
		t.Errorf("Info = %v, %v", info, ok)
	}
	// NaN half keeps being NaN.
	if v := halfToFloat32(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("half NaN → %v", v)
	}
}

// TestSafetensorsErrors feeds broken and hostile files; every one must fail
// with an error naming the file and the problem.
func TestSafetensorsErrors(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"tiny", []byte{1, 2, 3}, "too short"},
		{"unknown magic", []byte("hello world, not a checkpoint"), "unknown format"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 1000), '{', '}'), "exceeds the file"},
		{"header too large", append(binary.LittleEndian.AppendUint64(nil, 200_000_000), '{', '}'), "exceeds the 100000000-byte limit"},
		{"truncated data", rawSafetensors(good, f32(1)), "outside the 4-byte data area"},
		{"extra data", rawSafetensors(good, f32(1, 2, 3)), "cover 8 bytes, the data area has 12"},
		{"not json", rawSafetensors(`{"a":`, nil), "not a single valid JSON"},
		{"trailing garbage", rawSafetensors(good+`xx`, f32(1, 2)), "not a single valid JSON"},
		{"duplicate key", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(1, 2)), "duplicate key"},
		{"unknown dtype", rawSafetensors(`{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}`, f32(1, 2)), "unknown dtype \"F7\""},
		{"wrong dtype size", rawSafetensors(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, f32(1, 2)), "F64 needs 16 bytes"},
		{"lying shape", rawSafetensors(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32(1, 2)), "needs 12 bytes"},
		{"huge shape", rawSafetensors(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,8]}}`, f32(1, 2)), "exceeds 17179869184 elements"},
		{"overflow shape", rawSafetensors(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}`, f32(1, 2)), "exceeds"},
		{"negative dim", rawSafetensors(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32(1, 2)), "negative dimension"},
		{"overlapping", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(1, 2, 3)), "overlap"},
		{"gap", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(1, 2)), "gap of 4 bytes"},
		{"reversed offsets", rawSafetensors(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, f32(1, 2)), "outside the 8-byte"},
		{"missing field", rawSafetensors(`{"a":{"dtype":"F32","shape":[2]}}`, f32(1, 2)), "data_offsets must have 2 entries"},
		{"bad metadata", rawSafetensors(`{"__metadata__":{"x":1}}`, nil), "expected string type"},
		{"empty name", rawSafetensors(`{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(1, 2)), "empty tensor name"},
		{"legacy pickle", []byte("\x80\x02}q\x00.and some more bytes"), "legacy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "bad.safetensors", c.file)
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "checkpoint: open "+p+": ") || !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not name the file and %q", msg, c.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "none.pth")); err == nil || !strings.Contains(err.Error(), "none.pth: no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("folder: %v", err)
	}
	// Closed files refuse reads and Close twice is fine.
	p := writeTemp(t, "ok.safetensors", safetensorsFile(t, stTensor{"a", "F32", []int{1}, f32(1)}))
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := f.Close(); err != nil {
		t.Error(err)
	}
	if _, err := f.Tensor("a"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Tensor after Close: %v", err)
	}
	// The format comes from the bytes, not the extension.
	p2 := filepath.Join(t.TempDir(), "weights.pth")
	os.WriteFile(p2, safetensorsFile(t, stTensor{"a", "F32", []int{1}, f32(1)}), 0o644)
	if f, err := Open(p2); err != nil || f.Format() != FormatSafetensors {
		t.Errorf("safetensors named .pth: %v", err)
	}
}
