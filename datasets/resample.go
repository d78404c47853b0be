package datasets

import (
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/gomamba/gomamba/kernels"
)

// Filter is one of Pillow's antialiased resampling filters
// (Image.resize(size, filter) on 8-bit images).
type Filter int

// Pillow's filters, with their support radius in source pixels at scale 1.
const (
	// Bicubic is Pillow's BICUBIC (cubic convolution, a = −0.5, support 2),
	// the filter of timm/Vim/VMamba evaluation.
	Bicubic Filter = iota
	// Bilinear is Pillow's BILINEAR (triangle, support 1).
	Bilinear
	// Box is Pillow's BOX (support 0.5).
	Box
	// Hamming is Pillow's HAMMING (Hamming-windowed sinc, support 1).
	Hamming
	// Lanczos is Pillow's LANCZOS (3-lobed Lanczos, support 3).
	Lanczos
)

var filterNames = [...]string{"bicubic", "bilinear", "box", "hamming", "lanczos"}

// String returns the filter's lower-case name.
func (f Filter) String() string {
	if f < 0 || int(f) >= len(filterNames) {
		return fmt.Sprintf("Filter(%d)", int(f))
	}
	return filterNames[f]
}

// ParseFilter maps a name ("bicubic", "bilinear", "box", "hamming",
// "lanczos"; case-insensitive; "" means bicubic) to a Filter. Nearest is not
// offered: Pillow implements it by a different path.
func ParseFilter(name string) (Filter, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return Bicubic, nil
	}
	if n == "antialias" { // old Pillow alias
		return Lanczos, nil
	}
	for i, s := range filterNames {
		if s == n {
			return Filter(i), nil
		}
	}
	return 0, fmt.Errorf("datasets: unknown interpolation %q (want one of %v)", name, filterNames)
}

func (f Filter) kernel() (fn func(float64) float64, support float64) {
	switch f {
	case Bilinear:
		return func(x float64) float64 {
			x = math.Abs(x)
			if x < 1 {
				return 1 - x
			}
			return 0
		}, 1
	case Box:
		return func(x float64) float64 {
			if x > -0.5 && x <= 0.5 {
				return 1
			}
			return 0
		}, 0.5
	case Hamming:
		return func(x float64) float64 {
			x = math.Abs(x)
			if x == 0 {
				return 1
			}
			if x >= 1 {
				return 0
			}
			x *= math.Pi
			// Pillow writes 0.54f + 0.46f*cos(x): float32 constants
			// widened to double.
			return math.Sin(x) / x * (float64(float32(0.54)) + float64(float32(0.46))*math.Cos(x))
		}, 1
	case Lanczos:
		sinc := func(x float64) float64 {
			if x == 0 {
				return 1
			}
			x *= math.Pi
			return math.Sin(x) / x
		}
		return func(x float64) float64 {
			if -3 <= x && x < 3 {
				return sinc(x) * sinc(x/3)
			}
			return 0
		}, 3
	default:
		return bicubicKernel, 2
	}
}

