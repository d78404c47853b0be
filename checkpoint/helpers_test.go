package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// pk assembles pickle opcodes by hand, so tests can express hostile and
// unusual streams exactly.
type pk struct{ bytes.Buffer }

func newPK() *pk { p := &pk{}; p.WriteString("\x80\x02"); return p }

func (p *pk) op(s string) *pk { p.WriteString(s); return p }

func (p *pk) global(mod, name string) *pk {
	p.WriteString("c" + mod + "\n" + name + "\n")
	return p
}

func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pk) int(v int) *pk {
	p.WriteByte('J')
	binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
	return p
}

func (p *pk) ints(vs ...int) *pk {
	p.WriteByte('(')
	for _, v := range vs {
		p.int(v)
	}
	p.WriteByte('t')
	return p
}

// tensor emits _rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict()).
func (p *pk) tensor(storageClass, key string, numel, offset int, size, stride []int) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.op("(") // args
	p.op("(").str("storage").global("torch", storageClass).str(key).str("cpu").int(numel).op("t").op("Q")
	p.int(offset).ints(size...).ints(stride...).op("\x89")
	p.global("collections", "OrderedDict").op(")R")
	p.op("tR")
	return p
}

// stateDict emits {name: tensor, ...} where each tensor is written by fn.
func (p *pk) dict(items ...func(*pk)) *pk {
	p.op("}(")
	for _, it := range items {
		it(p)
	}
	p.op("u")
	return p
}

func (p *pk) stop() []byte { p.WriteByte('.'); return p.Bytes() }

// f32 returns little-endian float32 bytes.
func f32(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// torchZip writes a torch.save-style archive: root/data.pkl, root/byteorder
// and root/data/<key> for each storage.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte, extra map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte, method uint16) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	add("archive/data.pkl", pkl, zip.Store)
	if _, ok := extra["archive/byteorder"]; !ok {
		add("archive/byteorder", []byte("little"), zip.Store)
	}
	for k, v := range extra {
		method := zip.Store
		if k[0] == '~' { // deflated
			k = k[1:]
			method = zip.Deflate
		}
		add(k, []byte(v), method)
	}
	for k, v := range storages {
		method := zip.Store
		if k[0] == '~' {
			k = k[1:]
			method = zip.Deflate
		}
		add("archive/data/"+k, v, method)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stTensor is one tensor for safetensorsFile.
type stTensor struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

// safetensorsFile writes a valid safetensors file.
func safetensorsFile(t testing.TB, ts ...stTensor) []byte {
	t.Helper()
	hdr := map[string]any{}
	var data []byte
	for _, x := range ts {
		hdr[x.name] = map[string]any{"dtype": x.dtype, "shape": x.shape, "data_offsets": []int{len(data), len(data) + len(x.data)}}
		data = append(data, x.data...)
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	return rawSafetensors(string(h), data)
}

// rawSafetensors frames an arbitrary header and data area.
func rawSafetensors(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
