// Package tokenizer is the GPT-NeoX tokenizer of the Mamba language models:
// byte-level BPE loaded from a Hugging Face tokenizer.json, reproducing the
// Hugging Face tokenizers library id for id.
//
// Encode runs the same pipeline as Hugging Face: added tokens such as
// "<|endoftext|>" are matched in the raw text first (leftmost, longest);
// the text between them is NFC-normalised and split by the GPT-2 pattern
// ('s|'t|…| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+, written
// out by hand because Go's regexp has no lookahead); each piece's bytes are
// mapped to GPT-2's byte-level characters and merged by BPE in merge-rank
// order. Decode maps tokens back to bytes and reads them as UTF-8 with
// Rust's replacement rules.
//
// Why not github.com/sugarme/tokenizer: on the golden cases v0.3.0 drops
// added special tokens ("a<|endoftext|>b" → [a b]), skips the NFC
// normaliser, its split pattern omits the whitespace rules (a TODO in its
// source) and it panics on malformed JSON through unchecked type
// assertions; it matched 17 of 20 cases. This package is ~500 lines and
// matches all of them plus 619 reference strings.
//
// Only what is reproduced exactly is accepted: a BPE model without dropout
// or subword affixes, NFC or no normaliser, the ByteLevel pre-tokenizer
// and decoder, and a ByteLevel or absent post-processor; other
// tokenizer.json files are refused at Load.
//
// A Tokenizer is safe for concurrent use. Encode caches the ids of up to
// 10,000 recent words; BPE itself is O(n log n) in the word length, so
// hostile input cannot make it quadratic.
package tokenizer
