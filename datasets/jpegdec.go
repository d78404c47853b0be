package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A JPEG decoder written for Pillow parity: baseline and progressive
// Huffman JPEGs, 8-bit, gray or Y'CbCr, reconstructed with libjpeg's
// accurate integer IDCT (ISLOW, the algorithm of jidctint.c: Loeffler–
// Ligtenberg–Moschytz with 13-bit constants and libjpeg's wrapping
// range-limit table). Go's image/jpeg uses a different IDCT, which is what
// left its output up to 3 levels away from Pillow. Anything this decoder does
// not cover (arithmetic coding, 12-bit, lossless, RGB JPEGs, subsampled
// CMYK/YCCK, unusual sampling factors) reports errJPEGUnsupported and Decode
// falls back to image/jpeg.

var errJPEGUnsupported = errors.New("jpeg feature left to image/jpeg")

// zigzag maps the zig-zag index of a coefficient to its natural (row-major)
// position in the 8×8 block.
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

type huffTable struct {
	lookup  [1 << 9]uint16 // (length << 8) | value for codes ≤ 9 bits; 0 = slow path
	maxcode [18]int32      // largest code of each length, -1 if none
	valptr  [17]int32      // index into vals of the first code of each length
	mincode [17]int32
	vals    []uint8
	present bool
}

func (h *huffTable) build(counts [16]uint8, vals []uint8) error {
	h.vals = vals
	code, k := int32(0), int32(0)
	for i := range h.lookup {
		h.lookup[i] = 0
	}
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return errors.New("bad Huffman table (over-subscribed)")
		}
		h.valptr[l] = k
		h.mincode[l] = code
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			if l <= 9 {
				for j := int32(0); j < n; j++ {
					c := code + j
					base := c << (9 - l)
					for f := int32(0); f < 1<<(9-l); f++ {
						h.lookup[base+f] = uint16(l)<<8 | uint16(vals[k+j])
					}
				}
			}
			h.maxcode[l] = code + n - 1
		}
		code += n
		k += n
		code <<= 1
	}
	h.maxcode[17] = 1 << 30 // sentinel
	h.present = true
	return nil
}

type jpegComponent struct {
	id, h, v, tq   int
	bw, bh         int // blocks allocated (MCU-padded)
	wBlocks, hBlks int // blocks covering the component's own size
	coef           []int16
	dcPred         int32
	td, ta         int
}

type jpegDecoder struct {
	data        []byte
	pos         int
	bits        uint64
	nbits       uint
	markerHit   bool
	quant       [4][64]uint16
	quantSet    [4]bool
	dc, ac      [4]huffTable
	comps       []jpegComponent
	w, h        int
	hmax, vmax  int
	mcusX       int
	mcusY       int
	progressive bool
	restart     int
	eobrun      int32
	adobe       bool
	adobeXform  int
	sawSOF      bool
}

// --- bit reader ---------------------------------------------------------------

func (d *jpegDecoder) fill() {
	for d.nbits <= 56 {
		var b byte
		if d.markerHit || d.pos >= len(d.data) {
			b = 0 // libjpeg also feeds zeros past the end of the data
			d.markerHit = true
		} else {
			b = d.data[d.pos]
			if b == 0xff {
				if d.pos+1 < len(d.data) && d.data[d.pos+1] == 0 {
					d.pos += 2
				} else {
					d.markerHit = true
					b = 0
				}
			} else {
				d.pos++
			}
		}
		d.bits |= uint64(b) << (56 - d.nbits)
		d.nbits += 8
	}
}

func (d *jpegDecoder) getBits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int32(d.bits >> (64 - n))
	d.bits <<= n
	d.nbits -= n
	return v
}

func (d *jpegDecoder) getBit() int32 { return d.getBits(1) }

