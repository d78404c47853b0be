package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxFile bounds tokenizer.json (GPT-NeoX's is 2 MB; the largest public
// ones are a few tens of MB).
const maxFile = 256 << 20

// maxVocab bounds the vocabulary and merge counts.
const maxVocab = 1 << 24

// AddedToken is a token matched verbatim in the text before
// pre-tokenisation (such as "<|endoftext|>").
type AddedToken struct {
	ID         int    `json:"id"`          // the token's id
	Content    string `json:"content"`     // the literal text matched
	SingleWord bool   `json:"single_word"` // match only between non-word characters
	LStrip     bool   `json:"lstrip"`      // absorb whitespace on the left
	RStrip     bool   `json:"rstrip"`      // absorb whitespace on the right
	Normalized bool   `json:"normalized"`  // match in the normalised text, not the raw text
	Special    bool   `json:"special"`     // a control token such as <|endoftext|>
}

// Tokenizer is a byte-level BPE tokenizer (GPT-2 / GPT-NeoX family) loaded
// from a Hugging Face tokenizer.json. It is safe for concurrent use.
type Tokenizer struct {
	vocab       map[string]int32
	tokens      []string // id → token ("" for unused ids)
	decoded     [][]byte // id → the token's bytes after the ByteLevel decoder (nil if unused)
	merges      map[uint64]merge
	byteID      [256]int32 // id of each byte's single-character token
	added       []AddedToken
	addedByID   map[int]string
	rawAdded    []AddedToken // matched in raw text (normalized=false)
	normAdded   []AddedToken // matched after normalisation
	nfc         bool
	prefixSpace bool
	useRegex    bool
	ignoreMerge bool

	mu    sync.RWMutex
	cache map[string][]int
}

// cacheLimit bounds the word cache (Hugging Face uses 10,000 as well).
const cacheLimit = 10000

type fileJSON struct {
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string            `json:"type"`
		Dropout                 *float64          `json:"dropout"`
		UnkToken                *string           `json:"unk_token"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		ByteFallback            bool              `json:"byte_fallback"`
		IgnoreMerges            bool              `json:"ignore_merges"`
		Vocab                   map[string]int    `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
	} `json:"model"`
}

type component struct {
	Type           string            `json:"type"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Normalizers    []json.RawMessage `json:"normalizers"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
}

// Load reads a Hugging Face tokenizer.json describing a byte-level BPE
// model: normalizer NFC (or none), ByteLevel pre-tokenizer, BPE model,
// ByteLevel decoder (and ByteLevel or no post-processor). Anything else is
// refused with an error rather than approximated.
func Load(path string) (*Tokenizer, error) {
	t, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load %s: %w", path, err)
	}
	return t, nil
}

// LoadDir loads dir/tokenizer.json.
func LoadDir(dir string) (*Tokenizer, error) { return Load(filepath.Join(dir, "tokenizer.json")) }

func load(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("file exceeds %d bytes", maxFile)
	}
	return parse(b)
}

