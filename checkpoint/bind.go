package checkpoint

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomamba/gomamba/kernels"
)

// Binding asks Bind to load tensor Name into *Dst.
type Binding struct {
	// Name is the tensor's name after BindOptions' Prefix and Rename.
	Name string
	// Dst receives the loaded tensor.
	Dst **kernels.Tensor
	// Shape is the expected shape; -1 matches any size in that dimension.
	// A nil Shape accepts any shape (use it only when the model derives
	// its configuration from the tensor).
	Shape []int
}

// BindOptions adjust how checkpoint names map to bindings. A nil
// *BindOptions means: names must match exactly and every tensor must be
// bound.
type BindOptions struct {
	// Prefix is stripped from checkpoint names that start with it (for
	// example "module." from DataParallel or "backbone."); names without it
	// are kept as they are.
	Prefix string
	// Rename maps a checkpoint name (after Prefix) to a binding name;
	// returning "" drops the tensor as if it were ignored. Nil keeps names.
	Rename func(string) string
	// Ignore lists checkpoint tensors that may stay unbound: path.Match
	// patterns (where '*' also spans dots) or, when a pattern ends in '.',
	// name prefixes. They match the name after Prefix and Rename.
	Ignore []string
}

// RenameMap returns a Rename function that maps the keys of m to their
// values and keeps other names unchanged.
func RenameMap(m map[string]string) func(string) string {
	return func(s string) string {
		if r, ok := m[s]; ok {
			return r
		}
		return s
	}
}

// ShapeMismatch is one wrongly shaped tensor in a BindError.
type ShapeMismatch struct {
	Name string // binding name
	Want []int  // the binding's shape (-1 = any)
	Have []int  // the checkpoint's shape
}

// BindError reports every problem Bind found, all at once. Use errors.As
// to inspect it.
type BindError struct {
	// Path is the checkpoint's path.
	Path string
	// Missing are binding names with no tensor in the checkpoint.
	Missing []string
	// Unexpected are checkpoint names (as stored) that no binding uses and
	// no Ignore pattern covers.
	Unexpected []string
	// Mismatched are tensors whose shape differs from the binding's.
	Mismatched []ShapeMismatch
	// Duplicates are binding names that two checkpoint tensors map to.
	Duplicates []string
}

// Error summarises the problems, listing the first few names of each kind.
func (e *BindError) Error() string {
	var parts []string
	list := func(n int, noun string, items []string) {
		if n == 0 {
			return
		}
		const show = 4
		s := items
		more := ""
		if len(s) > show {
			s = s[:show]
			more = fmt.Sprintf(", ... %d more", len(items)-show)
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s%s)", n, noun, strings.Join(s, ", "), more))
	}
	list(len(e.Missing), "missing", e.Missing)
	list(len(e.Unexpected), "unexpected", e.Unexpected)
	mm := make([]string, len(e.Mismatched))
	for i, m := range e.Mismatched {
		mm[i] = fmt.Sprintf("%s: want %s, have %v", m.Name, shapeString(m.Want), m.Have)
	}
	noun := "shape mismatch"
	if len(mm) > 1 {
		noun = "shape mismatches"
	}
	list(len(mm), noun, mm)
	list(len(e.Duplicates), "duplicate", e.Duplicates)
	return fmt.Sprintf("checkpoint: %s: %s", filepath.Base(e.Path), strings.Join(parts, ", "))
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d == -1 {
			parts[i] = "*"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (o *BindOptions) ignored(name string) bool {
	for _, p := range o.Ignore {
		if strings.HasSuffix(p, ".") && strings.HasPrefix(name, p) {
			return true
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Bind loads every binding from src, strictly: it first checks names and
// shapes of all bindings without reading data and, if any tensor is
// missing, unexpected or wrongly shaped, returns one *BindError listing all
// of them and assigns nothing. Otherwise it reads every tensor (float32)
// and assigns all Dst pointers only when all reads succeeded.
func Bind(src Source, bindings []Binding, opts *BindOptions) error {
	if opts == nil {
		opts = &BindOptions{}
	}
	want := make(map[string]*Binding, len(bindings))
	for i := range bindings {
		b := &bindings[i]
		if b.Dst == nil {
			return fmt.Errorf("checkpoint: bind %s: binding %q has a nil Dst", src.Path(), b.Name)
		}
		if _, dup := want[b.Name]; dup {
			return fmt.Errorf("checkpoint: bind %s: binding %q listed twice", src.Path(), b.Name)
		}
		want[b.Name] = b
	}
	berr := &BindError{Path: src.Path()}
	stored := make(map[string]string, len(bindings)) // binding name → stored name
	for _, name := range src.Names() {
		n := name
		if opts.Prefix != "" {
			n = strings.TrimPrefix(n, opts.Prefix)
		}
		if opts.Rename != nil {
			n = opts.Rename(n)
		}
		if n == "" {
			continue
		}
		if _, ok := want[n]; !ok {
			if !opts.ignored(n) {
				berr.Unexpected = append(berr.Unexpected, name)
			}
			continue
		}
		if prev, dup := stored[n]; dup {
			berr.Duplicates = append(berr.Duplicates, fmt.Sprintf("%s ← %s, %s", n, prev, name))
			continue
		}
		stored[n] = name
	}
	for _, b := range bindings {
		name, ok := stored[b.Name]
		if !ok {
			berr.Missing = append(berr.Missing, b.Name)
			continue
		}
		info, _ := src.Info(name)
		if !shapeMatches(b.Shape, info.Shape) {
			berr.Mismatched = append(berr.Mismatched, ShapeMismatch{Name: b.Name, Want: slices.Clone(b.Shape), Have: info.Shape})
		}
	}
	if len(berr.Missing)+len(berr.Unexpected)+len(berr.Mismatched)+len(berr.Duplicates) > 0 {
		slices.Sort(berr.Missing)
		return berr
	}
	loaded := make([]*kernels.Tensor, len(bindings))
	for i, b := range bindings {
		t, err := src.Tensor(stored[b.Name])
		if err != nil {
			return err
		}
		if !shapeMatches(b.Shape, t.Shape()) { // a Source that lies in Info
			return fmt.Errorf("checkpoint: %s: tensor %s: shape %v, want %s", filepath.Base(src.Path()), b.Name, t.Shape(), shapeString(b.Shape))
		}
		loaded[i] = t
	}
	for i, b := range bindings {
		*b.Dst = loaded[i]
	}
	return nil
}

func shapeMatches(want, have []int) bool {
	if want == nil {
		return true
	}
	if len(want) != len(have) {
		return false
	}
	for i := range want {
		if want[i] != -1 && want[i] != have[i] {
			return false
		}
	}
	return true
}

var _ error = (*BindError)(nil)
