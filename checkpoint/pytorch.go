package checkpoint

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path"
	"strings"
	"sync"

	"github.com/gomamba/gomamba/kernels"
	"github.com/nlpodyssey/gopickle/types"
)

// maxPickle bounds data.pkl: it holds only the structure (names, shapes,
// storage keys), never tensor data; real checkpoints have a few MB at most.
const maxPickle = 256 << 20

// storage is one zip entry <root>/data/<key> of a torch.save archive.
type storage struct {
	key   string
	dtype string
	numel int
	zf    *zip.File
	raw   []byte // the stored (uncompressed) bytes inside the mapping, or nil

	mu       sync.Mutex
	released bool
}

// bytes returns the storage's numel elements. Stored entries are a slice of
// the mapping; deflated ones (torch never writes them, but re-zipped files
// exist) are inflated on each call, bounded by the declared size.
func (s *storage) bytes() ([]byte, error) {
	want := s.numel * dtypeSize(s.dtype)
	if s.raw != nil || want == 0 {
		return s.raw[:want], nil
	}
	s.mu.Lock()
	released := s.released
	s.mu.Unlock()
	if released {
		return nil, errors.New("file is closed")
	}
	rc, err := s.zf.Open()
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", s.key, err)
	}
	defer rc.Close()
	buf := make([]byte, want)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("storage %s: %w", s.key, err)
	}
	return buf, nil
}

func (s *storage) release() {
	s.mu.Lock()
	s.released = true
	s.raw = nil
	s.mu.Unlock()
}

// ptTensor is what _rebuild_tensor_v2 produces: a strided view of a storage.
type ptTensor struct {
	st      *storage
	offset  int
	shape   []int
	strides []int
}

// parsePyTorch reads a torch.save zip archive: <root>/data.pkl is unpickled
// through the allow-list (unpickle.go) and each persistent id names a
// storage <root>/data/<key>.
func (f *File) parsePyTorch(opts *Options) error {
	zr, err := zip.NewReader(bytes.NewReader(f.data), int64(len(f.data)))
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	var pkl *zip.File
	byName := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		byName[zf.Name] = zf
		dir, base := path.Split(zf.Name)
		if base == "data.pkl" && strings.Count(dir, "/") == 1 && pkl == nil {
			pkl = zf
		}
	}
	if pkl == nil {
		return errors.New("zip has no <root>/data.pkl: not a torch.save archive")
	}
	root := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := byName[root+"byteorder"]; ok {
		b, err := readSmall(f.data, bo, 16)
		if err != nil {
			return fmt.Errorf("%sbyteorder: %w", root, err)
		}
		if s := strings.TrimSpace(string(b)); s != "little" {
			return fmt.Errorf("byte order %q is not supported (only little-endian)", s)
		}
	}
	p, err := readSmall(f.data, pkl, maxPickle)
	if err != nil {
		return fmt.Errorf("%s: %w", pkl.Name, err)
	}
	ld := &loader{data: f.data, root: root, files: byName, storages: map[string]*storage{}}
	top, err := ld.unpickle(p)
	if err != nil {
		return fmt.Errorf("%s: %w", pkl.Name, err)
	}
	sd, err := selectStateDict(top, opts.Entry)
	if err != nil {
		return err
	}
	f.entries = make(map[string]*entry)
	for _, kv := range sd {
		name, ok := kv.key.(string)
		if !ok {
			continue
		}
		switch v := kv.value.(type) {
		case *ptTensor:
			e, err := v.entry()
			if err != nil {
				return fmt.Errorf("tensor %s: %w", name, err)
			}
			if _, dup := f.entries[name]; dup {
				return fmt.Errorf("duplicate tensor name %q", name)
			}
			f.entries[name] = e
		case *opaque:
			if strings.HasPrefix(v.module, "torch") {
				return fmt.Errorf("tensor %s: built by %s.%s, which is not supported", name, v.module, v.name)
			}
		case *opaqueObject:
			if strings.HasPrefix(v.class.module, "torch") {
				return fmt.Errorf("tensor %s: built by %s.%s, which is not supported", name, v.class.module, v.class.name)
			}
		}
	}
	if len(f.entries) == 0 {
		return errors.New("no tensors in the state dict")
	}
	return nil
}