// parse builds a Tokenizer from tokenizer.json contents.
func parse(b []byte) (*Tokenizer, error) {
	var fj fileJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&fj); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	m := &fj.Model
	if m.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not supported (want BPE)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, errors.New("BPE dropout is not supported")
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" ||
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, errors.New("continuing_subword_prefix / end_of_word_suffix are not supported")
	}
	if m.ByteFallback {
		return nil, errors.New("byte_fallback is not supported")
	}
	if len(m.Vocab) == 0 || len(m.Vocab) > maxVocab || len(m.Merges) > maxVocab || len(fj.AddedTokens) > maxVocab {
		return nil, fmt.Errorf("vocabulary of %d tokens, %d merges, %d added tokens is out of range", len(m.Vocab), len(m.Merges), len(fj.AddedTokens))
	}
	t := &Tokenizer{
		vocab:       make(map[string]int32, len(m.Vocab)),
		merges:      make(map[uint64]merge, len(m.Merges)),
		addedByID:   map[int]string{},
		cache:       map[string][]int{},
		useRegex:    true,
		ignoreMerge: m.IgnoreMerges,
	}
	// Ids must be dense enough that the id table is bounded by the file:
	// below the number of vocabulary plus added tokens.
	idLimit := len(m.Vocab) + len(fj.AddedTokens)
	size := 0
	for tok, id := range m.Vocab {
		if id < 0 || id >= idLimit {
			return nil, fmt.Errorf("vocab token %q has id %d out of range", tok, id)
		}
		t.vocab[tok] = int32(id)
		size = max(size, id+1)
	}
	for _, a := range fj.AddedTokens {
		if a.ID < 0 || a.ID >= idLimit || a.Content == "" {
			return nil, fmt.Errorf("added token %q with id %d is invalid", a.Content, a.ID)
		}
		size = max(size, a.ID+1)
	}
	t.tokens = make([]string, size)
	seen := make([]bool, size)
	for tok, id := range t.vocab {
		if seen[id] {
			return nil, fmt.Errorf("vocab id %d is used by %q and %q", id, t.tokens[id], tok)
		}
		seen[id] = true
		t.tokens[id] = tok
	}
	for _, a := range fj.AddedTokens {
		if prev, ok := t.addedByID[a.ID]; ok {
			return nil, fmt.Errorf("added tokens %q and %q share id %d", prev, a.Content, a.ID)
		}
		t.addedByID[a.ID] = a.Content
		if !seen[a.ID] {
			t.tokens[a.ID] = a.Content
		}
		t.added = append(t.added, a)
		if a.Normalized {
			t.normAdded = append(t.normAdded, a)
		} else {
			t.rawAdded = append(t.rawAdded, a)
		}
	}
	// Longest first, so that matching at a position prefers the longest
	// token (Hugging Face uses leftmost-longest Aho-Corasick).
	for _, l := range [][]AddedToken{t.rawAdded, t.normAdded} {
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].Content) > len(l[j].Content) })
	}
	for b := 0; b < 256; b++ {
		id, ok := t.vocab[string(byteToRune[b])]
		if !ok {
			return nil, fmt.Errorf("vocab lacks the byte-level token %q for byte 0x%02x", string(byteToRune[b]), b)
		}
		t.byteID[b] = id
	}
	for rank, raw := range m.Merges {
		a, c, err := parseMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("merge %d: %w", rank, err)
		}
		ia, ok1 := t.vocab[a]
		ic, ok2 := t.vocab[c]
		id, ok3 := t.vocab[a+c]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("merge %d (%q %q): token not in the vocab", rank, a, c)
		}
		k := pairKey(ia, ic)
		if _, dup := t.merges[k]; !dup { // the first (lowest) rank wins
			t.merges[k] = merge{rank: int32(rank), id: id}
		}
	}
	if err := t.components(&fj); err != nil {
		return nil, err
	}
	t.decoded = make([][]byte, len(t.tokens))
	for id := range t.tokens {
		if tok, ok := t.IDToToken(id); ok {
			t.decoded[id] = byteLevelDecode(nil, tok)
		}
	}
	return t, nil
}

// parseMerge accepts both spellings: "a b" (older files) and ["a", "b"].
func parseMerge(raw json.RawMessage) (string, string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		a, c, ok := strings.Cut(s, " ")
		if !ok || a == "" || c == "" || strings.Contains(c, " ") {
			return "", "", fmt.Errorf("%q is not two space-separated tokens", s)
		}
		return a, c, nil
	}
	var p []string
	if err := json.Unmarshal(raw, &p); err != nil || len(p) != 2 || p[0] == "" || p[1] == "" {
		return "", "", fmt.Errorf("%s is not a pair of tokens", string(raw))
	}
	return p[0], p[1], nil
}

