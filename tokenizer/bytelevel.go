package tokenizer

import "unicode/utf8"

// byteToRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes map
// to themselves, the other 68 bytes to U+0100 onwards, in byte order.
var byteToRune, runeToByte = func() ([256]rune, *[324]int16) {
	var b2r [256]rune
	r2b := new([324]int16) // rune → byte, -1 if none; every rune is < 256+68
	for i := range r2b {
		r2b[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = int16(b)
	}
	return b2r, r2b
}()

// byteLevelDecode maps a token's characters back to bytes. As in Hugging
// Face's ByteLevel decoder, a token holding a character outside the table
// (an added token such as "<|endoftext|>" is inside it, "é" is not)
// contributes its own UTF-8 bytes unchanged.
func byteLevelDecode(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return append(dst[:start], tok...)
		}
		dst = append(dst, byte(runeToByte[r]))
	}
	return dst
}

// LossyUTF8 converts b to a string, replacing each maximal ill-formed
// subsequence with one U+FFFD — the Unicode "maximal subpart" practice that
// Rust's String::from_utf8_lossy (and so Hugging Face's decoder) follows.
// Go's []rune conversion would instead emit one U+FFFD per bad byte.
func LossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		var need int
		lo, hi := byte(0x80), byte(0xBF) // range of the second byte
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			need = 2
		case c == 0xED:
			need, hi = 2, 0x9F
		case c == 0xF0:
			need, lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		case c == 0xF4:
			need, hi = 3, 0x8F
		default: // 0x80–0xC1, 0xF5–0xFF can never start a character
			out = append(out, "\uFFFD"...)
			i++
			continue
		}
		j := i + 1
		for k := 0; k < need; k++ {
			if j >= len(b) {
				break
			}
			if k == 0 {
				if b[j] < lo || b[j] > hi {
					break
				}
			} else if b[j] < 0x80 || b[j] > 0xBF {
				break
			}
			j++
		}
		if j-i == need+1 {
			out = append(out, b[i:j]...)
		} else {
			out = append(out, "\uFFFD"...)
		}
		i = j
	}
	return string(out)
}
