package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// miniJSON builds a small valid tokenizer.json with the 256 byte-level
// tokens, "Ġa" via one merge and one special token; edit applies a textual
// replacement to make it invalid.
func miniJSON(edit ...string) string {
	var vocab strings.Builder
	for b := 0; b < 256; b++ {
		vocab.WriteString(`"` + jsonEscape(string(byteToRune[b])) + `":` + itoa(b+1) + `,`)
	}
	vocab.WriteString(`"Ġa":257`)
	s := `{"added_tokens":[{"id":0,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],` +
		`"normalizer":{"type":"NFC"},` +
		`"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},` +
		`"post_processor":{"type":"ByteLevel"},"decoder":{"type":"ByteLevel"},` +
		`"model":{"type":"BPE","dropout":null,"unk_token":null,"vocab":{` + vocab.String() + `},"merges":["Ġ a"]}}`
	for i := 0; i+1 < len(edit); i += 2 {
		s = strings.Replace(s, edit[i], edit[i+1], 1)
	}
	return s
}

func jsonEscape(s string) string {
	switch s {
	case `"`:
		return `\"`
	case `\`:
		return `\\`
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestMini(t *testing.T) {
	tk, err := parse([]byte(miniJSON()))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Encode(" a<|endoftext|>b"); len(got) != 3 || got[0] != 257 || got[1] != 0 || got[2] != int(1+'b') {
		t.Errorf("Encode = %v", got)
	}
	if tk.VocabSize() != 258 {
		t.Errorf("VocabSize = %d", tk.VocabSize())
	}
	if id, ok := tk.TokenToID("<|endoftext|>"); !ok || id != 0 {
		t.Errorf("TokenToID = %d %v", id, ok)
	}
	if _, ok := tk.IDToToken(9999); ok {
		t.Error("IDToToken(9999) found")
	}
	// Pair-style merges and prefix space.
	tk, err = parse([]byte(miniJSON(`"merges":["Ġ a"]`, `"merges":[["Ġ","a"]]`, `"add_prefix_space":false`, `"add_prefix_space":true`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Encode("a"); len(got) != 1 || got[0] != 257 {
		t.Errorf("prefix space: Encode(a) = %v", got)
	}
	if got := tk.Decode([]int{257, -5, 1 << 30, 0}); got != " a<|endoftext|>" {
		t.Errorf("Decode = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		json string
		want string
	}{
		{"not json", `{"model":`, "json:"},
		{"wordpiece", miniJSON(`"type":"BPE"`, `"type":"WordPiece"`), `model type "WordPiece"`},
		{"dropout", miniJSON(`"dropout":null`, `"dropout":0.1`), "dropout"},
		{"byte fallback", miniJSON(`"unk_token":null`, `"byte_fallback":true`), "byte_fallback"},
		{"suffix", miniJSON(`"unk_token":null`, `"end_of_word_suffix":"</w>"`), "end_of_word_suffix"},
		{"no vocab", `{"model":{"type":"BPE","vocab":{},"merges":[]}}`, "out of range"},
		{"negative id", miniJSON(`"Ġa":257`, `"Ġa":-1`), "out of range"},
		{"sparse id", miniJSON(`"Ġa":257`, `"Ġa":100000`), "out of range"},
		{"duplicate id", miniJSON(`"Ġa":257`, `"Ġa":256`), "vocab id 256 is used by"},
		{"missing byte", miniJSON(`"Ā":1,`, `"QQ":1,`), "lacks the byte-level token"},
		{"merge outside vocab", miniJSON(`["Ġ a"]`, `["Ġ b", "x y"]`), "not in the vocab"},
		{"bad merge string", miniJSON(`["Ġ a"]`, `["Ġa"]`), "not two space-separated tokens"},
		{"bad merge pair", miniJSON(`["Ġ a"]`, `[["Ġ"]]`), "not a pair"},
		{"bad merge type", miniJSON(`["Ġ a"]`, `[7]`), "not a pair"},
		{"empty added", miniJSON(`"content":"<|endoftext|>"`, `"content":""`), "added token"},
		{"added ids clash", miniJSON(`"special":true}]`, `"special":true},{"id":0,"content":"x"}]`), "share id 0"},
		{"sequence normalizer", miniJSON(`{"type":"NFC"}`, `{"type":"Sequence","normalizers":[{"type":"Replace","pattern":"NFC"}]}`), `normalizer "Sequence"`},
		{"normalizer", miniJSON(`{"type":"NFC"}`, `{"type":"Lowercase"}`), `normalizer "Lowercase"`},
		{"pre_tokenizer", miniJSON(`"type":"ByteLevel","add_prefix_space"`, `"type":"Metaspace","add_prefix_space"`), `pre_tokenizer "Metaspace"`},
		{"no pre_tokenizer", miniJSON(`"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},`, ``), "pre_tokenizer is missing"},
		{"post_processor", miniJSON(`"post_processor":{"type":"ByteLevel"}`, `"post_processor":{"type":"TemplateProcessing"}`), `post_processor "TemplateProcessing"`},
		{"decoder", miniJSON(`"decoder":{"type":"ByteLevel"}`, `"decoder":{"type":"WordPiece"}`), `decoder "WordPiece"`},
		{"no decoder", miniJSON(`"decoder":{"type":"ByteLevel"},`, ``), "decoder is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tokenizer.json")
			os.WriteFile(p, []byte(c.json), 0o644)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "tokenizer: load "+p+": ") || !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not name the file and %q", msg, c.want)
			}
		})
	}
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("LoadDir of an empty folder: %v", err)
	}
}

