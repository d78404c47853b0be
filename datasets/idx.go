package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"github.com/gomamba/gomamba/heads/labels"
)

// MaxIDXBytes bounds the payload of one IDX file (after gzip): 1 GiB.
const MaxIDXBytes = 1 << 30

// IDX is a decoded IDX array (the MNIST / Fashion-MNIST container) of
// unsigned bytes: Dims are the dimensions, Data the values in row-major order.
type IDX struct {
	Dims []int
	Data []uint8
}

// ReadIDX decodes an IDX file of unsigned bytes (type 0x08) from r,
// gunzipping it first when it starts with the gzip magic. The header is
// validated before allocating: magic 0x0000, type 0x08, 1–4 dimensions,
// each positive, product ≤ MaxIDXBytes; the payload must then be exactly that
// long (a short file or trailing bytes are errors). name is used in errors.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: gzip: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("datasets: %s: IDX header: %w", name, noEOF(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("datasets: %s: not an IDX file (magic % x)", name, hdr[:2])
	}
	if hdr[2] != 0x08 {
		return nil, fmt.Errorf("datasets: %s: IDX element type %#02x, only unsigned bytes (0x08) are supported", name, hdr[2])
	}
	nd := int(hdr[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("datasets: %s: IDX has %d dimensions, want 1–4", name, nd)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(br, dimBytes); err != nil {
		return nil, fmt.Errorf("datasets: %s: IDX dimensions: %w", name, noEOF(err))
	}
	dims := make([]int, nd)
	total := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(dimBytes[4*i:]))
		if d == 0 {
			return nil, fmt.Errorf("datasets: %s: IDX dimension %d is 0", name, i)
		}
		total *= d
		if total > MaxIDXBytes {
			return nil, fmt.Errorf("datasets: %s: IDX dimensions %v... exceed %d bytes", name, dims[:i+1], MaxIDXBytes)
		}
		dims[i] = int(d)
	}
	data := make([]byte, total)
	if n, err := io.ReadFull(br, data); err != nil {
		return nil, fmt.Errorf("datasets: %s: IDX payload: header %v needs %d bytes, file has %d: %w", name, dims, total, n, noEOF(err))
	}
	var one [1]byte
	if n, _ := br.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("datasets: %s: IDX has trailing bytes after the %v payload", name, dims)
	}
	return &IDX{Dims: dims, Data: data}, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadIDXFile is ReadIDX on a file; errors name the file.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return ReadIDX(f, filepath.Base(path))
}

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs the four gzipped IDX files.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// ImageSet is a labelled set of equally sized 8-bit grayscale images stored
// contiguously (image i is Pix[i*Height*Width : (i+1)*Height*Width]). It is
// read-only after loading and safe for concurrent reads.
type ImageSet struct {
	Pix           []uint8
	N             int
	Height, Width int
	Labels        []uint8
	Classes       []string
}

// Len returns the number of images.
func (s *ImageSet) Len() int { return s.N }

// Pixels returns image i's Height×Width bytes (shared, not copied).
func (s *ImageSet) Pixels(i int) []uint8 {
	n := s.Height * s.Width
	return s.Pix[i*n : (i+1)*n : (i+1)*n]
}

// Image returns image i as an *image.Gray sharing the set's memory.
func (s *ImageSet) Image(i int) *image.Gray {
	return &image.Gray{Pix: s.Pixels(i), Stride: s.Width, Rect: image.Rect(0, 0, s.Width, s.Height)}
}

// LoadFashionMNIST reads split "train" (60,000 images) or "test" (alias
// "t10k", 10,000) from dir (DefaultFashionMNISTDir when empty): the files
// {train,t10k}-{images-idx3,labels-idx1}-ubyte, gzipped (".gz", as Debian
// ships them) or not. Images are 28×28; labels are checked to be < 10 and as
// many as the images. Classes are labels.FashionMNIST().
func LoadFashionMNIST(dir, split string) (*ImageSet, error) {
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	prefix := ""
	switch split {
	case "train":
		prefix = "train"
	case "test", "t10k":
		prefix = "t10k"
	default:
		return nil, fmt.Errorf("datasets: Fashion-MNIST split %q, want \"train\" or \"test\"", split)
	}
	open := func(stem string) (*IDX, error) {
		p := filepath.Join(dir, stem)
		if _, err := os.Stat(p + ".gz"); err == nil {
			p += ".gz"
		}
		return ReadIDXFile(p)
	}
	imgs, err := open(prefix + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	labs, err := open(prefix + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	classes := labels.FashionMNIST()
	return newImageSet(imgs, labs, classes, prefix)
}

func newImageSet(imgs, labs *IDX, classes []string, name string) (*ImageSet, error) {
	if len(imgs.Dims) != 3 {
		return nil, fmt.Errorf("datasets: %s images: IDX dims %v, want (N, H, W)", name, imgs.Dims)
	}
	if len(labs.Dims) != 1 {
		return nil, fmt.Errorf("datasets: %s labels: IDX dims %v, want (N)", name, labs.Dims)
	}
	if labs.Dims[0] != imgs.Dims[0] {
		return nil, fmt.Errorf("datasets: %s: %d images but %d labels", name, imgs.Dims[0], labs.Dims[0])
	}
	for i, l := range labs.Data {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("datasets: %s labels: label %d at index %d, only %d classes", name, l, i, len(classes))
		}
	}
	return &ImageSet{Pix: imgs.Data, N: imgs.Dims[0], Height: imgs.Dims[1], Width: imgs.Dims[2], Labels: labs.Data, Classes: classes}, nil
}

// EncodeIDX writes data with the given dims as an IDX file of unsigned bytes
// (for tests and for exporting subsets).
func EncodeIDX(dims []int, data []uint8) ([]byte, error) {
	if len(dims) < 1 || len(dims) > 4 {
		return nil, fmt.Errorf("datasets: IDX needs 1–4 dimensions, have %d", len(dims))
	}
	n := 1
	for _, d := range dims {
		if d <= 0 || d > 1<<31-1 {
			return nil, fmt.Errorf("datasets: bad IDX dimension %d", d)
		}
		n *= d
	}
	if n != len(data) {
		return nil, fmt.Errorf("datasets: IDX dims %v need %d bytes, have %d", dims, n, len(data))
	}
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes(), nil
}
