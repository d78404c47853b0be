package tokenizer

import (
	"os"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func FuzzTokenizerJSON(f *testing.F) {
	f.Add([]byte(miniJSON()))
	f.Add([]byte(miniJSON(`"merges":["Ġ a"]`, `"merges":[["Ġ","a"]]`)))
	f.Add([]byte(miniJSON(`"lstrip":false,"rstrip":false`, `"lstrip":true,"rstrip":true`)))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":["a a"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := parse(b)
		if err != nil {
			return
		}
		for _, s := range []string{"", "hello world", " a<|endoftext|>b  ", "e\u0301 日本 🐍\n\n"} {
			ids := tk.Encode(s)
			for _, id := range ids {
				if id < 0 || id >= tk.VocabSize() {
					t.Fatalf("Encode(%q) gave id %d outside [0, %d)", s, id, tk.VocabSize())
				}
			}
			tk.Decode(ids)
		}
	})
}

// FuzzEncodeDecode checks decode(encode(s)) == NFC(s) for valid UTF-8.
func FuzzEncodeDecode(f *testing.F) {
	b, err := os.ReadFile("testdata/gpt_neox_2048.tokenizer.json")
	if err != nil {
		f.Fatal(err)
	}
	tk, err := parse(b)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"Hello, world!", "  lead", "trail   ", "it's 'll", "e\u0301", "<|endoftext|>x<|padding|>",
		"\u00a0\u3000\t\n", "🐍🚀 日本語", "x'S 12 ٣²½"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		ids := tk.Encode(s)
		if got, want := tk.Decode(ids), norm.NFC.String(s); got != want {
			t.Fatalf("Decode(Encode(%+q)) = %+q, want %+q (ids %v)", s, got, want, ids)
		}
	})
}
