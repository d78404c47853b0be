package datasets

import (
	"errors"
	"fmt"
	"image"

	"github.com/gomamba/gomamba/kernels"
)

// libjpeg's ISLOW constants: FIX(x) = round(x·2^13).
const (
	idctConstBits  = 13
	idctPass1Bits  = 2
	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// idctRangeLimit is libjpeg's post-IDCT range-limit table indexed by
// (x & 1023) for an unbiased IDCT output x: x+128 clamped to 0..255 for
// x in [−512, 511], wrapping beyond (as libjpeg's masked table does).
var idctRangeLimit = func() (t [1024]uint8) {
	for i := range t {
		x := i
		if x >= 512 {
			x -= 1024
		}
		t[i] = clip8i(x + 128)
	}
	return t
}()

func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// idctISLOW is jidctint.c's jpeg_idct_islow: dequantise (16-bit products,
// as the SIMD builds Pillow ships), columns then rows, writing 8×8 samples
// into out with the given stride.
func idctISLOW(coef []int16, q *[64]uint16, out []uint8, stride int) {
	var ws [64]int32
	for col := 0; col < 8; col++ {
		deq := func(r int) int32 { return int32(int16(int32(coef[r*8+col]) * int32(q[r*8+col]))) }
		if coef[8+col] == 0 && coef[16+col] == 0 && coef[24+col] == 0 && coef[32+col] == 0 &&
			coef[40+col] == 0 && coef[48+col] == 0 && coef[56+col] == 0 {
			dc := deq(0) << idctPass1Bits
			for r := 0; r < 8; r++ {
				ws[r*8+col] = dc
			}
			continue
		}
		z2, z3 := deq(2), deq(6)
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2, z3 = deq(0), deq(4)
		tmp0 := (z2 + z3) << idctConstBits
		tmp1 := (z2 - z3) << idctConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = deq(7), deq(5), deq(3), deq(1)
		z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const n = idctConstBits - idctPass1Bits
		ws[0*8+col] = descale(tmp10+tmp3, n)
		ws[7*8+col] = descale(tmp10-tmp3, n)
		ws[1*8+col] = descale(tmp11+tmp2, n)
		ws[6*8+col] = descale(tmp11-tmp2, n)
		ws[2*8+col] = descale(tmp12+tmp1, n)
		ws[5*8+col] = descale(tmp12-tmp1, n)
		ws[3*8+col] = descale(tmp13+tmp0, n)
		ws[4*8+col] = descale(tmp13-tmp0, n)
	}
	for row := 0; row < 8; row++ {
		w := ws[row*8 : row*8+8 : row*8+8]
		o := out[row*stride : row*stride+8 : row*stride+8]
		const n = idctConstBits + idctPass1Bits + 3
		// The all-zero-AC shortcut gives the same value as the full path.
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (w[0] + w[4]) << idctConstBits
		tmp1 := (w[0] - w[4]) << idctConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = w[7], w[5], w[3], w[1]
		z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		o[0] = idctRangeLimit[descale(tmp10+tmp3, n)&1023]
		o[7] = idctRangeLimit[descale(tmp10-tmp3, n)&1023]
		o[1] = idctRangeLimit[descale(tmp11+tmp2, n)&1023]
		o[6] = idctRangeLimit[descale(tmp11-tmp2, n)&1023]
		o[2] = idctRangeLimit[descale(tmp12+tmp1, n)&1023]
		o[5] = idctRangeLimit[descale(tmp12-tmp1, n)&1023]
		o[3] = idctRangeLimit[descale(tmp13+tmp0, n)&1023]
		o[4] = idctRangeLimit[descale(tmp13-tmp0, n)&1023]
	}
}

// decodeJPEGExact decodes data with the libjpeg-compatible decoder,
// returning an *image.Gray or an *image.YCbCr (planes at their stored
// resolution, for ycbcrToRGBJPEG). errJPEGUnsupported means: use
// image/jpeg instead.
func decodeJPEGExact(data []byte, maxPixels int64) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("jpeg decoder panic: %v", r)
		}
	}()
	return decodeJPEGExactUnguarded(data, maxPixels)
}

