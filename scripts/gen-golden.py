#!/usr/bin/env python3
"""Writes test/golden/signatures.txt: a small corpus of our own texts (Unicode,
case, whitespace oddities, invalid UTF-8, the degenerate documents of
docs/cli.md) and, for several signature schemes, the expected signature of
each text and its band keys, computed by scripts/signature_reference.py (the
signature definition of docs/signatures.md, implemented from the document
alone) and XXH3-64 of each band (knowhere_rs.h, "Bands").

test/c/test_golden.c and test/golden.test.ts compare the library with the
file at every SIMD level and thread count, so that a change of the hashing
cannot reach a release unnoticed. A deliberate change of the definition
regenerates the file AND bumps KNOWHERE_SIGNATURE_SCHEME_VERSION (the tests
check that the file's version is the library's).

    python3 scripts/gen-golden.py > test/golden/signatures.txt
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import signature_reference as ref  # noqa: E402

SCHEME_VERSION = 1

TEXTS = [
    ("plain", "The quick brown fox jumps over the lazy dog".encode()),
    ("case and spaces", "  the QUICK\tbrown  fox\r\njumps over\u00a0the LAZY dog \n".encode()),
    ("empty", b""),
    ("whitespace only", " \t\r\n\u3000\u2003 ".encode()),
    ("one word", "Word".encode()),
    ("two words", "two Words".encode()),
    ("one repeated word", "la la la la la LA la la".encode()),
    ("accents and sharp s", "\u00dcn\u00efc\u00f6d\u00e9 \u00c7AF\u00c9 na\u00efve r\u00e9sum\u00e9 Stra\u00dfe".encode()),
    ("greek sigma", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03c0\u03bf\u03bb\u03cd\u03c4\u03c1\u03bf\u03c0\u03bf\u03c2 \u03a3\u0399\u03a3\u03a5\u03a6\u039f\u03a3".encode()),
    ("dotted I and kelvin", "\u0130stanbul \u212a\u00c5LVIN 42 \u212a".encode()),
    ("cjk and ideographic space", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3000\u5168\u89d2\u30b9\u30da\u30fc\u30b9 \u3067\u3059".encode()),
    ("emoji", "emoji \U0001F600 mixed with text and \U0001F680 rockets \U0001F468\u200d\U0001F469\u200d\U0001F467".encode()),
    ("zero width is not space", "zero\u200bwidth\ufeffjoined words stay one".encode()),
    ("invalid utf-8", b"abc \xff\xfe def \xc3( ghi \xed\xa0\x80 jkl \xf0\x9f\x98"),
    ("nul byte", b"a\x00b c\x00d e"),
    ("paragraph", ("It was a bright cold day in April and the clocks were striking thirteen while "
                   "the wind swept a swirl of gritty dust along the street and into the hallway "
                   "that smelt of boiled cabbage and old rag mats at one end of it a coloured "
                   "poster too large for indoor display had been tacked to the wall").encode()),
    ("paragraph, one word changed", ("It was a bright cold day in April and the clocks were striking twelve while "
                   "the wind swept a swirl of gritty dust along the street and into the hallway "
                   "that smelt of boiled cabbage and old rag mats at one end of it a coloured "
                   "poster too large for indoor display had been tacked to the wall").encode()),
]

# name, kind, shingle size, K, value bytes, seed, keep case, bands
SCHEMES = [
    ("words3", "words", 3, 32, 4, 0, False, 8),
    ("chars5", "chars", 5, 32, 4, 0, False, 8),
    ("words1-case-seed", "words", 1, 16, 8, 12345, True, 4),
    ("chars3-seed", "chars", 3, 24, 8, (1 << 63) + 7, False, 6),
]


def main():
    print(f"# Golden signatures: scripts/gen-golden.py, from scripts/signature_reference.py")
    print(f"# (Python {sys.version.split()[0]}, Unicode {ref.unicodedata.unidata_version}). Do not edit by hand.")
    print("# doc INDEX HEX: a document's UTF-8 bytes (- when empty; its name is the comment above it)")
    print("# scheme NAME KIND SIZE K VALUE_BYTES SEED KEEP_CASE BANDS")
    print("# sig SCHEME DOC SHINGLES HEX: the signature's bytes; keys SCHEME DOC HEX...: band keys")
    print(f"version {SCHEME_VERSION}")
    for i, (name, data) in enumerate(TEXTS):
        print(f"# {name}")
        print(f"doc {i} {data.hex() or '-'}")
    for name, kind, size, k, vb, seed, keep, bands in SCHEMES:
        print(f"scheme {name} {kind} {size} {k} {vb} {seed} {int(keep)} {bands}")
        rows = k // bands
        for i, (_, data) in enumerate(TEXTS):
            sig, count = ref.signature_of_text(data, k, kind, size, vb, keep, seed)
            print(f"sig {name} {i} {count} {sig.hex()}")
            width = rows * vb
            keys = [ref.xxh3_64(sig[b * width:(b + 1) * width]) for b in range(bands)]
            print(f"keys {name} {i} " + " ".join(f"{key:016x}" for key in keys))


if __name__ == "__main__":
    main()
