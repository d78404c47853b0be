package datasets

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/gomamba/gomamba/internal/golden"
)

type preprocessCase struct {
	Name          string `json:"name"`
	Input         string `json:"input"`
	Mode          string `json:"mode"`
	InputSize     [2]int `json:"input_size"`
	ResizedSizeWH [2]int `json:"resized_size_wh"`
	TensorShape   []int  `json:"tensor_shape"`
}

func loadPreprocessCases(t *testing.T) (string, []preprocessCase) {
	t.Helper()
	dir := golden.Dir(t, "preprocess")
	raw, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []preprocessCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("preprocess/cases.json lists no cases")
	}
	return dir, doc.Cases
}

func loadSafetensors(t *testing.T, path string) safetensors.SafeTensors {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st
}

// TestGoldenPreprocess checks the decoder + Pillow resize byte for byte and
// the full eval transform within 1e-6 against Pillow 12.3/torchvision 0.26.
func TestGoldenPreprocess(t *testing.T) {
	dir, cases := loadPreprocessCases(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			st := loadSafetensors(t, filepath.Join(dir, c.Name+".safetensors"))
			img, err := DecodeFile(filepath.Join(dir, c.Input))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != c.InputSize[0] || b.Dy() != c.InputSize[1] {
				t.Fatalf("decoded %v, cases.json says %v", b, c.InputSize)
			}
			rgb := ToRGB(img)
			nw, nh := ShorterSideSize(rgb.Rect.Dx(), rgb.Rect.Dy(), ImageNetEval.ResizeSize())
			if nw != c.ResizedSizeWH[0] || nh != c.ResizedSizeWH[1] {
				t.Fatalf("resize target %dx%d, want %v", nw, nh, c.ResizedSizeWH)
			}
			res, err := ResizeRGB(rgb, nw, nh, Bicubic)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := st.Tensor("resized")
			if !ok {
				t.Fatal("no tensor 'resized'")
			}
			if want.DType() != safetensors.U8 || len(want.Data()) != len(res.Pix) {
				t.Fatalf("resized: dtype %v shape %v vs ours %d bytes", want.DType(), want.Shape(), len(res.Pix))
			}
			diff, first := 0, -1
			for i, v := range want.Data() {
				if res.Pix[i] != v {
					diff++
					if first < 0 {
						first = i
					}
				}
			}
			if diff != 0 {
				i := first
				t.Fatalf("resized: %d of %d bytes differ; first at pixel (%d,%d) ch %d: got %d want %d",
					diff, len(res.Pix), (i/3)%nw, i/3/nw, i%3, res.Pix[i], want.Data()[i])
			}

			ten, err := ImageNetEval.Apply(img)
			if err != nil {
				t.Fatal(err)
			}
			wt, ok := st.Tensor("tensor")
			if !ok {
				t.Fatal("no tensor 'tensor'")
			}
			if len(wt.Data()) != 4*len(ten.Data) {
				t.Fatalf("tensor shape %v vs ours %v", wt.Shape(), ten.Shape())
			}
			maxd, exact := 0.0, 0
			for i := range ten.Data {
				w := math.Float32frombits(binary.LittleEndian.Uint32(wt.Data()[4*i:]))
				if w == ten.Data[i] {
					exact++
				}
				maxd = max(maxd, math.Abs(float64(w-ten.Data[i])))
			}
			t.Logf("tensor: max |diff| %.3g, %d/%d bit-identical", maxd, exact, len(ten.Data))
			if maxd > 1e-6 {
				t.Fatalf("tensor max |diff| %g > 1e-6", maxd)
			}
		})
	}
}