// receiveExtend reads s bits and sign-extends them (JPEG's EXTEND).
func (d *jpegDecoder) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	if s > 16 {
		s = 16
	}
	v := d.getBits(uint(s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

func (d *jpegDecoder) decodeHuff(h *huffTable) (uint8, error) {
	if !h.present {
		return 0, errors.New("scan uses an undefined Huffman table")
	}
	if d.nbits < 16 {
		d.fill()
	}
	if e := h.lookup[d.bits>>(64-9)]; e != 0 {
		l := uint(e >> 8)
		d.bits <<= l
		d.nbits -= l
		return uint8(e), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | d.getBit()
		if h.maxcode[l] >= 0 && code <= h.maxcode[l] {
			i := h.valptr[l] + code - h.mincode[l]
			if i < 0 || int(i) >= len(h.vals) {
				return 0, errors.New("bad Huffman code")
			}
			return h.vals[i], nil
		}
	}
	return 0, errors.New("bad Huffman code")
}

// --- markers ------------------------------------------------------------------

func (d *jpegDecoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, errors.New("truncated segment length")
	}
	n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if n < 2 || d.pos+n > len(d.data) {
		return nil, errors.New("segment overruns the file")
	}
	s := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return s, nil
}

func (d *jpegDecoder) nextMarker() (byte, error) {
	// Skip anything up to the next 0xFF xx (xx ≠ 0, ≠ 0xFF).
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] != 0xff {
			d.pos++
			continue
		}
		m := d.data[d.pos+1]
		if m == 0xff {
			d.pos++
			continue
		}
		d.pos += 2
		if m == 0 {
			continue
		}
		return m, nil
	}
	return 0, errors.New("unexpected end of data (no EOI)")
}

func (d *jpegDecoder) readDQT(s []byte) error {
	for len(s) > 0 {
		pq, tq := s[0]>>4, s[0]&15
		if tq > 3 || pq > 1 {
			return errors.New("bad DQT")
		}
		n := 64 * (1 + int(pq))
		if len(s) < 1+n {
			return errors.New("short DQT")
		}
		for i := 0; i < 64; i++ {
			var q uint16
			if pq == 0 {
				q = uint16(s[1+i])
			} else {
				q = binary.BigEndian.Uint16(s[1+2*i:])
			}
			d.quant[tq][zigzag[i]] = q
		}
		d.quantSet[tq] = true
		s = s[1+n:]
	}
	return nil
}

func (d *jpegDecoder) readDHT(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return errors.New("short DHT")
		}
		tc, th := s[0]>>4, s[0]&15
		if tc > 1 || th > 3 {
			return errors.New("bad DHT class/index")
		}
		var counts [16]uint8
		total := 0
		for i := range counts {
			counts[i] = s[1+i]
			total += int(counts[i])
		}
		if total > 256 || len(s) < 17+total {
			return errors.New("bad DHT length")
		}
		vals := append([]uint8(nil), s[17:17+total]...)
		t := &d.dc[th]
		if tc == 1 {
			t = &d.ac[th]
		}
		if err := t.build(counts, vals); err != nil {
			return err
		}
		s = s[17+total:]
	}
	return nil
}

