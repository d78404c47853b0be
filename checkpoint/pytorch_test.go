package checkpoint

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func item(name string, fn func(*pk)) func(*pk) {
	return func(p *pk) { p.str(name); fn(p) }
}

func tensorItem(name, class, key string, numel, off int, size, stride []int) func(*pk) {
	return item(name, func(p *pk) { p.tensor(class, key, numel, off, size, stride) })
}

// namespace emits argparse.Namespace(lr=0.1) the way pickle protocol 2 does.
func namespace(p *pk) {
	p.global("argparse", "Namespace").op(")\x81").op("}").str("lr").op("G").
		op(string(binary.BigEndian.AppendUint64(nil, math.Float64bits(0.1)))).op("sb")
}

func openBytes(t *testing.T, b []byte, opts *Options) (*File, error) {
	t.Helper()
	f, err := OpenWith(writeTemp(t, "ck.pth", b), opts)
	if err == nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}

func TestPyTorchLayouts(t *testing.T) {
	st := map[string][]byte{"0": f32(1, 2, 3, 4, 5, 6), "1": f32(9)}
	w := tensorItem("w", "FloatStorage", "0", 6, 0, []int{2, 3}, []int{3, 1})
	b := tensorItem("b", "FloatStorage", "1", 1, 0, []int{1}, []int{1})
	ema := tensorItem("w", "FloatStorage", "1", 1, 0, []int{1}, []int{1})
	cases := []struct {
		name  string
		pkl   []byte
		opts  *Options
		names []string
	}{
		{"bare", newPK().dict(w, b).stop(), nil, []string{"b", "w"}},
		{"model", newPK().dict(item("model", func(p *pk) { p.dict(w, b) })).stop(), nil, []string{"b", "w"}},
		{"state_dict", newPK().dict(item("state_dict", func(p *pk) { p.dict(w) })).stop(), nil, []string{"w"}},
		{"model over ema, args ignored", newPK().dict(
			item("args", namespace),
			item("epoch", func(p *pk) { p.int(300) }),
			item("model_ema", func(p *pk) { p.dict(ema) }),
			item("optimizer", func(p *pk) { p.global("numpy.core.multiarray", "scalar").op(")R") }),
			item("model", func(p *pk) { p.dict(w, b) }),
		).stop(), nil, []string{"b", "w"}},
		{"ema on request", newPK().dict(
			item("model", func(p *pk) { p.dict(w, b) }),
			item("model_ema", func(p *pk) { p.dict(ema) }),
		).stop(), &Options{Entry: "model_ema"}, []string{"w"}},
		{"ordered dict with metadata", func() []byte {
			p := newPK().global("collections", "OrderedDict").op(")R")
			p.op("(")
			w(p)
			p.op("u")
			p.op("}").str("_metadata").global("collections", "OrderedDict").op(")R").op("sb")
			return p.stop()
		}(), nil, []string{"w"}},
		{"parameter", newPK().dict(item("w", func(p *pk) {
			p.global("torch._utils", "_rebuild_parameter").op("(")
			p.tensor("FloatStorage", "0", 6, 0, []int{2, 3}, []int{3, 1})
			p.op("\x88").global("collections", "OrderedDict").op(")Rt").op("R")
		})).stop(), nil, []string{"w"}},
		{"from_type_v2", newPK().dict(item("w", func(p *pk) {
			p.global("torch._tensor", "_rebuild_from_type_v2").op("(")
			p.global("torch._utils", "_rebuild_tensor_v2").global("torch", "Tensor")
			p.op("(").op("(").str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(6).op("t").op("Q")
			p.int(0).ints(2, 3).ints(3, 1).op("\x89").global("collections", "OrderedDict").op(")R").op("t")
			p.op("}").op("t").op("R")
		})).stop(), nil, []string{"w"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := openBytes(t, torchZip(t, c.pkl, st, nil), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.names, f.Names()); diff != "" {
				t.Fatalf("names (-want +got):\n%s", diff)
			}
			if c.opts != nil {
				return
			}
			got, err := f.Tensor("w")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]float32{1, 2, 3, 4, 5, 6}, got.Data); diff != "" || !cmp.Equal(got.Shape(), []int{2, 3}) {
				t.Errorf("w %v (-want +got):\n%s", got.Shape(), diff)
			}
		})
	}
}