// readSmall returns the contents of a zip entry of at most limit bytes.
func readSmall(data []byte, zf *zip.File, limit int) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("entry is %d bytes, limit %d", zf.UncompressedSize64, limit)
	}
	if raw, ok := storedBytes(data, zf); ok {
		return raw, nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("entry exceeds %d bytes", limit)
	}
	return b, nil
}

// storedBytes returns an uncompressed entry's bytes as a slice of the
// archive mapping.
func storedBytes(data []byte, zf *zip.File) ([]byte, bool) {
	if zf.Method != zip.Store || zf.CompressedSize64 != zf.UncompressedSize64 {
		return nil, false
	}
	off, err := zf.DataOffset()
	if err != nil || off < 0 || uint64(off) > uint64(len(data)) || zf.UncompressedSize64 > uint64(len(data))-uint64(off) {
		return nil, false
	}
	return data[off : off+int64(zf.UncompressedSize64)], true
}

// kv is one dict item in pickle order.
type kv struct{ key, value any }

// dictItems returns the items of a pickled dict or OrderedDict.
func dictItems(v any) ([]kv, bool) {
	switch d := v.(type) {
	case *types.Dict:
		out := make([]kv, 0, len(*d))
		for _, e := range *d {
			out = append(out, kv{e.Key, e.Value})
		}
		return out, true
	case *types.OrderedDict:
		out := make([]kv, 0, d.Len())
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			out = append(out, kv{e.Key, e.Value})
		}
		return out, true
	}
	return nil, false
}

func lookup(items []kv, key string) (any, bool) {
	var v any
	found := false
	for _, it := range items {
		if k, ok := it.key.(string); ok && k == key {
			v, found = it.value, true // last wins, as in a Python dict
		}
	}
	return v, found
}

// selectStateDict picks the state dict out of an unpickled checkpoint:
// entry if given, else "model", else "state_dict", else the top level.
func selectStateDict(top any, entryName string) ([]kv, error) {
	items, ok := dictItems(top)
	if !ok {
		return nil, fmt.Errorf("top-level object is %s, not a dict (whole-module pickles are not supported; save model.state_dict())", describe(top))
	}
	keys := []string{"model", "state_dict"}
	if entryName != "" {
		keys = []string{entryName}
	}
	for _, k := range keys {
		v, found := lookup(items, k)
		if !found {
			continue
		}
		sub, ok := dictItems(v)
		if !ok {
			if entryName != "" || !isTensorish(v) {
				return nil, fmt.Errorf("entry %q is %s, not a state dict", k, describe(v))
			}
			continue // a tensor literally named "model" in a bare state dict
		}
		return sub, nil
	}
	if entryName != "" {
		return nil, fmt.Errorf("no entry %q at the top level", entryName)
	}
	return items, nil
}

func isTensorish(v any) bool { _, ok := v.(*ptTensor); return ok }

// describe names the Go/Python kind of an unpickled value for errors.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *opaque:
		return "the global " + x.module + "." + x.name
	case *opaqueObject:
		return "a " + x.class.module + "." + x.class.name + " object"
	case *ptTensor:
		return "a tensor"
	case string:
		return "a str"
	case int, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case bool:
		return "a bool"
	case *types.List:
		return "a list"
	case *types.Tuple:
		return "a tuple"
	}
	return fmt.Sprintf("a %T", v)
}

