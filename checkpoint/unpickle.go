package checkpoint

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// Unpickling untrusted data.pkl safely.
//
// Python's pickle is a small stack machine whose GLOBAL and REDUCE opcodes
// import and call arbitrary functions. We run gopickle's machine, which
// executes nothing by itself, with three guards:
//
//  1. scanPickle walks the opcode stream first and rejects unknown opcodes,
//     extension and out-of-band buffer opcodes, and any length argument that
//     points past the end of the data. gopickle allocates a length before
//     reading it, so without this a 20-byte file could request exabytes.
//  2. FindClass is an allow-list: the torch rebuild functions, the typed
//     storage classes and torch.Tensor/Parameter map to Go values of ours;
//     collections.OrderedDict and plain containers are gopickle's own.
//     Globals from modules that only an attack would reference (os, sys,
//     subprocess, builtins.eval, ...) fail the load with an error naming
//     them. Every other global (argparse.Namespace in an 'args' entry,
//     numpy scalars in 'optimizer', ...) becomes an inert placeholder:
//     calling or instantiating it yields an inert object that records
//     nothing and can run nothing, so entries we do not need still parse.
//     A placeholder found where a tensor should be is an error later.
//  3. gopickle panics on some malformed streams (odd SETITEMS, unhashable
//     OrderedDict keys); the load recovers and reports an error.
type loader struct {
	data     []byte
	root     string
	files    map[string]*zip.File
	storages map[string]*storage
}

func (l *loader) unpickle(p []byte) (result any, err error) {
	if err := scanPickle(p); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	u := pickle.NewUnpickler(&sliceReader{b: p})
	u.FindClass = findClass
	u.PersistentLoad = l.persistentLoad
	v, err := u.Load()
	if err != nil {
		// gopickle's messages quote offending values with %#v; keep them
		// short whatever the pickle held.
		msg := err.Error()
		if len(msg) > maxErrLen {
			msg = msg[:maxErrLen] + "..."
		}
		return nil, errors.New(msg)
	}
	return v, nil
}

const maxErrLen = 200

// GoString methods keep gopickle's %#v error messages short (a storage
// would otherwise print its whole mapping).
func (s *storage) GoString() string      { return "storage(" + s.key + ", " + s.dtype + ")" }
func (t *ptTensor) GoString() string     { return fmt.Sprintf("tensor%v", t.shape) }
func (o *opaque) GoString() string       { return o.module + "." + o.name }
func (o *opaqueObject) GoString() string { return o.class.module + "." + o.class.name + "()" }
func (r *rebuildFunc) GoString() string  { return "torch._utils." + r.name }
func (s *storageType) GoString() string  { return "torch." + s.dtype + "Storage" }
func (c *tensorClass) GoString() string  { return c.name }

// sliceReader is a bytes.Reader without the io.Seeker and io.WriterTo that
// gopickle does not need.
type sliceReader struct {
	b []byte
	i int
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, errEOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

func (r *sliceReader) ReadByte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errEOF
	}
	r.i++
	return r.b[r.i-1], nil
}

var errEOF = errors.New("unexpected end of pickle data")

// Pickle opcodes whose argument scanPickle must measure.
const (
	opProto       = 0x80
	opFrame       = 0x95
	opStop        = '.'
	opExt1        = 0x82
	opExt2        = 0x83
	opExt4        = 0x84
	opNextBuffer  = 0x97
	opReadOnlyBuf = 0x98
	highestProto  = 5
)

// argKind: >0 fixed bytes; the negative codes below for variable arguments.
const (
	argNone    = 0
	argLine    = -1 // one '\n'-terminated line
	argTwoLine = -2 // two lines (GLOBAL, INST)
	argLen1    = -3 // 1-byte length + data
	argLen4    = -4 // 4-byte signed length + data
	argLen8    = -5 // 8-byte length + data
)

