#!/usr/bin/env python3
"""An independent implementation of the signature definition in
docs/signatures.md, in plain Python 3 (no packages): it recomputes the
signatures of the test-vector texts of test/c/test_signature.c from the
document alone and prints them, so the C literals can be checked.

    python3 scripts/signature_reference.py          # the table for the C test
    python3 scripts/signature_reference.py --full   # every value, hex

Normalisation here uses Python's own UTF-8 decoder (errors="replace" is the
Unicode maximal-subpart rule) and str.lower() per code point (the simple
mapping; see scripts/gen-unicode-case.py), not the C tables. The
densification is computed the slow, literal way (each empty bin probes its
own sequence), whereas the C code mixes "pull" and "push" rounds.
"""
import sys
import unicodedata

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15

# ---------------------------------------------------------------- XXH3-64 --
# XXH3_64bits (seed 0, default secret), from the xxHash specification.
SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e")
P32_1, P32_2, P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
P64_1, P64_2, P64_3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P64_4, P64_5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
PMX1, PMX2 = 0x165667919E3779F9, 0x9FB21C651E98DF25


def r32(b, i): return int.from_bytes(b[i:i + 4], "little")
def r64(b, i): return int.from_bytes(b[i:i + 8], "little")
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M64
def swap64(x): return int.from_bytes(x.to_bytes(8, "little"), "big")


def fold(a, b):
    p = a * b
    return (p & M64) ^ (p >> 64)


def av_xxh64(x):
    x ^= x >> 33; x = x * P64_2 & M64
    x ^= x >> 29; x = x * P64_3 & M64
    return x ^ (x >> 32)


def av(x):
    x ^= x >> 37; x = x * PMX1 & M64
    return x ^ (x >> 32)


def mix16(d, i, s):
    return fold(r64(d, i) ^ r64(SECRET, s), r64(d, i + 8) ^ r64(SECRET, s + 8))


def xxh3_64(d):
    n = len(d)
    if n == 0:
        return av_xxh64(r64(SECRET, 56) ^ r64(SECRET, 64))
    if n <= 3:
        c = d[n - 1] | (n << 8) | (d[0] << 16) | (d[n >> 1] << 24)
        return av_xxh64((r32(SECRET, 0) ^ r32(SECRET, 4)) ^ c)
    if n <= 8:
        v = (r64(SECRET, 8) ^ r64(SECRET, 16)) ^ (r32(d, n - 4) | (r32(d, 0) << 32))
        v ^= rotl(v, 49) ^ rotl(v, 24)
        v = v * PMX2 & M64
        v ^= ((v >> 35) + n) & M64
        v = v * PMX2 & M64
        return v ^ (v >> 28)
    if n <= 16:
        lo = (r64(SECRET, 24) ^ r64(SECRET, 32)) ^ r64(d, 0)
        hi = (r64(SECRET, 40) ^ r64(SECRET, 48)) ^ r64(d, n - 8)
        return av((n + swap64(lo) + hi + fold(lo, hi)) & M64)
    if n <= 128:
        acc = n * P64_1 & M64
        k = (n - 1) // 32  # pairs beyond the first
        for i in range(k, -1, -1):
            acc += mix16(d, 16 * i, 32 * i) + mix16(d, n - 16 * (i + 1), 32 * i + 16)
        return av(acc & M64)
    if n <= 240:
        acc = n * P64_1 & M64
        for i in range(8):
            acc += mix16(d, 16 * i, 16 * i)
        acc = av(acc & M64)
        for i in range(8, n // 16):
            acc += mix16(d, 16 * i, 16 * (i - 8) + 3)
        acc += mix16(d, n - 16, 119)
        return av(acc & M64)
    acc = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1]

    def accumulate(off, soff):
        for i in range(8):
            v = r64(d, off + 8 * i)
            x = v ^ r64(SECRET, soff + 8 * i)
            acc[i ^ 1] = (acc[i ^ 1] + v) & M64
            acc[i] = (acc[i] + (x & 0xFFFFFFFF) * (x >> 32)) & M64

    blocks = (n - 1) // 1024
    for b in range(blocks):
        for s in range(16):
            accumulate(b * 1024 + 64 * s, 8 * s)
        for i in range(8):
            a = acc[i]
            a ^= a >> 47
            a ^= r64(SECRET, 128 + 8 * i)
            acc[i] = a * P32_1 & M64
    for s in range(((n - 1) - blocks * 1024) // 64):
        accumulate(blocks * 1024 + 64 * s, 8 * s)
    accumulate(n - 64, 121)
    r = n * P64_1 & M64
    for i in range(4):
        r += fold(acc[2 * i] ^ r64(SECRET, 11 + 16 * i), acc[2 * i + 1] ^ r64(SECRET, 19 + 16 * i))
    return av(r & M64)

# ---------------------------------------------------------- normalisation --


WHITE_SPACE = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029,
               0x202F, 0x205F, 0x3000} | set(range(0x2000, 0x200B))


