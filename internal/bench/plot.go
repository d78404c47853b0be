package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Point is one measured resolution of a model.
type Point struct {
	Side       int     // image side in pixels (square input)
	MsPerImage float64 // milliseconds per image
	UsPerToken float64 // microseconds per token
}

// Series is one model's points, in increasing Side.
type Series struct {
	Name   string
	Points []Point
}

// PlotScaling writes a PNG with two panels side by side: time per image
// and time per token against the image side, both on log-log axes, one
// line per series (the colours are shared; the legend is in the first panel).
func PlotScaling(path string, series []Series) error {
	if len(series) == 0 {
		return fmt.Errorf("bench: plot %s: no series", path)
	}
	perImage, perToken := plot.New(), plot.New()
	perImage.Title.Text, perToken.Title.Text = "time per image", "time per token"
	perImage.Y.Label.Text, perToken.Y.Label.Text = "ms / image", "µs / token"
	colors := []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	}
	for _, p := range []*plot.Plot{perImage, perToken} {
		p.X.Label.Text = "image side (pixels)"
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = sideTicks(series), logTicks{}
		p.Add(plotter.NewGrid())
	}
	for i, s := range series {
		img, tok := make(plotter.XYs, 0, len(s.Points)), make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			if pt.Side <= 0 || !(pt.MsPerImage > 0) || !(pt.UsPerToken > 0) {
				return fmt.Errorf("bench: plot %s: %s: point %+v is not positive", path, s.Name, pt)
			}
			img = append(img, plotter.XY{X: float64(pt.Side), Y: pt.MsPerImage})
			tok = append(tok, plotter.XY{X: float64(pt.Side), Y: pt.UsPerToken})
		}
		for j, xy := range []plotter.XYs{img, tok} {
			l, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return fmt.Errorf("bench: plot %s: %s: %w", path, s.Name, err)
			}
			c := colors[i%len(colors)]
			l.Color, pts.Color = c, c
			p := []*plot.Plot{perImage, perToken}[j]
			p.Add(l, pts)
			if j == 0 { // one legend, bottom right of the time-per-image panel (the lines rise to the right)
				p.Legend.Add(s.Name, l, pts)
			}
		}
	}
	const w, h = 12 * vg.Inch, 5 * vg.Inch
	canvas := vgimg.New(w, h)
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadY: vg.Inch / 8, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	plots := [][]*plot.Plot{{perImage, perToken}}
	cs := plot.Align(plots, tiles, dc)
	perImage.Draw(cs[0][0])
	perToken.Draw(cs[0][1])
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: plot %s: %w", path, err)
	}
	return nil
}

// logTicks labels 1, 2 and 5 times the powers of ten inside the range (and
// the range's ends when fewer than two of those fall inside), for log axes
// spanning less than a decade, where plot.LogTicks would label nothing.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	if !(lo > 0) || !(hi >= lo) {
		return ts
	}
	label := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: label(v)})
			}
		}
	}
	if len(ts) < 2 {
		ts = append(ts, plot.Tick{Value: lo, Label: label(lo)}, plot.Tick{Value: hi, Label: label(hi)})
	}
	return ts
}

// sideTicks labels the x axis at the measured image sides.
func sideTicks(series []Series) plot.ConstantTicks {
	var ts plot.ConstantTicks
	seen := map[int]bool{}
	for _, s := range series {
		for _, p := range s.Points {
			if !seen[p.Side] {
				seen[p.Side] = true
				ts = append(ts, plot.Tick{Value: float64(p.Side), Label: strconv.Itoa(p.Side)})
			}
		}
	}
	slices.SortFunc(ts, func(a, b plot.Tick) int { return int(a.Value - b.Value) })
	return ts
}