var opArgs = func() [256]int {
	var a [256]int
	for i := range a {
		a[i] = -100 // unknown
	}
	set := func(ops string, k int) {
		for i := 0; i < len(ops); i++ {
			a[ops[i]] = k
		}
	}
	set("N\x88\x89]ael)t\x85\x86\x87}dsu\x8f\x90\x9102(1\x94\x93RbQo\x81\x92.", argNone)
	set("KhqC", 1) // uint1 args (C handled below as len1)
	set("M", 2)    // uint2
	set("Jjr", 4)  // int4/uint4
	set("G", 8)    // float8
	set("\x80", 1) // PROTO
	set("\x95", 8) // FRAME
	set("ILSVFgpP", argLine)
	set("ci", argTwoLine)
	set("\x8a\x8cUC", argLen1)
	set("\x8bTBX", argLen4)
	set("\x8e\x8d\x96", argLen8)
	return a
}()

// scanPickle validates the opcode stream of p without building anything.
func scanPickle(p []byte) error {
	i := 0
	for i < len(p) {
		op := p[i]
		pos := i
		i++
		switch op {
		case opExt1, opExt2, opExt4:
			return fmt.Errorf("pickle opcode EXT at offset %d is not allowed", pos)
		case opNextBuffer, opReadOnlyBuf:
			return fmt.Errorf("out-of-band pickle buffers (offset %d) are not allowed", pos)
		case opProto:
			if i >= len(p) {
				return fmt.Errorf("truncated pickle at offset %d", pos)
			}
			if p[i] > highestProto {
				return fmt.Errorf("pickle protocol %d is not supported", p[i])
			}
		}
		k := opArgs[op]
		rest := len(p) - i
		switch {
		case k == -100:
			return fmt.Errorf("unknown pickle opcode 0x%02x at offset %d", op, pos)
		case k > 0:
			if rest < k {
				return fmt.Errorf("truncated pickle at offset %d", pos)
			}
			if op == opFrame {
				n := binary.LittleEndian.Uint64(p[i:])
				if n > uint64(rest-k) {
					return fmt.Errorf("pickle frame of %d bytes at offset %d runs past the end", n, pos)
				}
			}
			i += k
		case k == argLine || k == argTwoLine:
			lines := 1
			if k == argTwoLine {
				lines = 2
			}
			for ; lines > 0; lines-- {
				j := indexByte(p[i:], '\n')
				if j < 0 {
					return fmt.Errorf("truncated pickle at offset %d", pos)
				}
				i += j + 1
			}
		case k == argLen1 || k == argLen4 || k == argLen8:
			var n uint64
			var w int
			switch k {
			case argLen1:
				w = 1
			case argLen4:
				w = 4
			default:
				w = 8
			}
			if rest < w {
				return fmt.Errorf("truncated pickle at offset %d", pos)
			}
			switch w {
			case 1:
				n = uint64(p[i])
			case 4:
				v := int32(binary.LittleEndian.Uint32(p[i:]))
				if v < 0 {
					return fmt.Errorf("negative length %d at offset %d", v, pos)
				}
				n = uint64(v)
			default:
				n = binary.LittleEndian.Uint64(p[i:])
			}
			i += w
			if n > uint64(len(p)-i) {
				return fmt.Errorf("pickle string of %d bytes at offset %d runs past the end", n, pos)
			}
			i += int(n)
		}
		if op == opStop {
			return nil
		}
	}
	return errors.New("truncated pickle: no STOP opcode")
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// denied lists modules (or module.name) that only a malicious checkpoint
// references; meeting one fails the load outright.
var deniedModules = []string{
	"os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "pty",
	"runpy", "importlib", "ctypes", "code", "codeop", "webbrowser", "pickle",
	"_pickle", "marshal", "multiprocessing", "signal", "commands", "popen2",
	"platform", "pdb", "bdb", "timeit", "tempfile", "io", "_io", "pathlib",
	"asyncio", "http", "urllib", "ftplib", "smtplib", "telnetlib",
}

var deniedNames = map[string]bool{
	"builtins.eval": true, "builtins.exec": true, "builtins.compile": true,
	"builtins.open": true, "builtins.getattr": true, "builtins.setattr": true,
	"builtins.delattr": true, "builtins.__import__": true, "builtins.input": true,
	"builtins.globals": true, "builtins.locals": true, "builtins.vars": true,
	"builtins.breakpoint": true, "builtins.exit": true, "builtins.quit": true,
	"builtins.apply": true, "builtins.execfile": true, "builtins.file": true,
	"builtins.help": true, "operator.attrgetter": true, "operator.methodcaller": true,
	"operator.itemgetter": true, "functools.partial": true, "functools.reduce": true,
}

func denied(module, name string) bool {
	root, _, _ := strings.Cut(module, ".")
	for _, m := range deniedModules {
		if root == m {
			return true
		}
	}
	if module == "__builtin__" {
		module = "builtins"
	}
	return deniedNames[module+"."+name]
}

// storageTypes maps torch's typed storage classes to dtypes.
var storageTypes = map[string]string{
	"FloatStorage":    dtF32,
	"DoubleStorage":   dtF64,
	"HalfStorage":     dtF16,
	"BFloat16Storage": dtBF16,
	"LongStorage":     dtI64,
	"IntStorage":      dtI32,
	"ShortStorage":    dtI16,
	"CharStorage":     dtI8,
	"ByteStorage":     dtU8,
	"BoolStorage":     dtBool,
}

// storageType is an allow-listed torch.<T>Storage class (only used as a
// tag inside persistent ids; it cannot be called).
type storageType struct{ dtype string }

// tensorClass is torch.Tensor or torch.nn.Parameter (an argument of
// _rebuild_from_type_v2; not callable).
type tensorClass struct{ name string }

// rebuildFunc is an allow-listed torch rebuild function.
type rebuildFunc struct{ name string }

func findClass(module, name string) (any, error) {
	if denied(module, name) {
		return nil, fmt.Errorf("refusing to load: the pickle references %s.%s, which is not allow-listed (a checkpoint never needs it)", module, name)
	}
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
		"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
		"torch._tensor._rebuild_from_type_v2":
		return &rebuildFunc{name: name}, nil
	case "torch.Tensor", "torch.nn.parameter.Parameter", "torch.nn.Parameter":
		return &tensorClass{name: module + "." + name}, nil
	case "collections.OrderedDict":
		return &types.OrderedDictClass{}, nil
	}
	if module == "torch" {
		if dt, ok := storageTypes[name]; ok {
			return &storageType{dtype: dt}, nil
		}
	}
	return &opaque{module: module, name: name}, nil
}