// bicubicKernel is Pillow's bicubic_filter: cubic convolution with a = −0.5.
func bicubicKernel(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// precisionBits is Pillow's PRECISION_BITS (32 − 8 − 2): coefficients are
// fixed point with 22 fractional bits.
const precisionBits = 22

// coeffs are one axis' fixed-point filter taps: output i reads count[i] input
// samples from start[i] with weights k[i*ksize : i*ksize+count[i]].
type coeffs struct {
	start, count []int
	k            []int32
	ksize        int
}

// precomputeCoeffs is Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc, for the box [0, inSize]: float64 weights
// renormalised per output sample, then rounded half away from zero to 22-bit
// fixed point.
func precomputeCoeffs(inSize, outSize int, f Filter) coeffs {
	fn, sup := f.kernel()
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := sup * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{start: make([]int, outSize), count: make([]int, outSize), k: make([]int32, outSize*ksize), ksize: ksize}
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := fn((float64(x+xmin) - center + 0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize:]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.start[xx], c.count[xx] = xmin, xmax
	}
	return c
}

// clip8 is Pillow's clip8: the accumulator shifted down by 22 bits
// (arithmetic, i.e. floor) and clamped to 0..255.
func clip8(acc int32) uint8 {
	v := acc >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ResizeRGB resizes src to w×h exactly like Pillow's Image.resize((w, h), f)
// on an "RGB" image: the horizontal pass first (only over the source rows the
// vertical pass needs), quantised to uint8, then the vertical pass; an axis
// whose size does not change is not resampled. The result is bit-identical
// to Pillow (checked against Pillow 12.3 fixtures). Safe for concurrent use;
// it uses up to GOMAXPROCS goroutines.
func ResizeRGB(src *RGB, w, h int, f Filter) (*RGB, error) {
	s := src.compact()
	pix, err := resample(s.Pix, s.Rect.Dx(), s.Rect.Dy(), 3, w, h, f)
	if err != nil {
		return nil, err
	}
	return &RGB{Pix: pix, Stride: 3 * w, Rect: image.Rect(0, 0, w, h)}, nil
}

// ResizeGray is ResizeRGB for a Pillow "L" image.
func ResizeGray(src *image.Gray, w, h int, f Filter) (*image.Gray, error) {
	b := src.Bounds()
	s := src
	if b.Min != (image.Point{}) || src.Stride != b.Dx() {
		s = ToGray(src)
	}
	pix, err := resample(s.Pix, b.Dx(), b.Dy(), 1, w, h, f)
	if err != nil {
		return nil, err
	}
	return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
}

// resample runs ImagingResampleInner on packed pixels with ch channels.
func resample(pix []uint8, W, H, ch, w, h int, f Filter) ([]uint8, error) {
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("datasets: resize to %d×%d: size must be positive", w, h)
	}
	if W <= 0 || H <= 0 {
		return nil, fmt.Errorf("datasets: resize of an empty %d×%d image", W, H)
	}
	if f < 0 || int(f) >= len(filterNames) {
		return nil, fmt.Errorf("datasets: unknown filter %d", int(f))
	}
	if int64(w)*int64(h) > DefaultMaxPixels {
		return nil, fmt.Errorf("datasets: resize to %d×%d exceeds %d pixels", w, h, DefaultMaxPixels)
	}
	needH, needV := w != W, h != H
	vc := precomputeCoeffs(H, h, f)
	yFirst := vc.start[0]
	yLast := vc.start[h-1] + vc.count[h-1]
	cur, curW, curH := pix, W, H
	if needH {
		hc := precomputeCoeffs(W, w, f)
		rows := yLast - yFirst
		tmp := make([]uint8, rows*w*ch)
		kernels.Parallel(rows, 8, func(lo, hi int) {
			rb, g := make([]int64, W), make([]int32, W)
			for y := lo; y < hi; y++ {
				horizontalRow(tmp[y*w*ch:(y+1)*w*ch], pix[(y+yFirst)*W*ch:(y+yFirst+1)*W*ch], ch, &hc, rb, g)
			}
		})
		for i := range vc.start {
			vc.start[i] -= yFirst
		}
		cur, curW, curH = tmp, w, rows
		if !needV {
			return tmp, nil
		}
	}
	if !needV {
		return append([]uint8(nil), pix[:W*H*ch]...), nil
	}
	return verticalPass(cur, curW*ch, curH, &vc, h), nil
}

// verticalPass is ImagingResampleVertical_8bpc over rows of rowLen bytes.
// Like the horizontal pass it packs two neighbouring bytes into one int64
// (byte 2j in the low, 2j+1 in the high 32 bits) so each multiply-add
// advances two samples; the sums are Pillow's int32 sums exactly.
func verticalPass(src []uint8, rowLen, rows int, vc *coeffs, h int) []uint8 {
	pw := (rowLen + 1) / 2
	packed := make([]int64, rows*pw)
	kernels.Parallel(rows, 16, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := src[y*rowLen : (y+1)*rowLen]
			p := packed[y*pw : (y+1)*pw]
			for j := 0; j+1 < len(s); j += 2 {
				p[j/2] = int64(s[j]) | int64(s[j+1])<<32
			}
			if rowLen%2 == 1 {
				p[pw-1] = int64(s[rowLen-1])
			}
		}
	})
	out := make([]uint8, h*rowLen)
	kernels.Parallel(h, 8, func(lo, hi int) {
		acc := make([]int64, pw)
		const half = 1 << (precisionBits - 1)
		for yy := lo; yy < hi; yy++ {
			for j := range acc {
				acc[j] = half | half<<32
			}
			k := vc.k[yy*vc.ksize:]
			for t := 0; t < vc.count[yy]; t++ {
				kv := int64(k[t])
				row := packed[(vc.start[yy]+t)*pw:][:len(acc)]
				for j, p := range row {
					acc[j] += p * kv
				}
			}
			o := out[yy*rowLen:][:rowLen]
			for j, a := range acc {
				l := int32(a)
				o[2*j] = clip8(l)
				if 2*j+1 < len(o) {
					o[2*j+1] = clip8(int32((a - int64(l)) >> 32))
				}
			}
		}
	})
	return out
}

// horizontalRow is ImagingResampleHorizontal_8bpc for one row.
//
// For RGB the row is first unpacked into rb[x] = R | B<<32 and g[x] = G so
// that one 64-bit multiply-add advances two channels: with acc = Σ rb·k the
// low 32 bits are exactly the R sum (which Pillow computes in int32, so it
// fits) and (acc − R sum) >> 32 is the B sum. The integer sums, and so the
// output, are Pillow's.
func horizontalRow(dst, src []uint8, ch int, c *coeffs, rb []int64, g []int32) {
	const half = 1 << (precisionBits - 1)
	if ch == 3 {
		w := len(src) / 3
		rb, g = rb[:w], g[:w]
		for x := range rb {
			p := src[3*x : 3*x+3 : 3*x+3]
			rb[x] = int64(p[0]) | int64(p[2])<<32
			g[x] = int32(p[1])
		}
		dst = dst[:3*len(c.start)]
		for xx, st := range c.start {
			n := c.count[xx]
			k := c.k[xx*c.ksize:][:n:n]
			vrb := rb[st:][:n:n]
			vg := g[st:][:n:n]
			accRB := int64(half) | int64(half)<<32
			accG := int32(half)
			for x, kv := range k {
				accRB += vrb[x] * int64(kv)
				accG += vg[x] * kv
			}
			r := int32(accRB)
			b := int32((accRB - int64(r)) >> 32)
			d := dst[3*xx : 3*xx+3 : 3*xx+3]
			d[0], d[1], d[2] = clip8(r), clip8(accG), clip8(b)
		}
		return
	}
	for xx := range c.start {
		k := c.k[xx*c.ksize:][:c.count[xx]]
		for cc := 0; cc < ch; cc++ {
			acc := int32(half)
			for x, kv := range k {
				acc += int32(src[(c.start[xx]+x)*ch+cc]) * kv
			}
			dst[xx*ch+cc] = clip8(acc)
		}
	}
}