func (d *jpegDecoder) readSOF(s []byte, maxPixels int64) error {
	if d.sawSOF {
		return errors.New("more than one SOF")
	}
	d.sawSOF = true
	if len(s) < 6 {
		return errors.New("short SOF")
	}
	if s[0] != 8 {
		return errJPEGUnsupported // 12-bit
	}
	d.h = int(binary.BigEndian.Uint16(s[1:]))
	d.w = int(binary.BigEndian.Uint16(s[3:]))
	nc := int(s[5])
	if d.w == 0 || d.h == 0 {
		return errJPEGUnsupported // DNL-defined height etc.
	}
	if int64(d.w)*int64(d.h) > maxPixels {
		return fmt.Errorf("%d×%d exceeds %d pixels", d.w, d.h, maxPixels)
	}
	if nc != 1 && nc != 3 && nc != 4 {
		return errJPEGUnsupported
	}
	if len(s) < 6+3*nc {
		return errors.New("short SOF")
	}
	d.comps = make([]jpegComponent, nc)
	for i := range d.comps {
		c := &d.comps[i]
		c.id = int(s[6+3*i])
		c.h, c.v = int(s[7+3*i]>>4), int(s[7+3*i]&15)
		c.tq = int(s[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return errors.New("bad component sampling or table")
		}
		if nc == 1 { // a single component is never subsampled
			c.h, c.v = 1, 1
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if nc == 4 {
		for _, c := range d.comps {
			if c.h != d.hmax || c.v != d.vmax {
				return errJPEGUnsupported // subsampled CMYK/YCCK
			}
		}
	}
	if nc == 3 {
		// The chroma layouts image.YCbCr (and our upsamplers) describe.
		y, cb, cr := d.comps[0], d.comps[1], d.comps[2]
		if cb.h != 1 || cb.v != 1 || cr.h != 1 || cr.v != 1 || y.v > 2 || (y.h != 1 && y.h != 2 && y.h != 4) {
			return errJPEGUnsupported
		}
		if y.id == 'R' && cb.id == 'G' && cr.id == 'B' {
			return errJPEGUnsupported // RGB JPEG
		}
	}
	d.mcusX = (d.w + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.h + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		cw := (d.w*c.h + d.hmax - 1) / d.hmax
		ch := (d.h*c.v + d.vmax - 1) / d.vmax
		c.wBlocks, c.hBlks = (cw+7)/8, (ch+7)/8
		c.coef = make([]int16, c.bw*c.bh*64)
	}
	return nil
}

// --- scans --------------------------------------------------------------------

func (d *jpegDecoder) readSOS(s []byte) error {
	if !d.sawSOF {
		return errors.New("SOS before SOF")
	}
	if len(s) < 1 {
		return errors.New("short SOS")
	}
	ns := int(s[0])
	if ns < 1 || ns > len(d.comps) || len(s) < 1+2*ns+3 {
		return errors.New("bad SOS")
	}
	scomps := make([]*jpegComponent, ns)
	for i := 0; i < ns; i++ {
		id := int(s[1+2*i])
		var c *jpegComponent
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return errors.New("SOS names an unknown component")
		}
		c.td, c.ta = int(s[2+2*i]>>4), int(s[2+2*i]&15)
		if c.td > 3 || c.ta > 3 {
			return errors.New("bad SOS table index")
		}
		scomps[i] = c
	}
	ss, se := int(s[1+2*ns]), int(s[2+2*ns])
	ah, al := int(s[3+2*ns]>>4), int(s[3+2*ns]&15)
	if d.progressive {
		if ss > se || se > 63 || al > 13 || ah > 13 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) {
			return errors.New("bad progressive scan parameters")
		}
	} else {
		ss, se, ah, al = 0, 63, 0, 0
	}
	for _, c := range scomps {
		c.dcPred = 0
	}
	d.eobrun = 0
	d.bits, d.nbits, d.markerHit = 0, 0, false

	decodeBlock := func(c *jpegComponent, bx, by int) error {
		blk := c.coef[(by*c.bw+bx)*64:][:64]
		switch {
		case !d.progressive:
			return d.baselineBlock(c, blk)
		case ss == 0 && ah == 0:
			t, err := d.decodeHuff(&d.dc[c.td])
			if err != nil {
				return err
			}
			c.dcPred += d.receiveExtend(int(t))
			blk[0] = int16(c.dcPred << al)
		case ss == 0:
			if d.getBit() != 0 {
				blk[0] |= int16(1 << al)
			}
		case ah == 0:
			return d.acFirst(c, blk, ss, se, al)
		default:
			return d.acRefine(c, blk, ss, se, al)
		}
		return nil
	}

	mcu, restartsLeft := 0, d.restart
	handleRestart := func() error {
		if d.restart == 0 {
			return nil
		}
		restartsLeft--
		if restartsLeft > 0 {
			return nil
		}
		restartsLeft = d.restart
		// Byte-align and expect RSTn.
		d.bits, d.nbits, d.markerHit = 0, 0, false
		m, err := d.nextMarker()
		if err != nil {
			return err
		}
		if m < 0xd0 || m > 0xd7 {
			return fmt.Errorf("expected RST marker, found %#02x", m)
		}
		for _, c := range scomps {
			c.dcPred = 0
		}
		d.eobrun = 0
		return nil
	}
	if ns == 1 {
		c := scomps[0]
		total := c.wBlocks * c.hBlks
		for by := 0; by < c.hBlks; by++ {
			for bx := 0; bx < c.wBlocks; bx++ {
				if err := decodeBlock(c, bx, by); err != nil {
					return err
				}
				mcu++
				if mcu < total {
					if err := handleRestart(); err != nil {
						return err
					}
				}
			}
		}
	} else {
		total := d.mcusX * d.mcusY
		for my := 0; my < d.mcusY; my++ {
			for mx := 0; mx < d.mcusX; mx++ {
				for _, c := range scomps {
					for v := 0; v < c.v; v++ {
						for h := 0; h < c.h; h++ {
							if err := decodeBlock(c, mx*c.h+h, my*c.v+v); err != nil {
								return err
							}
						}
					}
				}
				mcu++
				if mcu < total {
					if err := handleRestart(); err != nil {
						return err
					}
				}
			}
		}
	}
	// Rewind to the byte where the entropy data stopped so the marker
	// loop finds the next marker.
	d.bits, d.nbits = 0, 0
	return nil
}

func (d *jpegDecoder) baselineBlock(c *jpegComponent, blk []int16) error {
	t, err := d.decodeHuff(&d.dc[c.td])
	if err != nil {
		return err
	}
	if t > 16 {
		return errors.New("bad DC magnitude")
	}
	c.dcPred += d.receiveExtend(int(t))
	blk[0] = int16(c.dcPred)
	for k := 1; k < 64; k++ {
		rs, err := d.decodeHuff(&d.ac[c.ta])
		if err != nil {
			return err
		}
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			return errors.New("AC coefficient index out of range")
		}
		blk[zigzag[k]] = int16(d.receiveExtend(s))
	}
	return nil
}

