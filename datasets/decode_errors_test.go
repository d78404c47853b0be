package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngHeaderOnly returns a PNG signature + IHDR declaring w×h RGB8 and nothing
// else: a decompression bomb's header.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	photo, err := os.ReadFile(filepath.Join("testdata", "photo_420.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	webpData, err := os.ReadFile(filepath.Join("testdata", "photo.webp"))
	if err != nil {
		t.Fatal(err)
	}
	pngData, err := os.ReadFile(filepath.Join("testdata", "rgb8.png"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		opt  *Options
		want string
	}{
		{"huge.png", pngHeaderOnly(100000, 100000), nil, "huge.png: 100000×100000 pixels exceeds the limit of 268435456 pixels"},
		{"limit.jpg", photo, &Options{MaxPixels: 100 * 99}, "limit.jpg: 160×100 pixels exceeds the limit of 9900"},
		{"big.jpg", photo, &Options{MaxFileBytes: 100}, "big.jpg: file larger than 100 bytes"},
		{"empty.bin", nil, nil, "empty.bin: unknown image format"},
		{"text.txt", []byte("hello, world"), nil, "text.txt: unknown image format (first bytes 68 65 6c 6c 6f 2c 20 77)"},
		{"trunc.jpg", photo[:len(photo)/2], nil, "trunc.jpg: decode jpeg"},
		{"head.jpg", photo[:20], nil, "head.jpg: bad jpeg header"},
		{"trunc.webp", webpData[:len(webpData)/2], nil, "trunc.webp:"},
		{"trunc.png", pngData[:len(pngData)-30], nil, "trunc.png: decode png"},
		{"zero.png", pngHeaderOnly(0, 5), nil, "zero.png: bad png header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opt.Decode(bytes.NewReader(tc.data), tc.name)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
	var le *LimitError
	_, err = Decode(bytes.NewReader(pngHeaderOnly(20000, 20000)), "x.png")
	if !errors.As(err, &le) || le.Width != 20000 {
		t.Fatalf("want *LimitError, got %v", err)
	}
	if _, err := Decode(bytes.NewReader(nil), "x"); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("want ErrUnknownFormat, got %v", err)
	}
	if _, err := DecodeFile(filepath.Join("testdata", "missing.png")); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestOrientationOption(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "exif6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := Orientation(data)
	if err != nil || o != 6 {
		t.Fatalf("Orientation = %d, %v; want 6", o, err)
	}
	up, err := Decode(bytes.NewReader(data), "exif6.jpg")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := (&Options{IgnoreOrientation: true}).Decode(bytes.NewReader(data), "exif6.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := up.Bounds().Size(), raw.Bounds().Size(); got.X != want.Y || got.Y != want.X {
		t.Fatalf("upright %v, stored %v: want swapped", got, want)
	}
}

func TestOrient(t *testing.T) {
	// 3×2 image with distinct pixels p(x,y) = 10·y + x.
	src := NewRGB(imageRect(3, 2))
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			src.Pix[src.PixOffset(x, y)] = uint8(10*y + x)
		}
	}
	tests := []struct {
		o    int
		w, h int
		want []uint8 // first channel, row-major
	}{
		{1, 3, 2, []uint8{0, 1, 2, 10, 11, 12}},
		{2, 3, 2, []uint8{2, 1, 0, 12, 11, 10}},
		{3, 3, 2, []uint8{12, 11, 10, 2, 1, 0}},
		{4, 3, 2, []uint8{10, 11, 12, 0, 1, 2}},
		{5, 2, 3, []uint8{0, 10, 1, 11, 2, 12}},
		{6, 2, 3, []uint8{10, 0, 11, 1, 12, 2}},
		{7, 2, 3, []uint8{12, 2, 11, 1, 10, 0}},
		{8, 2, 3, []uint8{2, 12, 1, 11, 0, 10}},
	}
	for _, tc := range tests {
		got := Orient(src, tc.o)
		if got.Rect.Dx() != tc.w || got.Rect.Dy() != tc.h {
			t.Fatalf("orientation %d: size %v", tc.o, got.Rect)
		}
		for i, w := range tc.want {
			if v := got.Pix[3*i]; v != w {
				t.Fatalf("orientation %d: pixel %d = %d, want %d (all %v)", tc.o, i, v, w, got.Pix)
			}
		}
	}
}

func TestTIFFOrientationErrors(t *testing.T) {
	le := func(entries ...[]byte) []byte {
		b := []byte("II*\x00\x08\x00\x00\x00")
		b = binary.LittleEndian.AppendUint16(b, uint16(len(entries)))
		for _, e := range entries {
			b = append(b, e...)
		}
		return append(b, 0, 0, 0, 0)
	}
	entry := func(tag, typ uint16, count uint32, val uint32) []byte {
		e := binary.LittleEndian.AppendUint16(nil, tag)
		e = binary.LittleEndian.AppendUint16(e, typ)
		e = binary.LittleEndian.AppendUint32(e, count)
		return binary.LittleEndian.AppendUint32(e, val)
	}
	tests := []struct {
		name string
		data []byte
		want int
		err  string
	}{
		{"short", []byte("II*"), 0, "truncated"},
		{"order", []byte("XX*\x00\x08\x00\x00\x00"), 0, "byte order"},
		{"magic", []byte("II+\x00\x08\x00\x00\x00"), 0, "magic"},
		{"offset", []byte("II*\x00\xff\x00\x00\x00"), 0, "outside"},
		{"overrun", []byte("II*\x00\x08\x00\x00\x00\x05\x00"), 0, "overruns"},
		{"none", le(entry(0x100, 3, 1, 5)), 1, ""},
		{"six", le(entry(0x100, 3, 1, 5), entry(0x112, 3, 1, 6)), 6, ""},
		{"long", le(entry(0x112, 4, 1, 8)), 8, ""},
		{"range", le(entry(0x112, 3, 1, 9)), 0, "outside 1–8"},
		{"type", le(entry(0x112, 2, 1, 1)), 0, "type 2"},
	}
	for _, tc := range tests {
		got, err := TIFFOrientation(tc.data)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func imageRect(w, h int) image.Rectangle { return image.Rect(0, 0, w, h) }

func TestDecodeConfigFile(t *testing.T) {
	tests := []struct {
		file        string
		want        Config
		upW, upH    int
		errContains string
	}{
		{"exif6.jpg", Config{FormatJPEG, 61, 37, 6}, 37, 61, ""},
		{"photo.webp", Config{FormatWebP, 160, 100, 1}, 160, 100, ""},
		{"gray16.png", Config{FormatPNG, 61, 37, 1}, 61, 37, ""},
		{"palette.gif", Config{FormatGIF, 61, 37, 1}, 61, 37, ""},
		{"gen.py", Config{}, 0, 0, "gen.py: unknown image format"},
	}
	for _, tc := range tests {
		got, err := DecodeConfigFile(filepath.Join("testdata", tc.file))
		if tc.errContains != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errContains) {
				t.Errorf("%s: err = %v", tc.file, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.file, got, err, tc.want)
		}
		if w, h := got.Upright(); w != tc.upW || h != tc.upH {
			t.Errorf("%s: upright %d×%d", tc.file, w, h)
		}
	}
	// The config path reads a bomb's header without refusing it.
	p := filepath.Join(t.TempDir(), "bomb.png")
	os.WriteFile(p, pngHeaderOnly(100000, 100000), 0o644)
	if c, err := DecodeConfigFile(p); err != nil || c.Width != 100000 {
		t.Fatalf("bomb header: %+v %v", c, err)
	}
}