func componentType(raw json.RawMessage) string {
	var c component
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return c.Type
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// components checks the normalizer, pre-tokenizer, post-processor and
// decoder, accepting only what Encode and Decode reproduce exactly.
func (t *Tokenizer) components(fj *fileJSON) error {
	if !isNull(fj.Normalizer) {
		var c component
		if err := json.Unmarshal(fj.Normalizer, &c); err != nil {
			return fmt.Errorf("normalizer: %w", err)
		}
		switch {
		case c.Type == "NFC":
			t.nfc = true
		case c.Type == "Sequence" && len(c.Normalizers) == 0:
		case c.Type == "Sequence" && len(c.Normalizers) == 1 && componentType(c.Normalizers[0]) == "NFC":
			t.nfc = true
		default:
			return fmt.Errorf("normalizer %q is not supported (want NFC or none)", c.Type)
		}
	}
	if isNull(fj.PreTokenizer) {
		return errors.New("pre_tokenizer is missing (want ByteLevel)")
	}
	var pre component
	if err := json.Unmarshal(fj.PreTokenizer, &pre); err != nil {
		return fmt.Errorf("pre_tokenizer: %w", err)
	}
	if pre.Type != "ByteLevel" {
		return fmt.Errorf("pre_tokenizer %q is not supported (want ByteLevel)", pre.Type)
	}
	if pre.AddPrefixSpace != nil {
		t.prefixSpace = *pre.AddPrefixSpace
	}
	if pre.UseRegex != nil {
		t.useRegex = *pre.UseRegex
	}
	if !isNull(fj.PostProcessor) {
		var c component
		if err := json.Unmarshal(fj.PostProcessor, &c); err != nil {
			return fmt.Errorf("post_processor: %w", err)
		}
		if c.Type != "ByteLevel" {
			return fmt.Errorf("post_processor %q is not supported (want ByteLevel or none)", c.Type)
		}
	}
	if isNull(fj.Decoder) {
		return errors.New("decoder is missing (want ByteLevel)")
	}
	var d component
	if err := json.Unmarshal(fj.Decoder, &d); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	if d.Type != "ByteLevel" {
		return fmt.Errorf("decoder %q is not supported (want ByteLevel)", d.Type)
	}
	return nil
}

// VocabSize returns the number of ids (the largest id + 1, added tokens
// included).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenToID returns the id of a token (vocabulary or added).
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	for _, a := range t.added {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := t.vocab[tok]
	return int(id), ok
}

// IDToToken returns the token string of an id, byte-level encoded as in
// the vocabulary ("Ġworld" for " world").
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if a, ok := t.addedByID[id]; ok {
		return a, true
	}
	if id < 0 || id >= len(t.tokens) || t.tokens[id] == "" {
		return "", false
	}
	return t.tokens[id], true
}

// AddedTokens returns the added tokens (special tokens included).
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// Encode converts text to token ids exactly as the Hugging Face tokenizer
// does with add_special_tokens=True: added tokens are matched in the raw
// text, the rest is NFC-normalised, split by the GPT-2 pattern, mapped to
// byte-level characters and merged by BPE. Invalid UTF-8 is encoded byte
// for byte.
func (t *Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	t.splitAdded(text, t.rawAdded, func(seg string, added int) {
		if added >= 0 {
			ids = append(ids, added)
			return
		}
		if t.nfc {
			seg = norm.NFC.String(seg)
		}
		t.splitAdded(seg, t.normAdded, func(seg string, added int) {
			if added >= 0 {
				ids = append(ids, added)
				return
			}
			ids = t.encodeSegment(ids, seg)
		})
	})
	return ids
}