func (d *jpegDecoder) acFirst(c *jpegComponent, blk []int16, ss, se, al int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	for k := ss; k <= se; k++ {
		rs, err := d.decodeHuff(&d.ac[c.ta])
		if err != nil {
			return err
		}
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += d.getBits(uint(r))
				}
				break
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			return errors.New("AC coefficient index out of range")
		}
		blk[zigzag[k]] = int16(d.receiveExtend(s) << al)
	}
	return nil
}

func (d *jpegDecoder) acRefine(c *jpegComponent, blk []int16, ss, se, al int) error {
	p1 := int16(1) << al
	m1 := int16(-1) << al
	k := ss
	if d.eobrun == 0 {
		for ; k <= se; k++ {
			rs, err := d.decodeHuff(&d.ac[c.ta])
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int32(rs&15)
			var val int16
			if s != 0 {
				// s must be 1; libjpeg warns and carries on otherwise.
				if d.getBit() != 0 {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += d.getBits(uint(r))
				}
				break
			}
			for k <= se {
				coef := &blk[zigzag[k]]
				if *coef != 0 {
					if d.getBit() != 0 && *coef&p1 == 0 {
						if *coef >= 0 {
							*coef += p1
						} else {
							*coef += m1
						}
					}
				} else {
					r--
					if r < 0 {
						break
					}
				}
				k++
			}
			if s != 0 && k <= 63 {
				blk[zigzag[k]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			coef := &blk[zigzag[k]]
			if *coef != 0 && d.getBit() != 0 && *coef&p1 == 0 {
				if *coef >= 0 {
					*coef += p1
				} else {
					*coef += m1
				}
			}
		}
		d.eobrun--
	}
	return nil
}
