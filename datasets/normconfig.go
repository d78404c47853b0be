package datasets

import "fmt"

// ParseNormalization validates the optional "crop_pct", "mean" and "std"
// fields of a model's config.json and writes the ones present into cropPct,
// dstMean and dstStd (1 or 3 values each; one value is used for every
// channel). The resulting std must be positive in every channel. Errors name
// the field, e.g. "mean has 4 values, want 1 or 3"; callers add the file.
func ParseNormalization(cropPct *float64, mean, std []float64, dstCrop *float64, dstMean, dstStd *[3]float32) error {
	if cropPct != nil {
		if !(*cropPct > 0 && *cropPct <= 1) {
			return fmt.Errorf("crop_pct %g not in (0, 1]", *cropPct)
		}
		*dstCrop = *cropPct
	}
	for _, v := range []struct {
		name string
		src  []float64
		dst  *[3]float32
	}{{"mean", mean, dstMean}, {"std", std, dstStd}} {
		switch len(v.src) {
		case 0:
		case 1, 3:
			for i := range 3 {
				v.dst[i] = float32(v.src[min(i, len(v.src)-1)])
			}
		default:
			return fmt.Errorf("%s has %d values, want 1 or 3", v.name, len(v.src))
		}
	}
	for _, s := range dstStd {
		if !(s > 0) {
			return fmt.Errorf("std %v must be positive", *dstStd)
		}
	}
	return nil
}
