package checkpoint

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
)

// exercise reads every tensor of a successfully parsed file; the parser's
// validation must make this safe whatever the input was.
func exercise(t *testing.T, f *File) {
	for _, n := range f.Names() {
		info, ok := f.Info(n)
		if !ok {
			t.Fatalf("Info(%q) missing", n)
		}
		if isFloat(info.DType) {
			if _, err := f.Tensor(n); err != nil && f.entries[n].st == nil {
				t.Fatalf("Tensor(%q) on a validated mapping failed: %v", n, err)
			}
		} else {
			f.Int64(n)
		}
	}
}

func FuzzSafetensors(f *testing.F) {
	f.Add(safetensorsFile(f,
		stTensor{"a", "F32", []int{2}, f32(1, 2)},
		stTensor{"b", "F16", []int{1, 1}, []byte{0, 0x3c}},
		stTensor{"c", "I64", []int{1}, make([]byte, 8)},
	))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,8]}}`, f32(1, 2)))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(1, 2, 3)))
	f.Add(rawSafetensors(`{"__metadata__":{"format":"pt"},"x":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{1, 2}))
	if b, err := os.ReadFile(filepath.Join(golden.Root(), "scan", "c1_L1_allopts.safetensors")); err == nil {
		f.Add(b)
		f.Add(b[:len(b)/3])
		m := bytes.Clone(b)
		m[20] ^= 0x11
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := fromBytes("fuzz.safetensors", data, &Options{})
		if err != nil {
			return
		}
		exercise(t, file)
	})
}

// fuzzZip wraps a data.pkl into a torch.save archive with two small
// storages, so the fuzzer drives the unpickler, storage resolution and view
// validation together.
func fuzzZip(pkl []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		w.Write(data)
	}
	add("archive/data.pkl", pkl)
	add("archive/byteorder", []byte("little"))
	add("archive/data/0", f32(1, 2, 3, 4, 5, 6))
	add("archive/data/1", f32(7))
	zw.Close()
	return buf.Bytes()
}

func FuzzPickle(f *testing.F) {
	w := tensorItem("w", "FloatStorage", "0", 6, 0, []int{2, 3}, []int{3, 1})
	tr := tensorItem("t", "FloatStorage", "0", 6, 1, []int{2, 2}, []int{1, 3})
	f.Add(newPK().dict(w, tr).stop())
	f.Add(newPK().dict(item("args", namespace), item("model", func(p *pk) { p.dict(w) })).stop())
	f.Add(newPK().dict(item("model", func(p *pk) { p.dict(w, tensorItem("b", "FloatStorage", "1", 1, 0, []int{1}, []int{1})) }),
		item("model_ema", func(p *pk) { p.dict(tr) })).stop())
	f.Add(newPK().dict(item("w", func(p *pk) {
		p.global("torch._utils", "_rebuild_parameter").op("(")
		p.tensor("FloatStorage", "0", 6, 0, []int{2, 3}, []int{3, 1})
		p.op("\x88").global("collections", "OrderedDict").op(")Rt").op("R")
	})).stop())
	f.Add(newPK().dict(item("w", func(p *pk) {
		p.global("torch._tensor", "_rebuild_from_type_v2").op("(")
		p.global("torch._utils", "_rebuild_tensor_v2").global("torch", "Tensor")
		p.op("(").op("(").str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(6).op("t").op("Q")
		p.int(0).ints(2, 3).ints(3, 1).op("\x89").global("collections", "OrderedDict").op(")R").op("t")
		p.op("}").op("t").op("R")
	})).stop())
	f.Add(newPK().global("os", "system").str("echo pwned").op("\x85R").stop())
	f.Add(newPK().dict(item("x", func(p *pk) { p.global("posix", "system").str("id").op("\x85R") })).stop())
	f.Add(append(newPK().op("\x8e").Bytes(), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f))
	for _, p := range []string{"vim/vim_model.pth", "mamba_lm/mamba_ssm/pytorch_model.bin", "deit/model.pth"} {
		zr, err := zip.OpenReader(filepath.Join(golden.Root(), p))
		if err != nil {
			continue
		}
		for _, zf := range zr.File {
			if filepath.Base(zf.Name) == "data.pkl" {
				if pkl, err := readSmall(nil, zf, maxPickle); err == nil {
					f.Add(pkl)
					f.Add(pkl[:len(pkl)/2])
				}
			}
		}
		zr.Close()
	}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		file, err := fromBytes("fuzz.pth", fuzzZip(pkl), &Options{})
		if err != nil {
			return
		}
		exercise(t, file)
	})
}
