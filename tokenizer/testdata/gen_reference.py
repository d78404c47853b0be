"""Writes reference.json: pre-token splits and ids for random strings.

An independent reference for the Go tokenizer, written from the published
algorithms rather than from the Go code: the GPT-2 split pattern run by the
`regex` module (which has lookahead and Unicode \\s = White_Space, as the
Oniguruma engine in Hugging Face tokenizers), Unicode NFC from `unicodedata`,
and the classic GPT-2 `bpe()` loop (merge every occurrence of the best-ranked
pair, repeat). It is not the Hugging Face library; the official parity cases
are ../../../shared/golden/tokenizer/cases.json.

Usage: python3 gen_reference.py gpt_neox_2048.tokenizer.json
(a copy of the golden tokenizer.json, kept here so this test stands alone)
"""
import json
import random
import sys
import unicodedata

import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def main():
    tok = json.load(open(sys.argv[1], encoding="utf-8"))
    vocab = tok["model"]["vocab"]
    ranks = {}
    for i, m in enumerate(tok["model"]["merges"]):
        a, b = m if isinstance(m, list) else m.split(" ")
        ranks.setdefault((a, b), i)
    added = sorted((a for a in tok["added_tokens"]), key=lambda a: -len(a["content"]))
    b2u = bytes_to_unicode()

    def bpe(word):
        word = list(word)
        while len(word) > 1:
            pairs = [(ranks.get(p, 1 << 60), i, p) for i, p in enumerate(zip(word, word[1:]))]
            best = min(pairs)[2]
            if best not in ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        return [vocab[w] for w in word]

    def encode(text):
        ids, i, last = [], 0, 0
        segs = []
        while i < len(text):
            for a in added:
                if text.startswith(a["content"], i):
                    segs.append(text[last:i])
                    segs.append(a["id"])
                    i += len(a["content"])
                    last = i
                    break
            else:
                i += 1
        segs.append(text[last:])
        for s in segs:
            if isinstance(s, int):
                ids.append(s)
                continue
            for piece in PAT.findall(unicodedata.normalize("NFC", s)):
                ids += bpe("".join(b2u[b] for b in piece.encode("utf-8")))
        return ids

    rng = random.Random(4)
    alphabet = (
        list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789") * 3
        + list(" " * 30)
        + list("\t\n\r.,;:!?-_()[]{}\"'/\\@#$%^&*+=<>|~`")
        + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'x", "'S", " 's"]
        + list("éüñçÅßøæœ") + ["e\u0301", "A\u030a", "\u0301", "\u0308"]
        + list("αβγΩжщ日本語中文한국어") + ["\u1100\u1161"]
        + list("٣²½Ⅻ") + list("\u00a0\u3000\u2028\u0085\u2003\u200b\ufeff")
        + ["🐍", "🚀", "👍🏽", "\u200d"]
        + ["<|endoftext|>", "<|padding|>", "<|endof", "text|>"]
    )
    texts = [
        "", " ", "  ", "a  b", "a \n b", "\n\n\n", "x\t\t\ty", "it's", "'ll'll", "  'll", "1 2  3",
        "hello   ", " \u3000 x", "a\u00a0\u00a0b", "don't  stop", "e\u0301\u0301", "<|endoftext|><|padding|>",
        " <|endoftext|> ", "<|endoftext|>\u0301",
    ]
    for _ in range(600):
        n = rng.randint(1, 24)
        texts.append("".join(rng.choice(alphabet) for _ in range(n)))
    cases = []
    for t in texts:
        cases.append({"text": t, "pieces": PAT.findall(t), "ids": encode(t)})
    json.dump({"cases": cases}, open("reference.json", "w", encoding="utf-8"), ensure_ascii=True, indent=0)
    print(len(cases), "cases")


main()
