package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Default limits of Options.
const (
	// DefaultMaxPixels is 16384×16384 = 268,435,456 pixels (768 MiB as RGB).
	DefaultMaxPixels = 16384 * 16384
	// DefaultMaxFileBytes bounds how much of one file is read (512 MiB).
	DefaultMaxFileBytes = 512 << 20
)

// Format names a sniffed image container.
type Format string

// The formats Decode understands, sniffed by their magic bytes.
const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatGIF  Format = "gif"
	FormatBMP  Format = "bmp"
	FormatTIFF Format = "tiff"
	FormatWebP Format = "webp"
)

// ErrUnknownFormat is wrapped by Decode when no magic number matches.
var ErrUnknownFormat = errors.New("unknown image format")

// LimitError reports an image whose header declares more pixels than allowed;
// it is returned before any pixel memory is allocated.
type LimitError struct {
	Name          string
	Width, Height int
	Limit         int64
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("datasets: %s: %d×%d pixels exceeds the limit of %d pixels (Options.MaxPixels)",
		e.Name, e.Width, e.Height, e.Limit)
}

// Options configures decoding. A nil *Options means the defaults; an Options
// is read-only during decoding and safe to share between goroutines.
type Options struct {
	// MaxPixels bounds width×height as declared by the file header; 0 means
	// DefaultMaxPixels.
	MaxPixels int64
	// MaxFileBytes bounds the bytes read from the reader; 0 means
	// DefaultMaxFileBytes.
	MaxFileBytes int64
	// IgnoreOrientation keeps the stored pixel order instead of applying the
	// EXIF Orientation tag. Pillow's Image.open does not apply it either (only
	// ImageOps.exif_transpose does), so set this for bit-parity with a
	// timm/torchvision pipeline on rotated camera JPEGs; the default (false)
	// gives the upright image a person sees.
	IgnoreOrientation bool
}

func (o *Options) maxPixels() int64 {
	if o == nil || o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o *Options) maxFileBytes() int64 {
	if o == nil || o.MaxFileBytes <= 0 {
		return DefaultMaxFileBytes
	}
	return o.MaxFileBytes
}

// Sniff returns the format whose magic bytes start b, or "" if none does.
func Sniff(b []byte) Format {
	switch {
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return FormatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return FormatGIF
	case bytes.HasPrefix(b, []byte("BM")):
		return FormatBMP
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return FormatTIFF
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return FormatWebP
	}
	return ""
}

// DecodeFile decodes an image file with the default Options; see
// Options.Decode.
func DecodeFile(path string) (image.Image, error) { return (*Options)(nil).DecodeFile(path) }

// Decode decodes an image from r with the default Options; name is used in
// error messages. See Options.Decode.
func Decode(r io.Reader, name string) (image.Image, error) { return (*Options)(nil).Decode(r, name) }

// DecodeFile opens path and decodes it (see Decode). Errors name the file.
func (o *Options) DecodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return o.Decode(f, filepath.Base(path))
}

// Decode reads one JPEG, PNG, GIF (first frame), BMP, TIFF or WebP image
// (format sniffed from its magic bytes, never from name) and returns it as
// 8-bit RGB, an *RGB, converted by Pillow's Image.convert("RGB") rules (see
// ToRGB), with the EXIF orientation applied unless o.IgnoreOrientation.
//
// The header's dimensions are checked against o.MaxPixels before any pixel
// memory is allocated (a *LimitError). Corrupt or truncated files give an
// error naming name; a panic inside a codec is recovered and returned as an
// error.
func (o *Options) Decode(r io.Reader, name string) (img image.Image, err error) {
	limit := o.maxFileBytes()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: read: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("datasets: %s: file larger than %d bytes (Options.MaxFileBytes)", name, limit)
	}
	return o.decodeBytes(data, name)
}

// Config is what an image header says, read without decoding pixels.
type Config struct {
	Format Format
	// Width and Height are the stored dimensions (before orientation).
	Width, Height int
	// Orientation is the EXIF orientation, 1 (none) to 8.
	Orientation int
}

// Upright returns the displayed size: Width and Height swapped for EXIF
// orientations 5–8.
func (c Config) Upright() (w, h int) {
	if c.Orientation >= 5 {
		return c.Height, c.Width
	}
	return c.Width, c.Height
}

