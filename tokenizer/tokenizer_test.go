package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
	"github.com/google/go-cmp/cmp"
)

type goldenCase struct {
	Text    string   `json:"text"`
	IDs     []int    `json:"ids"`
	Tokens  []string `json:"tokens"`
	Decoded string   `json:"decoded"`
}

func loadGolden(t testing.TB) (*Tokenizer, []goldenCase, int) {
	t.Helper()
	dir := golden.Dir(t, "tokenizer")
	tk, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		VocabSize int          `json:"vocab_size"`
		Cases     []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &cj); err != nil {
		t.Fatal(err)
	}
	if len(cj.Cases) == 0 {
		t.Fatal("cases.json has no cases")
	}
	return tk, cj.Cases, cj.VocabSize
}

// TestGoldenCases checks every case of the fixture id for id, token for
// token, and the decoded text.
func TestGoldenCases(t *testing.T) {
	tk, cases, vocab := loadGolden(t)
	if vocab != 0 && tk.VocabSize() != vocab {
		t.Errorf("VocabSize = %d, want %d", tk.VocabSize(), vocab)
	}
	for _, c := range cases {
		name := c.Text
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			ids := tk.Encode(c.Text)
			if diff := cmp.Diff(c.IDs, ids); diff != "" {
				t.Errorf("Encode(%q) ids (-want +got):\n%s", c.Text, diff)
			}
			toks := make([]string, len(ids))
			for i, id := range ids {
				toks[i], _ = tk.IDToToken(id)
			}
			if diff := cmp.Diff(c.Tokens, toks); diff != "" {
				t.Errorf("tokens (-want +got):\n%s", diff)
			}
			if got := tk.Decode(c.IDs); got != c.Decoded {
				t.Errorf("Decode = %q, want %q", got, c.Decoded)
			}
		})
	}
}

func TestTokenBytesConcatenatesToDecode(t *testing.T) {
	tok, _, _ := loadGolden(t)
	for _, s := range []string{"Hello, wörld! 👋", "  tabs\tand\nnewlines", "<|endoftext|>x"} {
		ids := tok.Encode(s)
		var b []byte
		for _, id := range ids {
			b = append(b, tok.TokenBytes(id)...)
		}
		if got, want := string(b), tok.Decode(ids); got != want {
			t.Errorf("%q: TokenBytes give %q, Decode %q", s, got, want)
		}
	}
	if tok.TokenBytes(-1) != nil || tok.TokenBytes(tok.VocabSize()+5) != nil {
		t.Error("out-of-range ids must give nil")
	}
}
