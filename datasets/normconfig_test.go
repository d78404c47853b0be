package datasets

import "testing"

func TestParseNormalization(t *testing.T) {
	half, two := 0.5, 2.0
	for _, tc := range []struct {
		name      string
		crop      *float64
		mean, std []float64
		ok        bool
		wantMean  [3]float32
		wantCrop  float64
	}{
		{"none", nil, nil, nil, true, [3]float32{9, 9, 9}, 0.875},
		{"one value", &half, []float64{0.25}, []float64{0.5}, true, [3]float32{0.25, 0.25, 0.25}, 0.5},
		{"three values", nil, []float64{1, 2, 3}, []float64{1, 1, 1}, true, [3]float32{1, 2, 3}, 0.875},
		{"bad crop", &two, nil, nil, false, [3]float32{}, 0},
		{"two means", nil, []float64{1, 2}, nil, false, [3]float32{}, 0},
		{"zero std", nil, nil, []float64{0}, false, [3]float32{}, 0},
	} {
		crop, mean, std := 0.875, [3]float32{9, 9, 9}, [3]float32{1, 1, 1}
		err := ParseNormalization(tc.crop, tc.mean, tc.std, &crop, &mean, &std)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if tc.ok && (mean != tc.wantMean || crop != tc.wantCrop) {
			t.Errorf("%s: mean %v crop %g", tc.name, mean, crop)
		}
	}
}
