package kernels

import (
	"fmt"
	"strings"
)

// Tensor is a dense, row-major (C-order, last index fastest), float32 array.
//
// A Tensor owns or shares a contiguous block of storage. On the CPU backend
// the storage is the Go slice Data; a device backend keeps its storage in Dev
// and leaves Data nil until the tensor is copied back to the host with
// Backend.ToHost. Views made with Reshape or Narrow0 share storage with their
// parent.
//
// Tensors are not safe for concurrent mutation; concurrent reads are fine.
type Tensor struct {
	shape []int
	// Data is the host storage, len(Data) == Len(). Nil for device tensors.
	Data []float32
	// Dev is the device storage of a tensor that lives on an accelerator
	// (nil on the CPU). Its concrete type belongs to the backend.
	Dev DeviceBuffer
}

// DeviceBuffer is the storage of a tensor resident on an accelerator. Only the
// backend that made it knows its concrete type.
type DeviceBuffer interface {
	// Free releases the device memory (it may return it to a cache).
	Free()
}

// New returns a zeroed host tensor of the given shape.
func New(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromSlice wraps data (no copy) as a host tensor of the given shape. It
// returns an error when len(data) does not equal the product of shape.
func FromSlice(data []float32, shape ...int) (*Tensor, error) {
	n, err := shapeLen(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("kernels: shape %v needs %d values, have %d", shape, n, len(data))
	}
	return &Tensor{shape: append([]int(nil), shape...), Data: data}, nil
}

// MustFromSlice is FromSlice for callers that have already checked the size;
// it panics on a mismatch.
func MustFromSlice(data []float32, shape ...int) *Tensor {
	t, err := FromSlice(data, shape...)
	if err != nil {
		panic(err)
	}
	return t
}

// Shape returns the dimensions (the caller must not modify the slice).
func (t *Tensor) Shape() []int { return t.shape }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns dimension i; negative i counts from the end (-1 is the last).
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// OnDevice reports whether the tensor's storage lives on an accelerator.
func (t *Tensor) OnDevice() bool { return t.Dev != nil }

// Reshape returns a view with a new shape and the same storage. One dimension
// may be -1 and is inferred. It panics if the element count differs.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := append([]int(nil), shape...)
	infer := -1
	known := 1
	for i, d := range s {
		if d == -1 {
			if infer >= 0 {
				panic("kernels: Reshape with more than one -1")
			}
			infer = i
			continue
		}
		known *= d
	}
	if infer >= 0 {
		if known == 0 || t.Len()%known != 0 {
			panic(fmt.Sprintf("kernels: cannot reshape %v to %v", t.shape, shape))
		}
		s[infer] = t.Len() / known
	}
	if checkShape(s) != t.Len() {
		panic(fmt.Sprintf("kernels: cannot reshape %v to %v", t.shape, shape))
	}
	return &Tensor{shape: s, Data: t.Data, Dev: t.Dev}
}

// Narrow0 returns a view of rows [start, start+n) of the first dimension.
// Of a device tensor it can view only a prefix (start 0: the same buffer
// under a shorter shape, e.g. a scratch tensor reused for a smaller batch);
// device backends provide Backend.CopyBox for other rows.
func (t *Tensor) Narrow0(start, n int) *Tensor {
	if start < 0 || n < 0 || start+n > t.shape[0] {
		panic(fmt.Sprintf("kernels: Narrow0(%d, %d) out of range for %v", start, n, t.shape))
	}
	s := append([]int{n}, t.shape[1:]...)
	if t.Data == nil {
		if start != 0 {
			panic(fmt.Sprintf("kernels: Narrow0(%d, %d) of a device tensor: only a prefix (start 0) is a view", start, n))
		}
		return &Tensor{shape: s, Dev: t.Dev}
	}
	row := t.Len() / max(t.shape[0], 1)
	return &Tensor{shape: s, Data: t.Data[start*row : (start+n)*row]}
}

// Clone returns a deep copy of a host tensor.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: append([]int(nil), t.shape...), Data: append([]float32(nil), t.Data...)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return EqualShape(a.shape, b.shape) }

// EqualShape reports whether two shapes are identical.
func EqualShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String describes the tensor's shape (not its values).
func (t *Tensor) String() string {
	var b strings.Builder
	b.WriteString("Tensor")
	fmt.Fprint(&b, t.shape)
	if t.Dev != nil {
		b.WriteString("@device")
	}
	return b.String()
}

// MaxTensorElements bounds the size of any single tensor (2^34 float32 values
// = 64 GiB). Readers of untrusted shapes check against it before allocating.
const MaxTensorElements = 1 << 34

func shapeLen(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("kernels: negative dimension in shape %v", shape)
		}
		if d != 0 && n > MaxTensorElements/d {
			return 0, fmt.Errorf("kernels: shape %v exceeds %d elements", shape, MaxTensorElements)
		}
		n *= d
	}
	return n, nil
}

func checkShape(shape []int) int {
	n, err := shapeLen(shape)
	if err != nil {
		panic(err)
	}
	return n
}

// NewDevice returns a tensor of the given shape whose storage is buf, for
// device backends (Data stays nil). It panics on a negative or oversized
// shape.
func NewDevice(buf DeviceBuffer, shape ...int) *Tensor {
	checkShape(shape)
	return &Tensor{shape: append([]int(nil), shape...), Dev: buf}
}