// TestLossyUTF8 checks the maximal-subpart replacement against the
// examples of the Unicode standard (§3.9, Table 3-8) and Rust's behaviour.
func TestLossyUTF8(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe2\x82", "\uFFFD"},                 // truncated 3-byte sequence: one U+FFFD
		{"\xe2\x82a", "\uFFFDa"},               //
		{"\xf0\x9f\x90", "\uFFFD"},             // truncated 4-byte
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong lead: each byte
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate: E0..9F rule
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"\xf0\x9f\x90\x8d", "🐍"},
	}
	for _, c := range cases {
		if got := LossyUTF8([]byte(c.in)); got != c.want {
			t.Errorf("LossyUTF8(%+q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

// TestAddedTokens covers leftmost-longest matching, normalized added
// tokens (GPT-NeoX's runs of spaces), single_word and lstrip/rstrip.
func TestAddedTokens(t *testing.T) {
	added := `[{"id":0,"content":"<|endoftext|>","normalized":false,"special":true},` +
		`{"id":258,"content":"  ","normalized":true},{"id":259,"content":"   ","normalized":true},` +
		`{"id":260,"content":"<|e","normalized":false},{"id":261,"content":"[W]","single_word":true},` +
		`{"id":262,"content":"[S]","lstrip":true,"rstrip":true}]`
	j := miniJSON(`[{"id":0,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}]`, added,
		`"Ġa":257`, `"Ġa":257,"x1":258,"x2":259,"x3":260,"x4":261,"x5":262`)
	tk, err := parse([]byte(j))
	if err != nil {
		t.Fatal(err)
	}
	a, b := 257, int(1+'b')
	cases := []struct {
		in   string
		want []int
	}{
		{"<|endoftext|>", []int{0}},
		{"<|e", []int{260}},
		{"b     b", []int{b, 259, 258, b}}, // leftmost-longest: 3 then 2 spaces
		{"b a[W]", []int{b, a, int(1 + '['), int(1 + 'W'), int(1 + ']')}}, // glued to a word: not matched
		{"b [W] b", []int{b, int(1 + ' '), 261, int(1 + ' '), b}},
		{"b\t[S]\tb", []int{b, 262, b}},
	}
	for _, c := range cases {
		if got := tk.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	long := strings.Repeat("b  ", 20000)
	if n := len(tk.Encode(long)); n != 40000 {
		t.Errorf("long text gave %d ids", n)
	}
}
