// Package npy writes float32 arrays as NumPy .npy files (format version
// 1.0, little-endian '<f4', C order) and collections of them as .npz
// archives (numpy.savez layout: a zip of "<key>.npy" members, stored
// uncompressed). It reads them back too, for tests and round trips.
//
// Functions are safe for concurrent use on distinct writers.
package npy

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var magic = []byte("\x93NUMPY")

// header returns the padded v1.0 header for a float32 array of shape.
func header(shape []int) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	// magic(6) + version(2) + len(2) + dict + padding + '\n' ≡ 0 mod 64.
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	h := make([]byte, 0, total+pad)
	h = append(h, magic...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(dict)+pad+1))
	h = append(h, dict...)
	h = append(h, bytes.Repeat([]byte{' '}, pad)...)
	return append(h, '\n')
}

// Write writes data (len = product of shape) as one .npy stream.
func Write(w io.Writer, data []float32, shape []int) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative dimension in %v", shape)
		}
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v needs %d values, have %d", shape, n, len(data))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(header(shape)); err != nil {
		return err
	}
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes one array to path atomically (temporary file + rename).
func WriteFile(path string, data []float32, shape []int) error {
	return atomicWrite(path, func(w io.Writer) error { return Write(w, data, shape) })
}

// Array is one named array of an .npz archive.
type Array struct {
	Name  string
	Data  []float32
	Shape []int
}

// WriteNPZ writes arrays to path as an uncompressed .npz (numpy.load gives
// each under its Name), atomically.
func WriteNPZ(path string, arrays []Array) error {
	return atomicWrite(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		seen := map[string]bool{}
		for _, a := range arrays {
			if a.Name == "" || seen[a.Name] {
				return fmt.Errorf("npy: empty or duplicate array name %q", a.Name)
			}
			seen[a.Name] = true
			f, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store})
			if err != nil {
				return err
			}
			if err := Write(f, a.Data, a.Shape); err != nil {
				return fmt.Errorf("npy: %s: %w", a.Name, err)
			}
		}
		return zw.Close()
	})
}

func atomicWrite(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if err := fill(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("npy: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("npy: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

var headerRE = regexp.MustCompile(`^\{'descr': '<f4', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \}\s*$`)

// maxElements bounds what Read allocates (2^31 float32 values).
const maxElements = 1 << 31

// Read reads one .npy stream written as '<f4' C-order (the only layout this
// package writes); anything else is refused with an error.
func Read(r io.Reader) ([]float32, []int, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, nil, fmt.Errorf("npy: header: %w", err)
	}
	if !bytes.Equal(pre[:6], magic) || pre[6] != 1 {
		return nil, nil, errors.New("npy: not a version 1 .npy stream")
	}
	hl := int(binary.LittleEndian.Uint16(pre[8:]))
	h := make([]byte, hl)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, nil, fmt.Errorf("npy: header: %w", err)
	}
	m := headerRE.FindSubmatch(h)
	if m == nil {
		return nil, nil, fmt.Errorf("npy: unsupported header %q", h)
	}
	var shape []int
	n := 1
	for _, f := range strings.Split(string(m[1]), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 || (d > 0 && n > maxElements/d) {
			return nil, nil, fmt.Errorf("npy: bad shape %q", m[1])
		}
		n *= d
		shape = append(shape, d)
	}
	raw := make([]byte, 0, min(n*4, 1<<20))
	buf := bytes.NewBuffer(raw)
	if k, err := io.CopyN(buf, r, int64(n)*4); err != nil {
		return nil, nil, fmt.Errorf("npy: data: have %d of %d bytes: %w", k, n*4, err)
	}
	b := buf.Bytes()
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, shape, nil
}