// splitAdded cuts text around the added tokens in list (longest first),
// calling emit with each text segment (added = -1) or matched token id.
func (t *Tokenizer) splitAdded(text string, list []AddedToken, emit func(seg string, added int)) {
	if len(list) == 0 {
		if text != "" {
			emit(text, -1)
		}
		return
	}
	last := 0 // end of the previous match
	var buf [32]int
	pos := buf[:0]
	for range list {
		pos = append(pos, -2)
	}
	for i := 0; i < len(text); {
		a, at, ok := nextAdded(text, i, list, pos)
		if !ok {
			break
		}
		start, end := at, at+len(a.Content)
		if a.SingleWord && (isWordBefore(text, start) || isWordAfter(text, end)) {
			i = end
			continue
		}
		if a.LStrip {
			for start > last {
				r, w := utf8.DecodeLastRuneInString(text[last:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= w
			}
		}
		if a.RStrip {
			for end < len(text) {
				r, w := utf8.DecodeRuneInString(text[end:])
				if !unicode.IsSpace(r) {
					break
				}
				end += w
			}
		}
		if start > last {
			emit(text[last:start], -1)
		}
		emit("", a.ID)
		last, i = end, end
	}
	if last < len(text) {
		emit(text[last:], -1)
	}
}

// nextAdded finds the leftmost occurrence at or after i of any token in
// list, the longest one where several start at the same place (list is
// sorted longest first). pos caches each token's next occurrence (-2 =
// unknown, -1 = none left), so a long text costs O(len × tokens) overall
// rather than per match.
func nextAdded(text string, i int, list []AddedToken, pos []int) (AddedToken, int, bool) {
	best, at := -1, len(text)
	for k, a := range list {
		if pos[k] == -2 || (pos[k] >= 0 && pos[k] < i) {
			pos[k] = -1
			if j := strings.Index(text[i:], a.Content); j >= 0 {
				pos[k] = i + j
			}
		}
		if pos[k] >= 0 && pos[k] < at {
			best, at = k, pos[k]
		}
	}
	if best < 0 {
		return AddedToken{}, 0, false
	}
	return list[best], at, true
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func isWordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWord(r)
}

func isWordAfter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWord(r)
}

// encodeSegment pre-tokenises and BPE-encodes text without added tokens.
func (t *Tokenizer) encodeSegment(dst []int, seg string) []int {
	if seg == "" {
		return dst
	}
	if t.prefixSpace && !strings.HasPrefix(seg, " ") {
		seg = " " + seg
	}
	if !t.useRegex {
		return t.encodeWord(dst, seg)
	}
	splitGPT2(seg, func(piece string) { dst = t.encodeWord(dst, piece) })
	return dst
}

// encodeWord BPE-encodes one pre-token, through the cache.
func (t *Tokenizer) encodeWord(dst []int, word string) []int {
	t.mu.RLock()
	hit, ok := t.cache[word]
	t.mu.RUnlock()
	if ok {
		return append(dst, hit...)
	}
	start := len(dst)
	if t.ignoreMerge {
		if id, ok := t.vocab[byteLevel(word)]; ok {
			dst = append(dst, int(id))
			t.remember(word, dst[start:])
			return dst
		}
	}
	ids := make([]int32, len(word))
	for i := 0; i < len(word); i++ {
		ids[i] = t.byteID[word[i]]
	}
	dst = t.bpe(dst, ids)
	t.remember(word, dst[start:])
	return dst
}

func (t *Tokenizer) remember(word string, ids []int) {
	if len(word) > 256 {
		return // long pieces are rare; keep the cache small
	}
	t.mu.Lock()
	if len(t.cache) >= cacheLimit {
		clear(t.cache)
	}
	t.cache[word] = append([]int(nil), ids...)
	t.mu.Unlock()
}

// byteLevel maps bytes to GPT-2's byte-level characters.
func byteLevel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// Decode converts ids back to text as the Hugging Face tokenizer does with
// skip_special_tokens=False: tokens are concatenated, byte-level characters
// mapped back to bytes and the bytes read as UTF-8, each ill-formed
// sequence becoming U+FFFD. Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	buf := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		if id >= 0 && id < len(t.decoded) {
			buf = append(buf, t.decoded[id]...)
		}
	}
	return LossyUTF8(buf)
}

// TokenBytes returns the raw bytes token id stands for (after the ByteLevel
// decoder; added tokens as written), or nil for an id outside the vocabulary
// such as a padded embedding row. Concatenating TokenBytes of a sequence and
// decoding as UTF-8 is Decode; streaming callers use it to emit output as
// soon as a character is complete.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.decoded) {
		return nil
	}
	return append([]byte(nil), t.decoded[id]...)
}
