package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomamba/gomamba/kernels"
)

// Header is the part of an open checkpoint that model loaders read to
// recognise a model and infer its configuration without reading tensor
// data. Every Source is a Header.
type Header interface {
	// Names returns the sorted tensor names.
	Names() []string
	// Info returns a tensor's shape and dtype without reading it.
	Info(name string) (TensorInfo, bool)
}

// Shape returns the shape of tensor name in h, or nil when h has none.
func Shape(h Header, name string) []int {
	if ti, ok := h.Info(name); ok {
		return ti.Shape
	}
	return nil
}

// Has reports whether h holds a tensor called name.
func Has(h Header, name string) bool {
	_, ok := h.Info(name)
	return ok
}

// Source is what Bind reads from: a *File or a *Set.
type Source interface {
	Header
	// Path names the file or folder (used in error messages).
	Path() string
	// Tensor reads a tensor converted to float32.
	Tensor(name string) (*kernels.Tensor, error)
}

var (
	_ Source = (*File)(nil)
	_ Source = (*Set)(nil)
)

// Set is a merged view of several checkpoint files (the shards of a Hugging
// Face folder). It has File's methods and the same concurrency rules.
type Set struct {
	dir   string
	files []*File
	owner map[string]*File
	names []string
}

// maxIndex bounds a *.index.json shard index.
const maxIndex = 64 << 20

// OpenDir opens the weights in a model folder, trying in order:
// model.safetensors.index.json (sharded safetensors), model.safetensors,
// pytorch_model.bin.index.json (sharded PyTorch), pytorch_model.bin, and
// finally a single *.pth, *.pt or *.bin file. Formats are still sniffed
// from content. A tensor name present in two shards is an error.
func OpenDir(dir string) (*Set, error) {
	s, err := openDir(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	return s, nil
}

func openDir(dir string) (*Set, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !st.IsDir() {
		return nil, errors.New("not a folder")
	}
	exists := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, name))
		return err == nil && fi.Mode().IsRegular()
	}
	var files []string
	switch {
	case exists("model.safetensors.index.json"):
		files, err = shardFiles(dir, "model.safetensors.index.json")
	case exists("model.safetensors"):
		files = []string{"model.safetensors"}
	case exists("pytorch_model.bin.index.json"):
		files, err = shardFiles(dir, "pytorch_model.bin.index.json")
	case exists("pytorch_model.bin"):
		files = []string{"pytorch_model.bin"}
	default:
		var cands []string
		for _, pat := range []string{"*.pth", "*.pt", "*.bin", "*.safetensors"} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, p := range m {
				if exists(filepath.Base(p)) {
					cands = append(cands, filepath.Base(p))
				}
			}
		}
		switch len(cands) {
		case 0:
			return nil, errors.New("no model.safetensors, pytorch_model.bin or *.pth weights found")
		case 1:
			files = cands
		default:
			return nil, fmt.Errorf("several candidate weight files (%v); open one with Open", cands)
		}
	}
	if err != nil {
		return nil, err
	}
	s := &Set{dir: dir, owner: map[string]*File{}}
	for _, name := range files {
		f, err := open(filepath.Join(dir, name), &Options{})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s.files = append(s.files, f)
		for _, n := range f.Names() {
			if prev, dup := s.owner[n]; dup {
				s.Close()
				return nil, fmt.Errorf("tensor %s is in both %s and %s", n, filepath.Base(prev.Path()), name)
			}
			s.owner[n] = f
			s.names = append(s.names, n)
		}
	}
	slices.Sort(s.names)
	return s, nil
}

// shardFiles reads a Hugging Face index ({"weight_map": {tensor: file}}) and
// returns its distinct shard files in first-seen order.
func shardFiles(dir, index string) ([]string, error) {
	p := filepath.Join(dir, index)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxIndex {
		return nil, fmt.Errorf("%s: %d bytes is too large for an index", index, fi.Size())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", index, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: empty weight_map", index)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range idx.WeightMap {
		if f == "" || f != filepath.Base(f) || f == "." || f == ".." {
			return nil, fmt.Errorf("%s: shard name %q is not a plain file name", index, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return files, nil
}

// Path returns the folder.
func (s *Set) Path() string { return s.dir }

// Files returns the open files of the set (shards in name order).
func (s *Set) Files() []*File { return s.files }

// Format returns the format of the set's files ("safetensors" or
// "pytorch"), or "mixed".
func (s *Set) Format() string {
	format := ""
	for _, f := range s.files {
		if format != "" && f.Format() != format {
			return "mixed"
		}
		format = f.Format()
	}
	return format
}

// Names returns all tensor names, sorted.
func (s *Set) Names() []string { return s.names }

// Info returns a tensor's shape and dtype.
func (s *Set) Info(name string) (TensorInfo, bool) {
	f, ok := s.owner[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// Tensor reads a float tensor from whichever shard holds it.
func (s *Set) Tensor(name string) (*kernels.Tensor, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint: %s: no tensor %q", s.dir, name)
	}
	return f.Tensor(name)
}

// Int64 reads an integer tensor from whichever shard holds it.
func (s *Set) Int64(name string) ([]int64, []int, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, nil, fmt.Errorf("checkpoint: %s: no tensor %q", s.dir, name)
	}
	return f.Int64(name)
}

// Close closes every file of the set.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
