package datasets

import (
	"fmt"
	"image"
	"math"

	"github.com/gomamba/gomamba/kernels"
)

// ImageNet normalisation constants (timm IMAGENET_DEFAULT_MEAN/STD, RGB).
var (
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// ImageNetEval is the evaluation transform of Vim, VMamba and the DeiT
// repository: Resize(256, bicubic) → CenterCrop(224) → ToTensor → Normalize.
var ImageNetEval = EvalTransform{Size: 224, CropPct: 0.875, Mean: ImageNetMean, Std: ImageNetStd, Interpolation: "bicubic"}

// TimmDeiTEval is timm's pretrained-config variant for deit_*_224
// (crop_pct 0.9, so the shorter side is resized to 248).
var TimmDeiTEval = EvalTransform{Size: 224, CropPct: 0.9, Mean: ImageNetMean, Std: ImageNetStd, Interpolation: "bicubic"}

// EvalTransform is timm's transforms_imagenet_eval / torchvision's
// Resize(int(Size/CropPct)) → CenterCrop(Size) → ToTensor → Normalize(Mean,
// Std), computed exactly: Pillow's fixed-point resampling, torchvision's
// truncated long side and banker's-rounded crop offsets, float32 /255 and
// normalisation. A value is immutable and safe for concurrent use.
type EvalTransform struct {
	// Size is the side of the square crop (224).
	Size int
	// CropPct sets the resize target: the shorter side becomes
	// floor(Size/CropPct). 0 means 0.875; 1 resizes straight to Size.
	CropPct float64
	// Mean and Std normalise each channel: (x/255 − Mean[c]) / Std[c].
	Mean, Std [3]float32
	// Interpolation names the Pillow filter ("bicubic" when empty).
	Interpolation string
	// Grayscale produces a (1, Size, Size) tensor from Pillow's
	// convert("L") of the image, normalised with Mean[0] and Std[0].
	Grayscale bool
}

// ResizeSize returns the shorter-side target int(Size/CropPct).
func (t EvalTransform) ResizeSize() int {
	p := t.CropPct
	if p == 0 {
		p = 0.875
	}
	return int(math.Floor(float64(t.Size) / p))
}

// Channels is 1 for a Grayscale transform, else 3.
func (t EvalTransform) Channels() int {
	if t.Grayscale {
		return 1
	}
	return 3
}

// Apply runs the transform on img (any image; converted with ToRGB or
// ToGray first) and returns a (3, Size, Size) — or (1, Size, Size) when
// Grayscale — float32 CHW tensor.
func (t EvalTransform) Apply(img image.Image) (*kernels.Tensor, error) {
	if t.Size <= 0 {
		return nil, fmt.Errorf("datasets: eval transform size %d must be positive", t.Size)
	}
	dst := kernels.New(t.Channels(), t.Size, t.Size)
	if err := t.ApplyInto(dst, img); err != nil {
		return nil, err
	}
	return dst, nil
}

// ApplyInto is Apply writing into dst, a host tensor of shape
// (Channels(), Size, Size) — for instance one item of a (B, 3, 224, 224)
// batch taken with Narrow0(i, 1) — so a batch is filled without copies.
func (t EvalTransform) ApplyInto(dst *kernels.Tensor, img image.Image) error {
	if t.Size <= 0 {
		return fmt.Errorf("datasets: eval transform size %d must be positive", t.Size)
	}
	if t.CropPct < 0 || t.CropPct > 1 || math.IsNaN(t.CropPct) {
		return fmt.Errorf("datasets: crop_pct %v outside (0, 1]", t.CropPct)
	}
	f, err := ParseFilter(t.Interpolation)
	if err != nil {
		return err
	}
	if dst == nil || dst.Data == nil || dst.Rank() < 2 || dst.Len() != t.Channels()*t.Size*t.Size || dst.Dim(-1) != t.Size || dst.Dim(-2) != t.Size {
		return fmt.Errorf("datasets: eval transform into %v, want a host tensor of shape (%d, %d, %d)", dst, t.Channels(), t.Size, t.Size)
	}
	pix, W, H, ch := packed(img, t.Grayscale)
	if W == 0 || H == 0 {
		return fmt.Errorf("datasets: empty %d×%d image", W, H)
	}
	s := t.ResizeSize()
	if s <= 0 {
		return fmt.Errorf("datasets: resize size %d must be positive", s)
	}
	nw, nh := ShorterSideSize(W, H, s)
	if nw != W || nh != H {
		if pix, err = resample(pix, W, H, ch, nw, nh, f); err != nil {
			return err
		}
		W, H = nw, nh
	}
	pix, W, H = CenterCropPacked(pix, W, H, ch, t.Size, t.Size)
	normalizeInto(dst.Data, pix, W, H, ch, t.Mean, t.Std)
	return nil
}

// ShorterSideSize is torchvision's Resize(int) output size for a w×h image:
// the shorter side becomes s and the longer int(s·long/short) (truncated).
func ShorterSideSize(w, h, s int) (nw, nh int) {
	short, long := w, h
	if w > h {
		short, long = h, w
	}
	nl := int(float64(s*long) / float64(short))
	if w <= h {
		return s, nl
	}
	return nl, s
}

// CenterCropPacked is torchvision's center_crop on packed pixels with ch
// channels: when the image is smaller than the crop it is first zero-padded
// (left/top get (crop−size)//2, right/bottom the rest), then the crop starts
// at int(round((size − crop) / 2)) with Python's round-half-to-even.
func CenterCropPacked(pix []uint8, W, H, ch, cw, chh int) ([]uint8, int, int) {
	if cw > W || chh > H {
		pl, pt := 0, 0
		nW, nH := W, H
		if cw > W {
			pl = (cw - W) / 2
			nW = cw
		}
		if chh > H {
			pt = (chh - H) / 2
			nH = chh
		}
		padded := make([]uint8, nW*nH*ch)
		for y := 0; y < H; y++ {
			copy(padded[((y+pt)*nW+pl)*ch:], pix[y*W*ch:(y+1)*W*ch])
		}
		pix, W, H = padded, nW, nH
		if cw == W && chh == H {
			return pix, W, H
		}
	}
	top := int(math.RoundToEven(float64(H-chh) / 2))
	left := int(math.RoundToEven(float64(W-cw) / 2))
	out := make([]uint8, cw*chh*ch)
	for y := 0; y < chh; y++ {
		copy(out[y*cw*ch:(y+1)*cw*ch], pix[((y+top)*W+left)*ch:])
	}
	return out, cw, chh
}

// NativeTransform prepares an image for any-resolution inference without
// cropping: ToTensor and Normalize, after an optional resize.
//
//   - Width and Height both > 0: resize to exactly Width×Height;
//   - otherwise the native size is kept, except that Multiple > 1 rounds each
//     side to the nearest multiple of Multiple (at least Multiple) with a
//     resize, for models whose patch stride must divide the input;
//   - MaxSide > 0 first scales the image down (aspect kept, truncated) so its
//     longer side is at most MaxSide.
//
// A value is immutable and safe for concurrent use.
type NativeTransform struct {
	Width, Height int
	Multiple      int
	MaxSide       int
	Mean, Std     [3]float32
	Interpolation string
	Grayscale     bool
}

// TargetSize returns the size Apply resizes a w×h image to.
func (t NativeTransform) TargetSize(w, h int) (int, int) {
	if t.Width > 0 && t.Height > 0 {
		return t.Width, t.Height
	}
	if t.MaxSide > 0 && max(w, h) > t.MaxSide {
		if w >= h {
			w, h = t.MaxSide, max(1, int(float64(t.MaxSide)*float64(h)/float64(w)))
		} else {
			w, h = max(1, int(float64(t.MaxSide)*float64(w)/float64(h))), t.MaxSide
		}
	}
	if m := t.Multiple; m > 1 {
		w = max(m, int(math.RoundToEven(float64(w)/float64(m)))*m)
		h = max(m, int(math.RoundToEven(float64(h)/float64(m)))*m)
	}
	return w, h
}

// Apply returns a (3, H, W) (or (1, H, W) when Grayscale) float32 tensor.
func (t NativeTransform) Apply(img image.Image) (*kernels.Tensor, error) {
	f, err := ParseFilter(t.Interpolation)
	if err != nil {
		return nil, err
	}
	pix, W, H, ch := packed(img, t.Grayscale)
	if W == 0 || H == 0 {
		return nil, fmt.Errorf("datasets: empty %d×%d image", W, H)
	}
	nw, nh := t.TargetSize(W, H)
	if nw != W || nh != H {
		if pix, err = resample(pix, W, H, ch, nw, nh, f); err != nil {
			return nil, err
		}
	}
	return normalize(pix, nw, nh, ch, t.Mean, t.Std), nil
}

// packed returns img as packed 8-bit pixels (RGB or L).
func packed(img image.Image, gray bool) ([]uint8, int, int, int) {
	if gray {
		g := ToGray(img)
		return g.Pix, g.Rect.Dx(), g.Rect.Dy(), 1
	}
	r := ToRGB(img)
	return r.Pix, r.Rect.Dx(), r.Rect.Dy(), 3
}

// normalize is ToTensor (HWC uint8 → CHW float32 / 255) followed by
// Normalize, both in float32 like PyTorch.
func normalize(pix []uint8, W, H, ch int, mean, std [3]float32) *kernels.Tensor {
	out := kernels.New(ch, H, W)
	normalizeInto(out.Data, pix, W, H, ch, mean, std)
	return out
}

func normalizeInto(dst []float32, pix []uint8, W, H, ch int, mean, std [3]float32) {
	n := W * H
	for c := 0; c < ch; c++ {
		m, s := mean[c], std[c]
		var lut [256]float32
		for v := range lut {
			lut[v] = (float32(v)/255 - m) / s
		}
		d := dst[c*n : (c+1)*n]
		for i := range d {
			d[i] = lut[pix[i*ch+c]]
		}
	}
}