// entry validates the view against its storage and returns the tensor entry.
func (t *ptTensor) entry() (*entry, error) {
	if len(t.shape) != len(t.strides) {
		return nil, fmt.Errorf("size %v and stride %v differ in rank", t.shape, t.strides)
	}
	numel := 1
	for _, d := range t.shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in size %v", t.shape)
		}
		if d != 0 && numel > kernels.MaxTensorElements/d {
			return nil, fmt.Errorf("size %v exceeds %d elements", t.shape, kernels.MaxTensorElements)
		}
		numel *= d
	}
	if t.offset < 0 {
		return nil, fmt.Errorf("negative storage offset %d", t.offset)
	}
	if numel > 0 {
		last := t.offset // index of the view's last element
		for i, d := range t.shape {
			s := t.strides[i]
			if s < 0 {
				return nil, fmt.Errorf("negative stride in %v", t.strides)
			}
			if s > 0 && d-1 > (t.st.numel-last)/s {
				return nil, fmt.Errorf("view (offset %d, size %v, stride %v) runs past its storage of %d elements", t.offset, t.shape, t.strides, t.st.numel)
			}
			last += (d - 1) * s
		}
		if last >= t.st.numel {
			return nil, fmt.Errorf("view (offset %d, size %v, stride %v) runs past its storage of %d elements", t.offset, t.shape, t.strides, t.st.numel)
		}
		// Bound memory by the file: a view may not have more elements
		// than its storage (stride-0 broadcasts would let a tiny file
		// demand gigabytes).
		if numel > t.st.numel {
			return nil, fmt.Errorf("view of %d elements is larger than its storage (%d elements)", numel, t.st.numel)
		}
	}
	e := &entry{dtype: t.st.dtype, shape: t.shape, numel: numel}
	if isContiguous(t.shape, t.strides) {
		if raw := t.st.raw; raw != nil {
			es := dtypeSize(t.st.dtype)
			e.raw = raw[t.offset*es : (t.offset+numel)*es]
			return e, nil
		}
	}
	e.st, e.offset, e.strides = t.st, t.offset, t.strides
	return e, nil
}

// isContiguous reports whether strides are the row-major strides of shape
// (dimensions of size 1 may have any stride).
func isContiguous(shape, strides []int) bool {
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}

// gather copies a (possibly strided) view out of its storage bytes into a
// contiguous row-major byte slice.
func gather(src []byte, e *entry) []byte {
	es := dtypeSize(e.dtype)
	if isContiguous(e.shape, e.strides) {
		return src[e.offset*es : (e.offset+e.numel)*es]
	}
	out := make([]byte, e.numel*es)
	if e.numel == 0 {
		return out
	}
	idx := make([]int, len(e.shape))
	pos := e.offset
	for i := 0; i < e.numel; i++ {
		copy(out[i*es:(i+1)*es], src[pos*es:(pos+1)*es])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			pos += e.strides[d]
			if idx[d] < e.shape[d] {
				break
			}
			pos -= idx[d] * e.strides[d]
			idx[d] = 0
		}
	}
	return out
}

// maxDeflateRatio is deflate's largest possible expansion (258-byte matches
// coded in 2 bits ≈ 1032:1); a storage claiming more is a lie.
const maxDeflateRatio = 1032

// openStorage resolves a persistent id ('storage', type, key, location, numel).
func (l *loader) openStorage(dtype, key string, numel int) (*storage, error) {
	if s, ok := l.storages[key]; ok {
		if s.dtype != dtype || s.numel != numel {
			return nil, fmt.Errorf("storage %s used as %s[%d] and %s[%d]", key, s.dtype, s.numel, dtype, numel)
		}
		return s, nil
	}
	name := l.root + "data/" + key
	zf, ok := l.files[name]
	if !ok {
		return nil, fmt.Errorf("storage %s: zip has no %s", key, name)
	}
	es := dtypeSize(dtype)
	if numel < 0 || numel > kernels.MaxTensorElements {
		return nil, fmt.Errorf("storage %s: bad element count %d", key, numel)
	}
	want := uint64(numel) * uint64(es)
	if zf.UncompressedSize64 != want {
		return nil, fmt.Errorf("storage %s: %d elements of %s need %d bytes, entry has %d", key, numel, dtype, want, zf.UncompressedSize64)
	}
	s := &storage{key: key, dtype: dtype, numel: numel, zf: zf}
	if raw, ok := storedBytes(l.data, zf); ok {
		s.raw = raw
	} else {
		if zf.Method != zip.Store && zf.Method != zip.Deflate {
			return nil, fmt.Errorf("storage %s: zip method %d not supported", key, zf.Method)
		}
		if zf.Method == zip.Deflate && want > zf.CompressedSize64*maxDeflateRatio+1024 {
			return nil, fmt.Errorf("storage %s: %d bytes cannot inflate from %d", key, want, zf.CompressedSize64)
		}
		if zf.Method == zip.Store {
			return nil, fmt.Errorf("storage %s: entry lies outside the file", key)
		}
	}
	l.storages[key] = s
	return s, nil
}
