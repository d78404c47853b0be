package checkpoint

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/gomamba/gomamba/kernels"
)

// Named pairs a tensor with the key it is saved under.
type Named struct {
	Name   string
	Tensor *kernels.Tensor
}

// SaveSafetensors writes host tensors as an F32 safetensors file, in the given
// order, with optional string metadata (stored under "__metadata__"). The file
// is written to a temporary name and renamed, so a crash never leaves a
// half-written checkpoint under path.
func SaveSafetensors(path string, tensors []Named, metadata map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" || seen[t.Name] {
			return fmt.Errorf("checkpoint: save %s: bad or duplicate tensor name %q", path, t.Name)
		}
		if t.Tensor == nil || t.Tensor.Data == nil {
			return fmt.Errorf("checkpoint: save %s: tensor %q is not on the host", path, t.Name)
		}
		seen[t.Name] = true
		n := int64(t.Tensor.Len()) * 4
		shape := t.Tensor.Shape()
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = map[string]any{"dtype": "F32", "shape": shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	for len(hj)%8 != 0 { // align the data section as the reference writer does
		hj = append(hj, ' ')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.safetensors")
	if err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
	w.Write(lenBuf[:])
	w.Write(hj)
	var b [4]byte
	for _, t := range tensors {
		for _, v := range t.Tensor.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	return nil
}
