package train

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotHistory draws the per-epoch training loss, training accuracy and test
// accuracy of a run side by side into a PNG file.
func PlotHistory(path string, hist []Progress) error {
	if len(hist) == 0 {
		return fmt.Errorf("train: plot %s: empty history", path)
	}
	loss, trainAcc, testAcc := make(plotter.XYs, len(hist)), make(plotter.XYs, len(hist)), make(plotter.XYs, len(hist))
	testLoss := make(plotter.XYs, len(hist))
	for i, h := range hist {
		x := float64(h.Epoch)
		loss[i] = plotter.XY{X: x, Y: h.Loss}
		testLoss[i] = plotter.XY{X: x, Y: h.TestLoss}
		trainAcc[i] = plotter.XY{X: x, Y: h.Acc}
		testAcc[i] = plotter.XY{X: x, Y: h.TestAcc}
	}
	pl := plot.New()
	pl.Title.Text = "loss"
	pl.X.Label.Text = "epoch"
	pa := plot.New()
	pa.Title.Text = "accuracy"
	pa.X.Label.Text = "epoch"
	for _, s := range []struct {
		p    *plot.Plot
		name string
		xy   plotter.XYs
		i    int
	}{{pl, "train", loss, 0}, {pl, "test", testLoss, 1}, {pa, "train", trainAcc, 0}, {pa, "test", testAcc, 1}} {
		line, points, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return fmt.Errorf("train: plot %s: %w", path, err)
		}
		line.Color = plotColors[s.i]
		points.Color = plotColors[s.i]
		s.p.Add(line, points)
		s.p.Legend.Add(s.name, line, points)
	}
	pa.Legend.Top = false
	pa.Legend.Left = false
	pa.Add(plotter.NewGrid())
	pl.Add(plotter.NewGrid())
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadY: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{pl, pa}}, tiles, dc)
	pl.Draw(canvases[0][0])
	pa.Draw(canvases[0][1])
	return savePNG(path, img)
}

// ReadLog reads the per-epoch lines of a train_log.jsonl written by
// `gomamba train` (all runs of a resumed training appended in order).
func ReadLog(path string) ([]Progress, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	var hist []Progress
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e struct {
			Epoch     int     `json:"epoch"`
			TrainLoss float64 `json:"train_loss"`
			TrainAcc  float64 `json:"train_acc"`
			TestLoss  float64 `json:"test_loss"`
			TestAcc   float64 `json:"test_acc"`
			ImgPerSec float64 `json:"images_per_sec"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("train: %s line %d: %w", path, i+1, err)
		}
		hist = append(hist, Progress{Epoch: e.Epoch, Loss: e.TrainLoss, Acc: e.TrainAcc, TestLoss: e.TestLoss, TestAcc: e.TestAcc, ImagesPerSec: e.ImgPerSec, Eval: true})
	}
	return hist, nil
}
