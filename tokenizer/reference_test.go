package tokenizer

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReference compares the hand-written GPT-2 split with the regex
// itself (Python's regex module, which has lookahead) and Encode with an
// independent Python reference (classic GPT-2 bpe loop) on 619 random and
// edge-case strings: contractions, whitespace runs before words and at the
// end, Unicode spaces, numbers of every category, combining marks, emoji
// and added tokens. See testdata/gen_reference.py.
func TestReference(t *testing.T) {
	tk, err := Load("testdata/gpt_neox_2048.tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Text   string   `json:"text"`
			Pieces []string `json:"pieces"`
			IDs    []int    `json:"ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 600 {
		t.Fatalf("only %d reference cases", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		pieces := []string{}
		splitGPT2(c.Text, func(p string) { pieces = append(pieces, p) })
		if diff := cmp.Diff(c.Pieces, pieces); diff != "" {
			t.Errorf("split %+q (-regex +ours):\n%s", c.Text, diff)
		}
		if diff := cmp.Diff(c.IDs, tk.Encode(c.Text)); diff != "" {
			t.Errorf("Encode %+q (-reference +ours):\n%s", c.Text, diff)
		}
	}
}