// opaque is the inert stand-in for a global that is not allow-listed.
type opaque struct{ module, name string }

// Call returns an inert object instead of calling anything (REDUCE).
func (o *opaque) Call(...any) (any, error) { return &opaqueObject{class: o}, nil }

// PyNew returns an inert object instead of constructing one (NEWOBJ, INST).
func (o *opaque) PyNew(...any) (any, error) { return &opaqueObject{class: o}, nil }

// opaqueObject is an inert instance: it accepts and discards state, items
// and attributes so that the pickle around it keeps parsing.
type opaqueObject struct{ class *opaque }

func (*opaqueObject) PySetState(any) error        { return nil }
func (*opaqueObject) PyDictSet(any, any) error    { return nil }
func (*opaqueObject) PySetAttr(string, any) error { return nil }
func (*opaqueObject) Set(any, any)                {}
func (*opaqueObject) Append(any)                  {}
func (*opaqueObject) Add(any)                     {}
func (o *opaqueObject) Call(...any) (any, error)  { return &opaqueObject{class: o.class}, nil }
func (o *opaqueObject) PyNew(...any) (any, error) { return &opaqueObject{class: o.class}, nil }

var (
	_ types.Callable        = (*opaque)(nil)
	_ types.PyNewable       = (*opaque)(nil)
	_ types.PyStateSettable = (*opaqueObject)(nil)
	_ types.DictSetter      = (*opaqueObject)(nil)
	_ types.ListAppender    = (*opaqueObject)(nil)
	_ types.Callable        = (*rebuildFunc)(nil)
)

