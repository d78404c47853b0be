package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gomamba/gomamba/kernels"
	"github.com/nlpodyssey/safetensors"
)

// maxHeader bounds a safetensors JSON header (the format's own limit).
const maxHeader = 100_000_000

// parseSafetensors validates the header and indexes the tensors of a
// safetensors mapping.
//
// The header is checked twice. nlpodyssey/safetensors.ReadMetadata (used
// for parsing) checks the header length (≤ 100 MB, inside the file), known
// dtypes, that data offsets tile the data area from 0 without gaps or
// overlaps, that every byte length equals shape product × dtype size, and
// that the data ends with the file. It is lax where we are not: its
// json.Decoder stops at the first JSON value, so trailing garbage after the
// header is accepted; duplicate tensor names silently keep the last entry;
// dimensions are uint64, which must fit int and kernels.MaxTensorElements
// before we allocate; and its errors ("metadata incomplete buffer") do not
// name the tensor. Our own validateHeader runs first and closes those gaps.
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
	if err := validateHeader(header, uint64(len(buf))-8-n); err != nil {
		return fmt.Errorf("safetensors header: %w", err)
	}
	hn, meta, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return fmt.Errorf("safetensors header: %w", err)
	}
	data := buf[8+hn:]
	f.meta = meta.Metadata()
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
// trailing spaces allowed, as the format pads with them) with unique keys,
// and that its tensors, in offset order, tile a data area of dataLen bytes
// exactly, each holding shape product × dtype size bytes. Its messages name
// the offending tensor, which the library's do not.
func validateHeader(header []byte, dataLen uint64) error {
	if len(header) == 0 || header[0] != '{' {
		return errors.New("does not start with '{'")
	}
	if !json.Valid(header) {
		return errors.New("not a single valid JSON object")
	}
	// Walk the top-level keys with a token decoder: json.Unmarshal into a
	// map would drop duplicates silently.
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return err
	}
	type span struct {
		name   string
		lo, hi uint64
	}
	var spans []span
	seen := map[string]bool{}
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
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if key == "__metadata__" {
			continue
		}
		var ti struct {
			DType       string   `json:"dtype"`
			Shape       []int64  `json:"shape"`
			DataOffsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &ti); err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		size := dtypeSize(ti.DType)
		if size == 0 {
			return fmt.Errorf("tensor %q: unknown dtype %q", key, ti.DType)
		}
		if len(ti.DataOffsets) != 2 {
			return fmt.Errorf("tensor %q: data_offsets must have 2 entries", key)
		}
		numel := int64(1)
		for _, d := range ti.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q: negative dimension in shape %v", key, ti.Shape)
			}
			if d != 0 && numel > kernels.MaxTensorElements/d {
				return fmt.Errorf("tensor %q: shape %v exceeds %d elements", key, ti.Shape, int64(kernels.MaxTensorElements))
			}
			numel *= d
		}
		lo, hi := ti.DataOffsets[0], ti.DataOffsets[1]
		if lo > hi || hi > dataLen {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d-byte data area", key, lo, hi, dataLen)
		}
		if need := uint64(numel) * uint64(size); hi-lo != need {
			return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] hold %d", key, ti.Shape, ti.DType, need, lo, hi, hi-lo)
		}
		spans = append(spans, span{key, lo, hi})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.hi, b.hi)) })
	end := uint64(0)
	for _, s := range spans {
		if s.lo < end {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor", s.name, s.lo, s.hi)
		}
		if s.lo > end {
			return fmt.Errorf("tensor %q: gap of %d bytes before its data", s.name, s.lo-end)
		}
		end = s.hi
	}
	if end != dataLen {
		return fmt.Errorf("tensors cover %d bytes, the data area has %d", end, dataLen)
	}
	return nil
}
