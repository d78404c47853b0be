package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/gomamba/gomamba/kernels"
)

// Format names returned by File.Format.
const (
	FormatSafetensors = "safetensors"
	FormatPyTorch     = "pytorch"
)

// TensorInfo describes a stored tensor without reading its data.
type TensorInfo struct {
	// Shape is the tensor's dimensions (row-major).
	Shape []int
	// DType is the stored element type in safetensors spelling: "F32",
	// "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", ...
	DType string
}

// Options tune Open. A nil *Options means the defaults.
type Options struct {
	// Entry selects the top-level entry of a PyTorch checkpoint that holds
	// the state dict (for example "model_ema"). Empty means: "model" if
	// present, else "state_dict", else the top level itself. Ignored for
	// safetensors files.
	Entry string
}

// File is an open checkpoint. Its methods other than Close are safe for
// concurrent use; Close must not race with them.
type File struct {
	path    string
	format  string
	data    []byte // the file's mapping (or contents)
	mapped  bool
	names   []string
	entries map[string]*entry
	meta    map[string]string

	mu     sync.Mutex
	closed bool
}

// entry is one tensor: dtype and shape plus where its bytes are.
type entry struct {
	dtype string
	shape []int
	numel int
	// raw holds exactly numel elements (safetensors, or a contiguous
	// PyTorch view over a stored zip entry). Nil when st is set.
	raw []byte
	// PyTorch views: the storage, element offset and element strides.
	st      *storage
	offset  int
	strides []int
}

// Open opens a checkpoint file, sniffing its format from its first bytes
// (never its extension): safetensors (8-byte little-endian header length
// followed by '{') or a PyTorch zip archive written by torch.save ("PK\x03\x04").
// The file is memory-mapped; tensors are converted on demand by Tensor.
// For PyTorch files the state dict is the "model" entry if present, else
// "state_dict", else the top-level dict (see OpenWith to choose another).
func Open(path string) (*File, error) { return OpenWith(path, nil) }

// OpenWith is Open with options (nil means defaults).
func OpenWith(path string, opts *Options) (*File, error) {
	if opts == nil {
		opts = &Options{}
	}
	f, err := open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", path, err)
	}
	return f, nil
}

func open(path string, opts *Options) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer osf.Close()
	st, err := osf.Stat()
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("file too short (%d bytes) to be a checkpoint", size)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("file too large (%d bytes) for this platform", size)
	}
	var head [9]byte
	if _, err := io.ReadFull(osf, head[:]); err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && size == 8) {
		return nil, err
	}
	if _, err := osf.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	kind := sniff(head[:], size)
	switch kind {
	case FormatSafetensors, FormatPyTorch:
	case "pickle":
		return nil, errors.New("legacy (pre-1.6, non-zip) torch.save format is not supported; re-save with a current PyTorch")
	default:
		return nil, fmt.Errorf("unknown format (first bytes % x): want safetensors or a PyTorch zip checkpoint", head[:min(len(head), int(size))])
	}
	data, err := mapFile(osf, int(size))
	if err != nil {
		return nil, fmt.Errorf("map: %w", err)
	}
	f, err := fromBytes(path, data, opts)
	if err != nil {
		unmap(data)
		return nil, err
	}
	f.mapped = true
	return f, nil
}

// fromBytes parses a whole checkpoint held in data (a mapping or, in
// tests and fuzzers, a plain slice).
func fromBytes(path string, data []byte, opts *Options) (*File, error) {
	var head []byte
	if len(data) >= 9 {
		head = data[:9]
	} else {
		head = data
	}
	kind := sniff(head, int64(len(data)))
	if kind != FormatSafetensors && kind != FormatPyTorch {
		return nil, fmt.Errorf("unknown format")
	}
	f := &File{path: path, format: kind, data: data}
	var err error
	switch kind {
	case FormatSafetensors:
		err = f.parseSafetensors()
	case FormatPyTorch:
		err = f.parsePyTorch(opts)
	}
	if err != nil {
		return nil, err
	}
	f.names = make([]string, 0, len(f.entries))
	for n := range f.entries {
		f.names = append(f.names, n)
	}
	slices.Sort(f.names)
	return f, nil
}