// persistentLoad resolves ('storage', storage_type, key, location, numel).
func (l *loader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id is %s, not a 5-tuple", describe(pid))
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s is not supported", describe(t.Get(0)))
	}
	key, ok := t.Get(2).(string)
	if !ok {
		return nil, errors.New("persistent id: storage key is not a str")
	}
	if strings.ContainsAny(key, "/\\") || key == "" || key == "." || key == ".." {
		return nil, fmt.Errorf("persistent id: bad storage key %q", key)
	}
	numel, ok := asInt(t.Get(4))
	if !ok {
		return nil, errors.New("persistent id: element count is not an int")
	}
	var dtype string
	switch st := t.Get(1).(type) {
	case *storageType:
		dtype = st.dtype
	case *opaque:
		return nil, fmt.Errorf("storage %s: type %s.%s is not supported", key, st.module, st.name)
	default:
		return nil, fmt.Errorf("storage %s: type is %s", key, describe(st))
	}
	return l.openStorage(dtype, key, numel)
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *big.Int:
		if x.IsInt64() && int64(int(x.Int64())) == x.Int64() {
			return int(x.Int64()), true
		}
	}
	return 0, false
}

func asInts(v any) ([]int, bool) {
	var items []any
	switch x := v.(type) {
	case *types.Tuple:
		items = *x
	case *types.List:
		items = *x
	default:
		return nil, false
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := asInt(it)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// Call runs an allow-listed torch rebuild function on pickled arguments.
func (r *rebuildFunc) Call(args ...any) (any, error) {
	switch r.name {
	case "_rebuild_tensor_v2", "_rebuild_tensor":
		// (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
		if len(args) < 4 || len(args) > 7 {
			return nil, fmt.Errorf("%s: %d arguments", r.name, len(args))
		}
		st, ok := args[0].(*storage)
		if !ok {
			return nil, fmt.Errorf("%s: storage argument is %s", r.name, describe(args[0]))
		}
		off, ok1 := asInt(args[1])
		size, ok2 := asInts(args[2])
		stride, ok3 := asInts(args[3])
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("%s: offset, size and stride must be ints", r.name)
		}
		if len(size) > 64 {
			return nil, fmt.Errorf("%s: rank %d too large", r.name, len(size))
		}
		return &ptTensor{st: st, offset: off, shape: size, strides: stride}, nil
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		// (data, requires_grad, backward_hooks[, state])
		if len(args) < 1 {
			return nil, fmt.Errorf("%s: no arguments", r.name)
		}
		t, ok := args[0].(*ptTensor)
		if !ok {
			return nil, fmt.Errorf("%s: data is %s", r.name, describe(args[0]))
		}
		return t, nil
	case "_rebuild_from_type_v2":
		// (func, type, args, state): only plain tensors/parameters.
		if len(args) != 4 {
			return nil, fmt.Errorf("%s: %d arguments", r.name, len(args))
		}
		fn, ok := args[0].(*rebuildFunc)
		if !ok || fn.name == "_rebuild_from_type_v2" {
			return nil, fmt.Errorf("%s: function is %s", r.name, describe(args[0]))
		}
		if _, ok := args[1].(*tensorClass); !ok {
			return nil, fmt.Errorf("%s: tensor subclass %s is not supported", r.name, describe(args[1]))
		}
		inner, ok := args[2].(*types.Tuple)
		if !ok {
			return nil, fmt.Errorf("%s: arguments are %s", r.name, describe(args[2]))
		}
		return fn.Call(*inner...)
	}
	return nil, fmt.Errorf("rebuild function %s is not supported", r.name)
}
