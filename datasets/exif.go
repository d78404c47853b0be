package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// A small, bounded EXIF reader: it finds the Orientation tag (0x0112) in
// IFD0 and nothing else. The maintained Go EXIF libraries either pull in a
// large tag database and allocate freely on hostile input (dsoprea/go-exif)
// or are unmaintained (rwcarlsen/goexif); we need one SHORT from one IFD, so
// we read it with explicit bounds checks on every offset instead.

// maxIFDEntries bounds the entries scanned in IFD0 (a real IFD0 has < 100).
const maxIFDEntries = 4096

// errNoExif is returned by the container scanners when there is no EXIF.
var errNoExif = errors.New("no EXIF")

// Orientation returns the EXIF Orientation (1–8) stored in a JPEG (APP1
// "Exif"), TIFF (IFD0), PNG (eXIf) or WebP (EXIF chunk) file, or 1 when the
// file carries none. A malformed EXIF block is an error.
func Orientation(file []byte) (int, error) {
	var tiffData []byte
	var err error
	switch Sniff(file) {
	case FormatJPEG:
		tiffData, err = jpegExif(file)
	case FormatTIFF:
		tiffData = file
	case FormatPNG:
		tiffData, err = pngExif(file)
	case FormatWebP:
		tiffData, err = webpExif(file)
	default:
		return 1, nil
	}
	if errors.Is(err, errNoExif) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	return TIFFOrientation(tiffData)
}

// TIFFOrientation reads tag 0x0112 from IFD0 of a TIFF-structured block (the
// payload of an EXIF segment after "Exif\0\0"). It returns 1 when the tag is
// absent and an error when the structure is malformed or the value is
// outside 1–8.
func TIFFOrientation(b []byte) (int, error) {
	if len(b) < 8 {
		return 0, errors.New("exif: header truncated")
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, fmt.Errorf("exif: bad byte order %q", b[:2])
	}
	if bo.Uint16(b[2:]) != 42 {
		return 0, errors.New("exif: bad TIFF magic")
	}
	off := uint64(bo.Uint32(b[4:]))
	if off < 8 || off+2 > uint64(len(b)) {
		return 0, fmt.Errorf("exif: IFD0 offset %d outside %d bytes", off, len(b))
	}
	n := uint64(bo.Uint16(b[off:]))
	if n > maxIFDEntries {
		return 0, fmt.Errorf("exif: IFD0 has %d entries", n)
	}
	if off+2+12*n > uint64(len(b)) {
		return 0, fmt.Errorf("exif: IFD0 with %d entries overruns %d bytes", n, len(b))
	}
	for i := uint64(0); i < n; i++ {
		e := b[off+2+12*i:][:12]
		if bo.Uint16(e) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(e[2:]), bo.Uint32(e[4:])
		var v int
		switch {
		case typ == 3 && count >= 1: // SHORT, stored inline
			v = int(bo.Uint16(e[8:]))
		case typ == 4 && count >= 1: // LONG (seen in the wild)
			v = int(bo.Uint32(e[8:]))
		default:
			return 0, fmt.Errorf("exif: Orientation has type %d count %d", typ, count)
		}
		if v < 1 || v > 8 {
			return 0, fmt.Errorf("exif: Orientation %d outside 1–8", v)
		}
		return v, nil
	}
	return 1, nil
}

// jpegExif returns the TIFF block of the first APP1 "Exif\0\0" segment,
// walking marker segments from SOI up to SOS.
func jpegExif(b []byte) ([]byte, error) {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return nil, fmt.Errorf("exif: JPEG marker expected at %d", i)
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7):
			i += 2
			continue
		case m == 0xda || m == 0xd9: // SOS/EOI: no more metadata
			return nil, errNoExif
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil, fmt.Errorf("exif: JPEG segment %#x length %d overruns the file", m, n)
		}
		seg := b[i+4 : i+2+n]
		if m == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:], nil
		}
		i += 2 + n
	}
	return nil, errNoExif
}

// pngExif returns the eXIf chunk's payload.
func pngExif(b []byte) ([]byte, error) {
	i := 8
	for i+8 <= len(b) {
		n := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if uint64(i)+12+n > uint64(len(b)) {
			return nil, errNoExif // truncated: the PNG decoder reports it
		}
		switch typ {
		case "eXIf":
			return b[i+8 : i+8+int(n)], nil
		case "IDAT", "IEND": // eXIf must precede IDAT
			return nil, errNoExif
		}
		i += 12 + int(n)
	}
	return nil, errNoExif
}

// webpExif returns the EXIF chunk's payload (a leading "Exif\0\0", written
// by some tools, is skipped).
func webpExif(b []byte) ([]byte, error) {
	i := 12
	for i+8 <= len(b) {
		n := uint64(binary.LittleEndian.Uint32(b[i+4:]))
		if uint64(i)+8+n > uint64(len(b)) {
			return nil, errNoExif
		}
		if string(b[i:i+4]) == "EXIF" {
			p := b[i+8 : i+8+int(n)]
			return bytes.TrimPrefix(p, []byte("Exif\x00\x00")), nil
		}
		i += 8 + int(n) + int(n&1)
	}
	return nil, errNoExif
}

// Orient returns img transformed for EXIF orientation o the way Pillow's
// ImageOps.exif_transpose does (2 mirror, 3 rotate 180°, 4 flip, 5 transpose,
// 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise).
// Orientation 1 or an unknown value returns img itself.
func Orient(img *RGB, o int) *RGB {
	if o < 2 || o > 8 {
		return img
	}
	src := img.compact()
	W, H := src.Rect.Dx(), src.Rect.Dy()
	ow, oh := W, H
	if o >= 5 {
		ow, oh = H, W
	}
	dst := NewRGB(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		row := dst.Pix[y*dst.Stride:][:3*ow]
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = W-1-x, y
			case 3:
				sx, sy = W-1-x, H-1-y
			case 4:
				sx, sy = x, H-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, H-1-x
			case 7:
				sx, sy = W-1-y, H-1-x
			case 8:
				sx, sy = W-1-y, x
			}
			s := src.Pix[sy*src.Stride+3*sx:][:3]
			copy(row[3*x:3*x+3], s)
		}
	}
	return dst
}
