package datasets

import (
	"fmt"
	"math"

	"github.com/gomamba/gomamba/kernels"
)

// MeanStd returns the mean and (population) standard deviation of all pixel
// values scaled to [0, 1], the numbers a Normalize for this set uses
// (Fashion-MNIST train: 0.2860, 0.3530).
func (s *ImageSet) MeanStd() (mean, std float64) {
	var hist [256]int64
	for _, v := range s.Pix {
		hist[v]++
	}
	n := float64(len(s.Pix))
	if n == 0 {
		return 0, 0
	}
	var sum, sq float64
	for v, c := range hist {
		x := float64(v) / 255
		sum += x * float64(c)
		sq += x * x * float64(c)
	}
	mean = sum / n
	return mean, math.Sqrt(math.Max(sq/n-mean*mean, 0))
}

// Batch writes images idx into dst, a host tensor of shape
// (len(idx), 1, Height, Width), as ToTensor + Normalize would:
// (v/255 − mean) / std in float32, and returns their labels as ints.
func (s *ImageSet) Batch(dst *kernels.Tensor, idx []int, mean, std float32) ([]int, error) {
	if dst == nil || dst.Data == nil || dst.Len() != len(idx)*s.Height*s.Width {
		return nil, fmt.Errorf("datasets: batch of %d into %v, want a host tensor of shape (%d, 1, %d, %d)", len(idx), dst, len(idx), s.Height, s.Width)
	}
	var lut [256]float32
	for v := range lut {
		lut[v] = (float32(v)/255 - mean) / std
	}
	n := s.Height * s.Width
	labels := make([]int, len(idx))
	for b, i := range idx {
		if i < 0 || i >= s.N {
			return nil, fmt.Errorf("datasets: batch index %d outside 0..%d", i, s.N-1)
		}
		d := dst.Data[b*n : (b+1)*n]
		for j, v := range s.Pixels(i) {
			d[j] = lut[v]
		}
		labels[b] = int(s.Labels[i])
	}
	return labels, nil
}
