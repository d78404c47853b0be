package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/gomamba/gomamba/tokenizer"
)

func ExampleLoad() {
	tk, err := tokenizer.Load("testdata/gpt_neox_2048.tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	ids := tk.Encode("Hello, world!<|endoftext|>")
	fmt.Println(ids)
	var toks []string
	for _, id := range ids[:5] {
		tok, _ := tk.IDToToken(id)
		toks = append(toks, tok)
	}
	fmt.Printf("%q\n", toks)
	fmt.Printf("%q %d\n", tk.Decode(ids), tk.VocabSize())
	// Output:
	// [41 495 80 13 722 2 0]
	// ["H" "ell" "o" "," "Ġworld"]
	// "Hello, world!<|endoftext|>" 2048
}