// DecodeConfigFile reads an image file's format, dimensions and EXIF
// orientation without decoding its pixels (the dimensions are not checked
// against any limit).
func DecodeConfigFile(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	name := filepath.Base(path)
	data, err := io.ReadAll(io.LimitReader(f, DefaultMaxFileBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("datasets: %s: read: %w", name, err)
	}
	if len(data) > DefaultMaxFileBytes {
		return Config{}, fmt.Errorf("datasets: %s: file larger than %d bytes", name, DefaultMaxFileBytes)
	}
	format, cfg, err := decodeConfig(data, name)
	if err != nil {
		return Config{}, err
	}
	orient, oerr := Orientation(data)
	if oerr != nil {
		orient = 1
	}
	return Config{Format: format, Width: cfg.Width, Height: cfg.Height, Orientation: orient}, nil
}

func decodeConfig(data []byte, name string) (format Format, cfg image.Config, err error) {
	format = Sniff(data)
	if format == "" {
		n := min(len(data), 8)
		return "", cfg, fmt.Errorf("datasets: %s: %w (first bytes % x)", name, ErrUnknownFormat, data[:n])
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("datasets: %s: corrupt %s header (decoder panicked: %v)", name, format, r)
		}
	}()
	switch format {
	case FormatJPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case FormatPNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case FormatGIF:
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
	case FormatBMP:
		cfg, err = bmp.DecodeConfig(bytes.NewReader(data))
	case FormatTIFF:
		cfg, err = tiff.DecodeConfig(bytes.NewReader(data))
	case FormatWebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return "", cfg, fmt.Errorf("datasets: %s: bad %s header: %w", name, format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", cfg, fmt.Errorf("datasets: %s: %s header declares an empty %d×%d image", name, format, cfg.Width, cfg.Height)
	}
	return format, cfg, nil
}

func (o *Options) decodeBytes(data []byte, name string) (img image.Image, err error) {
	format, cfg, err := decodeConfig(data, name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("datasets: %s: corrupt %s data (decoder panicked: %v)", name, format, r)
		}
	}()
	if lim := o.maxPixels(); int64(cfg.Width) > lim/int64(cfg.Height) {
		return nil, &LimitError{Name: name, Width: cfg.Width, Height: cfg.Height, Limit: lim}
	}
	var m image.Image
	switch format {
	case FormatJPEG:
		// The libjpeg-compatible decoder first; image/jpeg for what it
		// leaves out (and for damaged files it rejects).
		if m, err = decodeJPEGExact(data, o.maxPixels()); err != nil {
			m, err = jpeg.Decode(bytes.NewReader(data))
		}
	case FormatPNG:
		m, err = png.Decode(bytes.NewReader(data))
	case FormatGIF:
		m, err = gif.Decode(bytes.NewReader(data))
		if err == nil {
			m = gifFirstFrame(m, data, cfg.Width, cfg.Height)
		}
	case FormatBMP:
		m, err = bmp.Decode(bytes.NewReader(data))
	case FormatTIFF:
		m, err = tiff.Decode(bytes.NewReader(data))
	case FormatWebP:
		m, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: decode %s: %w", name, format, err)
	}
	if b := m.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("datasets: %s: %s decoded to %d×%d, header said %d×%d", name, format, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	var rgb *RGB
	switch yc := m.(type) {
	case *image.YCbCr:
		if format == FormatWebP {
			rgb = ycbcrToRGBWebP(yc)
		} else {
			rgb = ycbcrToRGBJPEG(yc)
		}
	case *image.NYCbCrA:
		if format == FormatWebP {
			rgb = ycbcrToRGBWebP(&yc.YCbCr)
		} else {
			rgb = ycbcrToRGBJPEG(&yc.YCbCr)
		}
	default:
		rgb = ToRGB(m)
	}
	if o == nil || !o.IgnoreOrientation {
		// A malformed EXIF block does not make the pixels unusable: like
		// viewers, treat it as "no orientation".
		if orient, oerr := Orientation(data); oerr == nil {
			rgb = Orient(rgb, orient)
		}
	}
	return rgb, nil
}
