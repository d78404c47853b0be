package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestModelGradient checks the whole Vim forward/backward (patch embedding,
// cls insertion, position table, bidirectional v2 blocks, RMSNorms, head,
// cross-entropy) against central finite differences in float64.
func TestModelGradient(t *testing.T) {
	c := Config{Name: "grad", InChans: 2, ImgSize: 8, Patch: 4, Stride: 2, Dim: 8, Depth: 2, DState: 3, Classes: 3, DConv: 4, Expand: 2, NormEps: 1e-5}
	p := NewParams[float64](c.Specs())
	Init(c, p, 1)
	r := rand.New(rand.NewPCG(9, 9))
	// make every parameter matter at a visible scale
	for i := range p.Data {
		p.Data[i] += 0.1 * r.NormFloat64()
	}
	img := make([]float64, c.InChans*c.ImgSize*c.ImgSize)
	for i := range img {
		img[i] = r.NormFloat64()
	}
	s := newSample[float64](c)
	label := 1
	lossAt := func() float64 {
		s.forward(p, img)
		l, _ := s.crossEntropy(label)
		return l
	}
	grad := NewParams[float64](c.Specs())
	s.forward(p, img)
	_, dl := s.crossEntropy(label)
	s.backward(p, grad, dl)
	const h = 1e-6
	for _, spec := range p.Specs {
		v, g := p.Get(spec.Name), grad.Get(spec.Name)
		worst := 0.0
		for i := range v {
			old := v[i]
			v[i] = old + h
			lp := lossAt()
			v[i] = old - h
			lm := lossAt()
			v[i] = old
			num := (lp - lm) / (2 * h)
			e := math.Abs(num-g[i]) / math.Max(1e-3, math.Abs(num)+math.Abs(g[i]))
			if math.Abs(num-g[i]) > 1e-7 && e > 1e-5 {
				t.Fatalf("%s[%d]: analytic %.9g, finite difference %.9g", spec.Name, i, g[i], num)
			}
			worst = math.Max(worst, math.Abs(num-g[i]))
		}
		t.Logf("%-34s %5d values, worst abs error %.2g", spec.Name, len(v), worst)
	}
}

func TestPlotHistory(t *testing.T) {
	path := t.TempDir() + "/curve.png"
	hist := []Progress{{Epoch: 1, Loss: 0.9, Acc: 0.7, TestAcc: 0.8, TestLoss: 0.6}, {Epoch: 2, Loss: 0.5, Acc: 0.85, TestAcc: 0.86, TestLoss: 0.4}}
	if err := PlotHistory(path, hist); err != nil {
		t.Fatal(err)
	}
	if err := PlotHistory(path, nil); err == nil {
		t.Fatal("empty history must be an error")
	}
}

func TestReadLog(t *testing.T) {
	hist, err := ReadLog("../vision/builtin/vim-micro-fmnist/train_log.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) < 1 || hist[0].Epoch != 1 || hist[len(hist)-1].TestAcc <= hist[0].TestAcc {
		t.Fatalf("log: %+v", hist)
	}
	bad := t.TempDir() + "/bad.jsonl"
	if err := writeFile(bad, []byte("{\"epoch\":1}\nnot json\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLog(bad); err == nil {
		t.Fatal("a corrupt log must be an error")
	}
}