def simple_lower(ch):
    if ch == "\u0130":
        return "i"
    lo = ch.lower()
    assert len(lo) == 1
    return lo


def words_of(data, keep_case):
    text = data.decode("utf-8", errors="replace")
    if not keep_case:
        text = "".join(simple_lower(c) for c in text)
    words, cur = [], []
    for c in text:
        if ord(c) in WHITE_SPACE:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def shingles(data, kind, n, keep_case):
    words = words_of(data, keep_case)
    if kind == "words":
        units, joiner = words, " "
    else:
        units, joiner = list(" ".join(words)), ""
    if not units:
        return []
    if len(units) < n:
        return [joiner.join(units)]
    return [joiner.join(units[i:i + n]) for i in range(len(units) - n + 1)]

# -------------------------------------------------------------- signature --


def mix64(z):
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & M64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & M64
    return z ^ (z >> 31)


def unxorshift(z, s):
    x = z
    for _ in range(64 // s + 1):
        x = z ^ (x >> s)
    return x


def unmix64(h):
    """The z with mix64(z) == h (mix64 is a bijection)."""
    z = unxorshift(h, 31)
    z = unxorshift(z * pow(0x94D049BB133111EB, -1, 1 << 64) & M64, 27)
    return unxorshift(z * pow(0xBF58476D1CE4E5B9, -1, 1 << 64) & M64, 30)


def token_with_max_h(seed):
    """The token x whose h = mix64(x ^ k_token) is 2^64 - 1, the value that
    also marks an empty bin: its bin K - 1 is not empty."""
    return unmix64(M64) ^ mix64((seed + GOLDEN) & M64)


def signature_from_hashes(xs, k, seed, stats=None):
    """The K 64-bit values (None for an empty set)."""
    xs = set(xs)
    if not xs:
        return None
    k_token = mix64((seed + GOLDEN) & M64)
    k_round = mix64((seed + 2 * GOLDEN) & M64)
    mins = [None] * k
    for x in xs:
        h = mix64(x ^ k_token)
        b = (h * k) >> 64
        if mins[b] is None or h < mins[b]:
            mins[b] = h
    full = [m is not None for m in mins]
    bits = 0
    while (1 << bits) < k:
        bits += 1
    mask, shift = (1 << bits) - 1, (bits + 1) // 2

    def perm(t):
        w = mix64((k_round + t * GOLDEN) & M64)
        a, m1, m2, c = w & mask, ((w >> 16) & mask) | 1, ((w >> 32) & mask) | 1, (w >> 48) & mask

        def sigma(x):
            x = (x + a) & mask
            x = (x * m1) & mask
            x ^= x >> shift
            x = (x * m2) & mask
            x ^= x >> shift
            return x ^ c

        def pi(x):
            x = sigma(x)
            while x >= k:
                x = sigma(x)
            return x
        return pi

    out = list(mins)
    todo = [i for i in range(k) if not full[i]]
    t = 1
    while todo and t <= 4 * k:
        pi = perm(t)
        rest = []
        for i in todo:
            j = pi(i)
            if full[j]:
                out[i] = mins[j]
            else:
                rest.append(i)
        todo = rest
        t += 1
    if stats is not None:
        stats["fallback"] = len(todo)
    for i in todo:
        j = (i + 1) % k
        while not full[j]:
            j = (j + 1) % k
        out[i] = mins[j]
    return out


def signature_bytes(values, k, value_bytes):
    if values is None:
        return b"\xff" * (k * value_bytes)
    return b"".join((v & ((1 << (8 * value_bytes)) - 1)).to_bytes(value_bytes, "little")
                    for v in values)


def signature_of_text(data, k=128, kind="words", n=3, value_bytes=4, keep_case=False,
                      seed=0, stats=None):
    sh = shingles(data, kind, n, keep_case)
    xs = {xxh3_64(s.encode("utf-8")) for s in sh}
    values = signature_from_hashes(xs, k, seed, stats)
    return signature_bytes(values, k, value_bytes), len(xs)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h

# ------------------------------------------------------------ test vectors --


TEXTS = [
    ("ascii", b"The quick brown fox jumps over the lazy dog"),
    ("ascii_long", b"It was the best of times, it was the worst of times, it was the age of "
                   b"wisdom, it was the age of foolishness, it was the epoch of belief, it was "
                   b"the epoch of incredulity, it was the season of Light, it was the season "
                   b"of Darkness."),
    ("spacing", b"  Hello \t\r\n  WORLD\xc2\xa0and\xe3\x80\x80all   of\xe2\x80\xa8you  "),
    ("latin", "Çà et là, l'ÉTÉ DÉJÀ brûlé: Ærøskøbing, Straße, İstanbul".encode()),
    ("greek", "ΟΔΥΣΣΕΥΣ και Πηνελόπη ΣΟΦΙΑ ΚΑΙ ΛΟΓΟΣ".encode()),
    ("cyrillic", "Съешь же ещё этих мягких французских булок, да выпей ЧАЮ".encode()),
    ("cjk", "東京都は日本の首都です 北京是中国的首都".encode()),
    ("emoji", "Party 🎉🎉 time 👩‍👩‍👧 OK 🇫🇷 done".encode()),
    ("invalid", b"ok \xff\xfe bad \xe2\x82 cut \xf0\x9f\x98 \xed\xa0\x80 surrogate \xc0\xaf over \x80end"),
    ("one_word", b"Word"),
    ("whitespace", b" \t\n\r\x0b\x0c \xc2\x85\xe2\x80\x83 "),
    ("empty", b""),
]

CONFIGS = [
    # name, k, kind, n, value_bytes, keep_case, seed
    ("default", 128, "words", 3, 4, False, 0),
    ("chars5", 128, "chars", 5, 4, False, 0),
    ("bytes8_seed42", 128, "words", 3, 8, False, 42),
    ("keepcase_chars3_k200", 200, "chars", 3, 4, True, 7),
]


def main():
    full = "--full" in sys.argv[1:]
    print(f"/* scripts/signature_reference.py (Unicode {unicodedata.unidata_version}) */")
    for cname, k, kind, n, vb, keep, seed in CONFIGS:
        for tname, data in TEXTS:
            sig, count = signature_of_text(data, k, kind, n, vb, keep, seed)
            vals = [int.from_bytes(sig[i * vb:(i + 1) * vb], "little") for i in range(k)]
            first = ", ".join(("0x%016X" if vb == 8 else "0x%08X") % v for v in vals[:8])
            print(f'    {{"{cname}", "{tname}", {count}, 0x{fnv1a64(sig):016X}u, {{{first}}}}},')
            if full:
                print("      " + " ".join("%0*x" % (2 * vb, v) for v in vals))
    # Densification corner: few non-empty bins among many (push rounds, and
    # for some seeds the cyclic fallback), from hashes 1..m.
    # Then documents with many tokens (pull rounds, where the vector kernels
    # take K <= 128), at K powers of two and not (cycle walking).
    for k, m, seed in [(1024, 2, 3), (1024, 2, 2), (64, 2, 14), (1024, 3, 11), (4096, 40, 5),
                        (1, 5, 0), (2, 1, 0), (3, 2, 9), (16384, 2000, 1),
                        (128, 100, 0), (128, 300, 9), (96, 60, 4), (100, 150, 8), (127, 80, 6),
                        (33, 30, 2), (64, 40, 12), (5, 4, 3), (65, 50, 1), (200, 150, 3)]:
        stats = {}
        values = signature_from_hashes(list(range(1, m + 1)), k, seed, stats)
        sig = signature_bytes(values, k, 8)
        print(f"    /* from_hashes 1..{m}, k={k}, seed={seed}: fallback bins {stats['fallback']} */"
              f" {{{k}, {m}, {seed}, 0x{fnv1a64(sig):016X}u}},")

    # A token whose h is 2^64 - 1 among the tokens 1..m: bin K - 1 holds it.
    for k, m, seed in [(128, 20, 0), (100, 300, 5)]:
        x = token_with_max_h(seed)
        assert mix64(x ^ mix64((seed + GOLDEN) & M64)) == M64
        sig = signature_bytes(signature_from_hashes(list(range(1, m + 1)) + [x], k, seed), k, 8)
        print(f"    {{{k}, {m}, {seed}, 0x{x:016X}u, 0x{fnv1a64(sig):016X}u}},")


if __name__ == "__main__":
    main()
