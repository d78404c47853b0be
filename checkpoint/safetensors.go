package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gomamba/gomamba/kernels"
	"github.com/nlpodyssey/safetensors"
)

// maxHeader bounds a safetensors JSON header (the format's own limit).
const maxHeader = 100_000_000

// parseSafetensors validates the header and indexes the tensors of a
// safetensors mapping.
//
// The header is checked twice. nlpodyssey/safetensors.ReadMetadata checks the
// header length (≤ 100 MB, inside the file), known dtypes, that data offsets
// tile the data area from 0 without gaps or overlaps, that every tensor's
// byte length equals its shape product × dtype size (with overflow checks)
// and that the data area ends exactly at the end of the file. It is lax
// where we are not: its json.Decoder stops at the first JSON value, so
// trailing garbage after the header object is accepted; duplicate tensor
// names silently keep the last entry; and dimensions are uint64, which we
// must fit into int and under kernels.MaxTensorElements before allocating.
// validateHeader below closes those gaps.
func (f *File) parseSafetensors() error {
	buf := f.data
	n := binary.LittleEndian.Uint64(buf[:8])
	if n > maxHeader {
		return fmt.Errorf("safetensors header length %d exceeds the %d-byte limit", n, maxHeader)
	}
	if n > uint64(len(buf)-8) {
		return fmt.Errorf("safetensors header length %d exceeds the file (%d bytes)", n, len(buf))
	}
	header := buf[8 : 8+n]
	if err := validateHeader(header); err != nil {
		return fmt.Errorf("safetensors header: %w", err)
	}
	hn, meta, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return fmt.Errorf("safetensors header: %w", err)
	}
	data := buf[8+hn:]
	infos := meta.Tensors()
	f.entries = make(map[string]*entry, len(infos))
	for name, info := range infos {
		if name == "" {
			return errors.New("safetensors header: empty tensor name")
		}
		shape := make([]int, len(info.Shape))
		numel := 1
		for i, d := range info.Shape {
			if d > kernels.MaxTensorElements {
				return fmt.Errorf("tensor %s: dimension %d too large in shape %v", name, d, info.Shape)
			}
			shape[i] = int(d)
			if d != 0 && numel > kernels.MaxTensorElements/int(d) {
				return fmt.Errorf("tensor %s: shape %v exceeds %d elements", name, info.Shape, kernels.MaxTensorElements)
			}
			numel *= int(d)
		}
		dt := info.DType.String()
		size := dtypeSize(dt)
		lo, hi := info.DataOffsets[0], info.DataOffsets[1]
		// ReadMetadata already guarantees these; re-check so that no
		// slice expression below can panic whatever the library does.
		if size == 0 || lo > hi || hi > uint64(len(data)) || hi-lo != uint64(numel*size) {
			return fmt.Errorf("tensor %s: data offsets [%d, %d] do not hold shape %v of %s", name, lo, hi, shape, dt)
		}
		f.entries[name] = &entry{dtype: dt, shape: shape, numel: numel, raw: data[lo:hi]}
	}
	return nil
}

// validateHeader checks that header is exactly one JSON object (only
// trailing spaces allowed, as the format pads with them) whose keys are
// unique and whose tensor entries have only dtype, shape and data_offsets.
func validateHeader(header []byte) error {
	if len(header) == 0 || header[0] != '{' {
		return errors.New("does not start with '{'")
	}
	if !json.Valid(header) {
		return errors.New("not a single valid JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return err
	}
	// Count keys with a token walk: json.Unmarshal into a map drops
	// duplicates silently.
	dec = json.NewDecoder(bytes.NewReader(header))
	if _, err := dec.Token(); err != nil { // '{'
		return err
	}
	seen := make(map[string]bool, len(top))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