// TestPyTorchViews covers storage offsets, strided (transposed) views,
// shared storages and the non-F32 storage types.
func TestPyTorchViews(t *testing.T) {
	le := binary.LittleEndian
	half := le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0xc400)
	i64 := le.AppendUint64(le.AppendUint64(nil, uint64(1<<40)), uint64(math.MaxUint64))
	st := map[string][]byte{
		"0": f32(0, 1, 2, 3, 4, 5, 6, 7), "h": half, "bf": le.AppendUint16(nil, 0x4040),
		"d": le.AppendUint64(nil, math.Float64bits(2.5)), "l": i64, "~z": f32(7, 8, 9),
	}
	pkl := newPK().dict(
		tensorItem("tail", "FloatStorage", "0", 8, 5, []int{3}, []int{1}),
		tensorItem("transposed", "FloatStorage", "0", 8, 0, []int{4, 2}, []int{1, 4}),
		tensorItem("every_other", "FloatStorage", "0", 8, 1, []int{2, 2}, []int{4, 2}),
		tensorItem("tied", "FloatStorage", "0", 8, 0, []int{2, 4}, []int{4, 1}),
		tensorItem("scalar", "FloatStorage", "0", 8, 7, []int{}, []int{}),
		tensorItem("half", "HalfStorage", "h", 2, 0, []int{2}, []int{1}),
		tensorItem("bf16", "BFloat16Storage", "bf", 1, 0, []int{1}, []int{1}),
		tensorItem("double", "DoubleStorage", "d", 1, 0, []int{1}, []int{1}),
		tensorItem("long", "LongStorage", "l", 2, 0, []int{2}, []int{1}),
		tensorItem("deflated", "FloatStorage", "z", 3, 1, []int{2}, []int{1}),
		tensorItem("deflated_strided", "FloatStorage", "z", 3, 0, []int{2}, []int{2}),
	).stop()
	f, err := openBytes(t, torchZip(t, pkl, st, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{
		"tail":             {5, 6, 7},
		"transposed":       {0, 4, 1, 5, 2, 6, 3, 7},
		"every_other":      {1, 3, 5, 7},
		"tied":             {0, 1, 2, 3, 4, 5, 6, 7},
		"scalar":           {7},
		"half":             {1, -4},
		"bf16":             {3},
		"double":           {2.5},
		"deflated":         {8, 9},
		"deflated_strided": {7, 9},
	}
	for n, w := range want {
		got, err := f.Tensor(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if diff := cmp.Diff(w, got.Data); diff != "" {
			t.Errorf("%s (-want +got):\n%s", n, diff)
		}
	}
	if &f.entries["tied"].raw[20] != &f.entries["tail"].raw[0] {
		t.Error("views of one storage do not share the mapping")
	}
	ids, shape, err := f.Int64("long")
	if err != nil || !cmp.Equal(ids, []int64{1 << 40, -1}) || !cmp.Equal(shape, []int{2}) {
		t.Errorf("long = %v %v %v", ids, shape, err)
	}
}

// TestPyTorchErrors feeds broken and hostile archives and pickles.
func TestPyTorchErrors(t *testing.T) {
	okStorage := map[string][]byte{"0": f32(1, 2)}
	w := tensorItem("w", "FloatStorage", "0", 2, 0, []int{2}, []int{1})
	sd := func(items ...func(*pk)) []byte { return newPK().dict(items...).stop() }
	evilReduce := newPK().global("os", "system").str("echo pwned").op("\x85R").stop()
	cases := []struct {
		name     string
		pkl      []byte
		storages map[string][]byte
		extra    map[string]string
		want     string
	}{
		{"os.system reduce", evilReduce, okStorage, nil, "references os.system"},
		{"os.system inside args", newPK().dict(item("args", func(p *pk) { p.global("os", "system").str("x").op("\x85R") }), item("model", func(p *pk) { p.dict(w) })).stop(), okStorage, nil, "os.system"},
		{"subprocess via stack global", newPK().str("subprocess").str("Popen").op("\x93").stop(), okStorage, nil, "subprocess.Popen"},
		{"builtins eval", newPK().global("builtins", "eval").stop(), okStorage, nil, "builtins.eval"},
		{"py2 builtin getattr", newPK().global("__builtin__", "getattr").stop(), okStorage, nil, "__builtin__.getattr"},
		{"ext opcode", newPK().op("\x82\x01.").Bytes(), okStorage, nil, "EXT"},
		{"unknown opcode", newPK().op("\xff.").Bytes(), okStorage, nil, "unknown pickle opcode 0xff"},
		{"protocol 9", []byte("\x80\x09N."), okStorage, nil, "protocol 9"},
		{"huge binbytes8", append(newPK().op("\x8e").Bytes(), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f), okStorage, nil, "runs past the end"},
		{"huge frame", append(newPK().op("\x95").Bytes(), 0, 0, 0, 0, 0, 0, 0, 0x10), okStorage, nil, "frame"},
		{"negative binunicode", append(newPK().op("X").Bytes(), 0xff, 0xff, 0xff, 0xff), okStorage, nil, "negative length"},
		{"no stop", newPK().op("N").Bytes(), okStorage, nil, "no STOP"},
		{"odd setitems", newPK().op("}(N").op("u.").Bytes(), okStorage, nil, "malformed pickle"},
		{"empty stack", newPK().op("R.").Bytes(), okStorage, nil, "data.pkl"},
		{"top is list", newPK().op("].").Bytes(), okStorage, nil, "not a dict"},
		{"whole module", newPK().global("vim.models", "VisionMamba").op(")\x81").stop(), okStorage, nil, "whole-module pickles"},
		{"model not a dict", sd(item("model", func(p *pk) { p.int(3) })), okStorage, nil, `entry "model" is an int`},
		{"missing entry", sd(w), okStorage, nil, `no entry "model_ema"`},
		{"no tensors", sd(item("epoch", func(p *pk) { p.int(3) })), okStorage, nil, "no tensors"},
		{"missing storage", sd(w), map[string][]byte{"1": f32(1, 2)}, nil, "zip has no archive/data/0"},
		{"short storage", sd(w), map[string][]byte{"0": f32(1)}, nil, "need 8 bytes, entry has 4"},
		{"huge numel", sd(tensorItem("w", "FloatStorage", "0", 1<<31-1, 0, []int{2}, []int{1})), okStorage, nil, "need 8589934588 bytes"},
		{"view past storage", sd(tensorItem("w", "FloatStorage", "0", 2, 1, []int{2}, []int{1})), okStorage, nil, "runs past its storage"},
		{"offset past storage", sd(tensorItem("w", "FloatStorage", "0", 2, 5, []int{1}, []int{1})), okStorage, nil, "runs past its storage"},
		{"broadcast bomb", sd(tensorItem("w", "FloatStorage", "0", 2, 0, []int{1 << 30, 1 << 3}, []int{0, 0})), okStorage, nil, "larger than its storage"},
		{"huge shape", sd(tensorItem("w", "FloatStorage", "0", 2, 0, []int{1 << 30, 1 << 30}, []int{0, 0})), okStorage, nil, "exceeds"},
		{"negative size", sd(tensorItem("w", "FloatStorage", "0", 2, 0, []int{-1}, []int{1})), okStorage, nil, "negative dimension"},
		{"negative stride", sd(tensorItem("w", "FloatStorage", "0", 2, 1, []int{2}, []int{-1})), okStorage, nil, "negative stride"},
		{"rank mismatch", sd(tensorItem("w", "FloatStorage", "0", 2, 0, []int{2}, []int{1, 1})), okStorage, nil, "differ in rank"},
		{"storage reused with other dtype", sd(w, tensorItem("v", "IntStorage", "0", 2, 0, []int{2}, []int{1})), okStorage, nil, "used as F32[2] and I32[2]"},
		{"unsupported storage type", sd(tensorItem("w", "ComplexFloatStorage", "0", 1, 0, []int{1}, []int{1})), okStorage, nil, "torch.ComplexFloatStorage is not supported"},
		{"path in storage key", sd(tensorItem("w", "FloatStorage", "../0", 2, 0, []int{2}, []int{1})), okStorage, nil, "bad storage key"},
		{"unsupported rebuild", sd(item("w", func(p *pk) { p.global("torch._utils", "_rebuild_qtensor").op(")R") })), okStorage, nil, "torch._utils._rebuild_qtensor, which is not supported"},
		{"rebuild with junk", sd(item("w", func(p *pk) { p.global("torch._utils", "_rebuild_tensor_v2").op("(NNNNNNt").op("R") })), okStorage, nil, "storage argument is None"},
		{"storage called", newPK().op("(").str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(2).op("tQ)R").stop(), okStorage, nil, "REDUCE requires a Callable object: storage(0, F32)"},
		{"text persid", sd(item("w", func(p *pk) { p.op("Pabc\n") })), okStorage, nil, "not a 5-tuple"},
		{"big endian", sd(w), okStorage, map[string]string{"archive/byteorder": "big"}, `byte order "big"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts *Options
			if c.name == "missing entry" {
				opts = &Options{Entry: "model_ema"}
			}
			_, err := openBytes(t, torchZip(t, c.pkl, c.storages, c.extra), opts)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "checkpoint: open ") || !strings.Contains(msg, "ck.pth: ") || !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not name the file and %q", msg, c.want)
			}
		})
	}
}

func TestZipErrors(t *testing.T) {
	good := torchZip(t, newPK().dict(tensorItem("w", "FloatStorage", "0", 1, 0, []int{1}, []int{1})).stop(), map[string][]byte{"0": f32(1)}, nil)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"truncated zip", good[:len(good)/2], "zip:"},
		{"no data.pkl", func() []byte {
			b := append([]byte(nil), good...)
			i := strings.Index(string(b), "archive/data.pkl")
			copy(b[i:], "archive/data.pkx")
			j := strings.LastIndex(string(b), "archive/data.pkl")
			copy(b[j:], "archive/data.pkx")
			return b
		}(), "no <root>/data.pkl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := openBytes(t, c.file, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := openBytes(t, good, nil); err != nil {
		t.Errorf("the unmodified archive fails: %v", err)
	}
}

// TestDeflateLies covers deflated storages whose zip headers lie about
// their size: the claim is refused before anything is allocated, and a
// short stream fails when read.
func TestDeflateLies(t *testing.T) {
	build := func(numel int, declared uint64, payload []byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
		w.Write(newPK().dict(tensorItem("w", "FloatStorage", "0", numel, 0, []int{1}, []int{1})).stop())
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestCompression)
		fw.Write(payload)
		fw.Close()
		rw, err := zw.CreateRaw(&zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate,
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared, CRC32: crc32.ChecksumIEEE(payload)})
		if err != nil {
			t.Fatal(err)
		}
		rw.Write(comp.Bytes())
		zw.Close()
		return buf.Bytes()
	}
	if _, err := openBytes(t, build(1<<28, 1<<30, f32(1, 2)), nil); err == nil || !strings.Contains(err.Error(), "cannot inflate") {
		t.Errorf("size lie: %v", err)
	}
	f, err := openBytes(t, build(4, 16, f32(1, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Tensor("w"); err == nil || !strings.Contains(err.Error(), "storage 0") {
		t.Errorf("short stream: %v", err)
	}
}