// decodeJPEGExactUnguarded is decodeJPEGExact without the recover, so that
// FuzzJPEG sees any panic.
func decodeJPEGExactUnguarded(data []byte, maxPixels int64) (image.Image, error) {
	d := &jpegDecoder{data: data, pos: 2}
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return nil, errors.New("missing SOI")
	}
	done := false
	for !done {
		m, err := d.nextMarker()
		if err != nil {
			return nil, err
		}
		switch {
		case m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7):
			// no payload
		case m == 0xd9:
			done = true
		case m == 0xc0 || m == 0xc1 || m == 0xc2:
			s, err := d.segment()
			if err != nil {
				return nil, err
			}
			d.progressive = m == 0xc2
			if err := d.readSOF(s, maxPixels); err != nil {
				return nil, err
			}
		case m >= 0xc3 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return nil, errJPEGUnsupported // lossless, hierarchical, arithmetic
		case m == 0xcc:
			return nil, errJPEGUnsupported // arithmetic conditioning
		case m == 0xc4:
			s, err := d.segment()
			if err != nil {
				return nil, err
			}
			if err := d.readDHT(s); err != nil {
				return nil, err
			}
		case m == 0xdb:
			s, err := d.segment()
			if err != nil {
				return nil, err
			}
			if err := d.readDQT(s); err != nil {
				return nil, err
			}
		case m == 0xdd:
			s, err := d.segment()
			if err != nil {
				return nil, err
			}
			if len(s) < 2 {
				return nil, errors.New("short DRI")
			}
			d.restart = int(s[0])<<8 | int(s[1])
		case m == 0xee:
			s, err := d.segment()
			if err != nil {
				return nil, err
			}
			if len(s) >= 12 && string(s[:5]) == "Adobe" {
				d.adobe, d.adobeXform = true, int(s[11])
			}
		case m == 0xda:
			s, err := d.segment()
			if err != nil {
				return nil, err
			}
			// A baseline file may also hold several scans (one per
			// component): keep reading markers until EOI either way.
			if err := d.readSOS(s); err != nil {
				return nil, err
			}
		default:
			if _, err := d.segment(); err != nil {
				return nil, err
			}
		}
	}
	if !d.sawSOF {
		return nil, errors.New("no SOF")
	}
	if len(d.comps) == 3 && d.adobe && d.adobeXform != 1 {
		return nil, errJPEGUnsupported // Adobe RGB (transform 0)
	}
	for _, c := range d.comps {
		if !d.quantSet[c.tq] {
			return nil, fmt.Errorf("component %d uses undefined quantisation table %d", c.id, c.tq)
		}
	}
	planes := make([][]uint8, len(d.comps))
	for i := range d.comps {
		c := &d.comps[i]
		stride := c.bw * 8
		p := make([]uint8, stride*c.bh*8)
		q := &d.quant[c.tq]
		kernels.Parallel(c.bh, 4, func(lo, hi int) {
			for by := lo; by < hi; by++ {
				for bx := 0; bx < c.bw; bx++ {
					idctISLOW(c.coef[(by*c.bw+bx)*64:][:64], q, p[by*8*stride+bx*8:], stride)
				}
			}
		})
		planes[i] = p
		c.coef = nil
	}
	r := image.Rect(0, 0, d.w, d.h)
	if len(d.comps) == 4 {
		return jpegCMYK(d, planes, r), nil
	}
	if len(d.comps) == 1 {
		return &image.Gray{Pix: planes[0], Stride: d.comps[0].bw * 8, Rect: r}, nil
	}
	var ratio image.YCbCrSubsampleRatio
	switch y := d.comps[0]; {
	case y.h == 1 && y.v == 1:
		ratio = image.YCbCrSubsampleRatio444
	case y.h == 2 && y.v == 1:
		ratio = image.YCbCrSubsampleRatio422
	case y.h == 2 && y.v == 2:
		ratio = image.YCbCrSubsampleRatio420
	case y.h == 1 && y.v == 2:
		ratio = image.YCbCrSubsampleRatio440
	case y.h == 4 && y.v == 1:
		ratio = image.YCbCrSubsampleRatio411
	case y.h == 4 && y.v == 2:
		ratio = image.YCbCrSubsampleRatio410
	default:
		return nil, errJPEGUnsupported
	}
	return &image.YCbCr{Y: planes[0], Cb: planes[1], Cr: planes[2], YStride: d.comps[0].bw * 8,
		CStride: d.comps[1].bw * 8, SubsampleRatio: ratio, Rect: r}, nil
}

// jpegCMYK converts 4-component planes the way Pillow reads them: libjpeg
// turns YCCK (Adobe transform 2) into CMYK with its YCbCr tables and passes
// CMYK through, then Pillow's "CMYK;I" raw mode ("assume adobe
// conventions") inverts every sample.
func jpegCMYK(d *jpegDecoder, planes [][]uint8, r image.Rectangle) *image.CMYK {
	out := image.NewCMYK(r)
	stride := d.comps[0].bw * 8
	ycck := d.adobe && d.adobeXform == 2
	t := &jpegTabs
	for y := 0; y < d.h; y++ {
		row := out.Pix[y*out.Stride:][:4*d.w]
		for x := 0; x < d.w; x++ {
			i := y*stride + x
			c, m, yy, k := planes[0][i], planes[1][i], planes[2][i], planes[3][i]
			if ycck {
				Y, cb, cr := int32(c), m, yy
				c = clip8i(int(255 - (Y + t.crR[cr])))
				m = clip8i(int(255 - (Y + ((t.cbG[cb] + t.crG[cr]) >> 16))))
				yy = clip8i(int(255 - (Y + t.cbB[cb])))
			}
			p := row[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = 255-c, 255-m, 255-yy, 255-k
		}
	}
	return out
}