// sniff names the format from the first bytes of a file of the given size.
func sniff(head []byte, size int64) string {
	if len(head) >= 4 && bytes.Equal(head[:4], []byte("PK\x03\x04")) {
		return FormatPyTorch
	}
	if len(head) >= 9 && head[8] == '{' {
		return FormatSafetensors // the header length is checked by the parser
	}
	if len(head) >= 2 && head[0] == 0x80 && head[1] <= 5 {
		return "pickle"
	}
	return ""
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Close releases the file's mapping. Tensors returned earlier stay valid
// (they are copies). Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	data := f.data
	f.data = nil
	for _, e := range f.entries {
		e.raw = nil
		if e.st != nil {
			e.st.release()
		}
	}
	if f.mapped {
		return unmap(data)
	}
	return nil
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Format returns "safetensors" or "pytorch".
func (f *File) Format() string { return f.format }

// Names returns the tensor names, sorted. The caller must not modify the
// slice.
func (f *File) Names() []string { return f.names }

// Metadata returns the string metadata of a safetensors file (its
// "__metadata__" header entry, e.g. {"format": "pt"}); nil for PyTorch
// files. The caller must not modify the map.
func (f *File) Metadata() map[string]string { return f.meta }

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.names) }

// Info returns a tensor's shape and stored dtype without reading its data.
func (f *File) Info(name string) (TensorInfo, bool) {
	e, ok := f.entries[name]
	if !ok {
		return TensorInfo{}, false
	}
	return TensorInfo{Shape: slices.Clone(e.shape), DType: e.dtype}, true
}

// Tensor reads a floating-point tensor (F32, F16, BF16 or F64) converted to
// a new float32 host tensor. Integer tensors are refused (see Int64).
func (f *File) Tensor(name string) (*kernels.Tensor, error) {
	e, src, err := f.read(name, true)
	if err != nil {
		return nil, err
	}
	out := make([]float32, e.numel)
	if err := toFloat32(out, src, e.dtype); err != nil {
		return nil, f.tensorErr(name, err)
	}
	t, err := kernels.FromSlice(out, e.shape...)
	if err != nil {
		return nil, f.tensorErr(name, err)
	}
	return t, nil
}

// Int64 reads an integer tensor (I64, I32, I16, I8, U8, U16, U32, U64 or
// BOOL) as int64 values with its shape. Float tensors are refused.
func (f *File) Int64(name string) ([]int64, []int, error) {
	e, src, err := f.read(name, false)
	if err != nil {
		return nil, nil, err
	}
	out := make([]int64, e.numel)
	if err := toInt64(out, src, e.dtype); err != nil {
		return nil, nil, f.tensorErr(name, err)
	}
	return out, slices.Clone(e.shape), nil
}

func (f *File) tensorErr(name string, err error) error {
	return fmt.Errorf("checkpoint: %s: tensor %s: %w", f.path, name, err)
}

// read returns the entry and its contiguous little-endian bytes.
func (f *File) read(name string, wantFloat bool) (*entry, []byte, error) {
	e, ok := f.entries[name]
	if !ok {
		return nil, nil, fmt.Errorf("checkpoint: %s: no tensor %q", f.path, name)
	}
	if wantFloat && !isFloat(e.dtype) {
		return nil, nil, f.tensorErr(name, fmt.Errorf("dtype %s is not a float type (use Int64)", e.dtype))
	}
	if !wantFloat && isFloat(e.dtype) {
		return nil, nil, f.tensorErr(name, fmt.Errorf("dtype %s is not an integer type (use Tensor)", e.dtype))
	}
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, nil, fmt.Errorf("checkpoint: %s: file is closed", f.path)
	}
	if e.st == nil {
		return e, e.raw, nil
	}
	src, err := e.st.bytes()
	if err != nil {
		return nil, nil, f.tensorErr(name, err)
	}
	return e, gather(src, e), nil
}
