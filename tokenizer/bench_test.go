package tokenizer

import (
	"strings"
	"testing"
)

// benchText is ~4 KB of mixed English prose, code and numbers.
var benchText = strings.Repeat("The quick brown fox jumps over the lazy dog. Mamba is a selective "+
	"state space model; it's fast.\n\tfunc main() { fmt.Println(\"hi\", 3.14159) }\n", 30)

func BenchmarkEncode(b *testing.B) {
	tk, err := Load("testdata/gpt_neox_2048.tokenizer.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		b.SetBytes(int64(len(benchText)))
		for b.Loop() {
			tk.Encode(benchText)
		}
	})
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(benchText)))
		for b.Loop() {
			tk.mu.Lock()
			clear(tk.cache)
			tk.mu.Unlock()
			tk.Encode(benchText)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	tk, err := Load("testdata/gpt_neox_2048.tokenizer.json")
	if err != nil {
		b.Fatal(err)
	}
	ids := tk.Encode(benchText)
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		tk.Decode(ids)
	}
}
