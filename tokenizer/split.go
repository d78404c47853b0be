package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// splitGPT2 cuts s into the pieces that GPT-2's pre-tokenisation regex
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// finds, calling emit for each. Go's regexp has no lookahead, so the
// alternation is written out by hand with the same leftmost-first
// semantics as the backtracking engine Hugging Face uses: at each position
// the first alternative that matches wins, each greedy. Every character
// matches some alternative, so the pieces cover s exactly.
func splitGPT2(s string, emit func(piece string)) {
	for i := 0; i < len(s); {
		n := matchAt(s, i)
		emit(s[i : i+n])
		i += n
	}
}

// classes of a rune for the regex.
const (
	clLetter = iota
	clNumber
	clSpace
	clOther
)

// asciiClass holds class for runes below 0x80.
var asciiClass = func() (t [128]uint8) {
	for r := rune(0); r < 128; r++ {
		t[r] = uint8(slowClass(r))
	}
	return
}()

func class(r rune) int {
	if r < 128 {
		return int(asciiClass[r])
	}
	return slowClass(r)
}

func slowClass(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return clLetter
	case unicode.IsNumber(r):
		return clNumber
	case unicode.IsSpace(r):
		return clSpace
	}
	return clOther
}

// run returns the byte length of the longest run of runes of class c
// starting at s[i:].
func run(s string, i, c int) int {
	j := i
	for j < len(s) {
		r, w := utf8.DecodeRuneInString(s[j:])
		if class(r) != c {
			break
		}
		j += w
	}
	return j - i
}

// matchAt returns the length of the regex match starting at s[i] (> 0).
func matchAt(s string, i int) int {
	rest := s[i:]
	// 's|'t|'re|'ve|'m|'ll|'d
	if rest[0] == '\'' && len(rest) >= 2 {
		switch rest[1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r':
			if len(rest) >= 3 && rest[2] == 'e' {
				return 3
			}
		case 'v':
			if len(rest) >= 3 && rest[2] == 'e' {
				return 3
			}
		case 'l':
			if len(rest) >= 3 && rest[2] == 'l' {
				return 3
			}
		}
	}
	// ` ?X+` for X in letters, numbers, others: an optional ASCII space
	// followed by at least one rune of the class.
	start := i
	if rest[0] == ' ' {
		start = i + 1
	}
	if start < len(s) {
		r, _ := utf8.DecodeRuneInString(s[start:])
		if c := class(r); c != clSpace {
			return start - i + run(s, start, c)
		}
	}
	// Here s[i] starts a whitespace run (a lone space before another
	// space or the end lands here too).
	// \s+(?!\S): the whitespace run, minus its last rune when a
	// non-space follows (so that rune can prefix the next word).
	n := run(s, i, clSpace)
	if i+n == len(s) {
		return n
	}
	_, lastW := utf8.DecodeLastRuneInString(s[i : i+n])
	if n-lastW > 0 {
		return n - lastW
	}
	// \s+ (a single whitespace rune before a non-space).
	return n
}
