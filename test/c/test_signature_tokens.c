/* Signatures of pre-split tokens (knowhere_signature_from_tokens and
 * knowhere_signature_batch_from_tokens_with_interrupt; docs/signatures.md):
 *
 *  - the words of a text, as this test splits and lower-cases them itself,
 *    give from_text's signature and count: random texts of ASCII and
 *    non-ASCII words, random case, runs of every kind of whitespace, at
 *    every length around the normaliser's 16- and 64-byte blocks (a
 *    differential test of the normaliser, run at each SIMD level by ctest);
 *  - shingle strings with shingle_size 1 give the same again;
 *  - tokens are taken as they are: spaces inside, empty tokens, case,
 *    invalid UTF-8, all hashed as joined bytes (checked against XXH3-64 of
 *    the joined strings through from_hashes); fewer tokens than n, none;
 *  - the batch equals the single call on 1, 2, 7 and all threads;
 *  - every invalid argument, interrupts and a deadline inside one long
 *    document. */
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "test_data.h"
#include "xxh3.h"

static knowhere_signature_options opts(uint32_t k, uint32_t n, uint32_t vb, uint64_t seed) {
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    o.num_hashes = k;
    o.shingle_size = n;
    o.value_bytes = vb;
    o.seed = seed;
    return o;
}

/* A document as a list of tokens, pointing into one buffer. */
typedef struct {
    char bytes[65536];
    const char *tokens[4096];
    size_t lens[4096];
    size_t count, used;
} token_list;

static void add_token(token_list *l, const char *p, size_t len) {
    REQUIRE(l->count < 4096 && l->used + len <= sizeof l->bytes);
    memcpy(l->bytes + l->used, p, len);
    l->tokens[l->count] = l->bytes + l->used;
    l->lens[l->count++] = len;
    l->used += len;
}

static size_t sign_tokens(const knowhere_signature_options *o, const token_list *l,
                          uint8_t *out) {
    size_t count = 12345;
    knowhere_error *err = NULL;
    int st = knowhere_signature_from_tokens(o, l->tokens, l->lens, l->count, out,
                                            (size_t)o->num_hashes * o->value_bytes, &count, &err);
    if (st != KNOWHERE_OK) fprintf(stderr, "from_tokens: %s\n", knowhere_error_message(err));
    REQUIRE(st == KNOWHERE_OK);
    CHECK(err == NULL);
    return count;
}

static size_t sign_text(const knowhere_signature_options *o, const char *text, size_t len,
                        uint8_t *out) {
    size_t count = 12345;
    REQUIRE(knowhere_signature_from_text(o, text, len, out, (size_t)o->num_hashes * o->value_bytes,
                                         &count, NULL) == KNOWHERE_OK);
    return count;
}

/* ---- the words of a text ---------------------------------------------------------- */

/* Words in their normalised form, and a form that lower-cases to it. */
static const char *const lower_words[] = {"\xc3\xa9t\xc3\xa9", "\xce\xbb\xcf\x8c\xce\xb3\xce\xbf\xcf\x82",
                                          "\xe6\x9d\xb1\xe4\xba\xac", "\xf0\x9f\x8e\x89",
                                          "stra\xc3\x9f" "e", "\xd0\xbc\xd0\xb8\xd1\x80"};
static const char *const upper_words[] = {"\xc3\x89T\xc3\x89", "\xce\x9b\xcf\x8c\xce\x93\xce\x9f\xcf\x82",
                                          "\xe6\x9d\xb1\xe4\xba\xac", "\xf0\x9f\x8e\x89",
                                          "STRA\xc3\x9f" "E", "\xd0\x9c\xd0\x98\xd0\xa0"};
static const char *const spaces[] = {" ",    "  ",         "\t",           "\n",
                                     "\r\n", "\n\n    ",   "\v\f",         "\xc2\xa0",
                                     "\xc2\x85", "\xe3\x80\x80", "\xe2\x80\x83", " \t \n  \xe2\x80\xa8 "};

/* A random text into `text` and its words into `words`: ASCII words of
 * random case (mostly), some non-ASCII ones, random whitespace runs. */
static size_t random_text(test_rng *rng, char *text, size_t cap, token_list *words,
                          size_t nwords, bool ascii_only) {
    size_t at = 0;
    words->count = words->used = 0;
    if (rng_next(rng) % 3 == 0) text[at++] = ' ';
    for (size_t w = 0; w < nwords; ++w) {
        if (w) {
            const char *s = rng_next(rng) % 3 ? " " : spaces[rng_next(rng) % (ascii_only ? 7 : 12)];
            memcpy(text + at, s, strlen(s));
            at += strlen(s);
        }
        uint64_t r = rng_next(rng);
        if (!ascii_only && r % 11 == 0) {
            size_t i = (r >> 8) % 6;
            const char *shown = (r >> 16) % 2 ? upper_words[i] : lower_words[i];
            memcpy(text + at, shown, strlen(shown));
            at += strlen(shown);
            add_token(words, lower_words[i], strlen(lower_words[i]));
            continue;
        }
        char word[24];
        size_t len = 1 + (r >> 8) % 14;
        for (size_t i = 0; i < len; ++i) {
            uint64_t c = rng_next(rng);
            char ch = c % 13 == 0 ? (char)('0' + c % 10) : c % 17 == 0 ? ',' : (char)('a' + c % 26);
            word[i] = ch;
            text[at + i] = (c >> 20) % 4 == 0 && ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
        }
        at += len;
        add_token(words, word, len);
    }
    if (rng_next(rng) % 3 == 0) {
        const char *s = spaces[rng_next(rng) % (ascii_only ? 7 : 12)];
        memcpy(text + at, s, strlen(s));
        at += strlen(s);
    }
    REQUIRE(at < cap);
    return at;
}

static void test_tokens_are_words_of_text(void) {
    test_rng rng = {2024};
    static char text[65536];
    static token_list words;
    uint8_t a[256 * 8], b[256 * 8];
    size_t failures = 0;
    for (int round = 0; round < 600; ++round) {
        /* every length up to 80 words (the 16- and 64-byte boundaries of
         * the normaliser fall everywhere), then some long ones */
        size_t nwords = round < 480 ? (size_t)round / 6 : 100 + rng_next(&rng) % 900;
        size_t len = random_text(&rng, text, sizeof text, &words, nwords, round % 2 == 0);
        uint32_t n = 1 + (uint32_t)(round % 5);
        knowhere_signature_options o = opts(round % 3 ? 128 : 200, n, round % 4 ? 4 : 8, round % 7);
        size_t sig = (size_t)o.num_hashes * o.value_bytes;
        size_t ct = sign_text(&o, text, len, a), ck = sign_tokens(&o, &words, b);
        bool same = ct == ck && memcmp(a, b, sig) == 0;
        if (!same && failures++ < 3)
            fprintf(stderr, "  round %d (%zu words, n = %u): text and tokens differ\n", round,
                    nwords, n);
        CHECK(same);
        o.flags = KNOWHERE_SIGNATURE_KEEP_CASE; /* tokens are never lower-cased: no effect */
        CHECK_EQ(sign_tokens(&o, &words, a), ck);
        CHECK(memcmp(a, b, sig) == 0);
    }
}

/* Shingle strings (3 words joined by a space), shingle_size 1. */
static void test_shingle_strings(void) {
    test_rng rng = {99};
    static char text[65536];
    static token_list words, shingles;
    uint8_t a[512], b[512];
    for (int round = 0; round < 100; ++round) {
        size_t nwords = 3 + rng_next(&rng) % 300;
        size_t len = random_text(&rng, text, sizeof text, &words, nwords, round % 2 == 0);
        shingles.count = shingles.used = 0;
        for (size_t i = 0; i + 3 <= words.count; ++i) {
            char s[256];
            size_t at = 0;
            for (size_t j = i; j < i + 3; ++j) {
                if (j > i) s[at++] = ' ';
                memcpy(s + at, words.tokens[j], words.lens[j]);
                at += words.lens[j];
            }
            add_token(&shingles, s, at);
        }
        knowhere_signature_options w3 = opts(128, 3, 4, 0), one = opts(128, 1, 4, 0);
        CHECK_EQ(sign_text(&w3, text, len, a), sign_tokens(&one, &shingles, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
}

/* ---- tokens as they are ------------------------------------------------------------- */

static void check_as_hashes(const knowhere_signature_options *o, const token_list *l,
                            const char *const *shingles, size_t nshingles, size_t distinct) {
    uint8_t a[512], b[512];
    uint64_t h[16];
    REQUIRE(nshingles <= 16 && o->num_hashes * o->value_bytes <= 512);
    for (size_t i = 0; i < nshingles; ++i) h[i] = kh_xxh3_64(shingles[i], strlen(shingles[i]));
    CHECK_EQ(sign_tokens(o, l, a), distinct);
    CHECK_EQ(knowhere_signature_from_hashes(o, h, nshingles, b, sizeof b, NULL), KNOWHERE_OK);
    CHECK(memcmp(a, b, (size_t)o->num_hashes * o->value_bytes) == 0);
}

static void set_tokens(token_list *l, const char *const *tokens, size_t count) {
    l->count = l->used = 0;
    for (size_t i = 0; i < count; ++i) add_token(l, tokens[i], strlen(tokens[i]));
}

static void test_tokens_as_they_are(void) {
    static token_list l;
    knowhere_signature_options w2 = opts(128, 2, 4, 0), w3 = opts(64, 3, 8, 5);
    /* Spaces inside, an empty token, case kept, bytes that are not UTF-8. */
    const char *t1[] = {"New York", "", "IS", "big \xff"};
    set_tokens(&l, t1, 4);
    const char *s1[] = {"New York ", " IS", "IS big \xff"};
    check_as_hashes(&w2, &l, s1, 3, 3);
    const char *s1b[] = {"New York  IS", " IS big \xff"};
    check_as_hashes(&w3, &l, s1b, 2, 2);
    /* Fewer tokens than n: one shingle, all of them joined. */
    const char *t2[] = {"only", "two"};
    set_tokens(&l, t2, 2);
    const char *s2[] = {"only two"};
    check_as_hashes(&w3, &l, s2, 1, 1);
    /* Repeats count once; tokens longer than 16 bytes; long shingles. */
    const char *t3[] = {"a", "b", "a", "b", "a", "a-rather-long-token-of-40-bytes-or-so...",
                        "another-one-of-more-than-sixteen"};
    set_tokens(&l, t3, 7);
    const char *s3[] = {"a b", "b a", "a b", "b a", "a a-rather-long-token-of-40-bytes-or-so...",
                        "a-rather-long-token-of-40-bytes-or-so... another-one-of-more-than-sixteen"};
    check_as_hashes(&w2, &l, s3, 6, 4);
    /* n = 1: each token, hashed where it is. */
    knowhere_signature_options w1 = opts(128, 1, 4, 3);
    const char *s4[] = {"a", "b", "a-rather-long-token-of-40-bytes-or-so...",
                        "another-one-of-more-than-sixteen"};
    check_as_hashes(&w1, &l, s4, 4, 4);
    /* No tokens: the empty signature; a single empty token is a shingle. */
    uint8_t out[512];
    l.count = 0;
    CHECK_EQ(sign_tokens(&w2, &l, out), 0);
    bool ff = true;
    for (size_t i = 0; i < 512; ++i) ff &= out[i] == 0xFF;
    CHECK(ff);
    CHECK_EQ(knowhere_signature_from_tokens(&w2, NULL, NULL, 0, out, 512, NULL, NULL),
             KNOWHERE_OK);
    const char *t5[] = {""};
    set_tokens(&l, t5, 1);
    const char *s5[] = {""};
    check_as_hashes(&w2, &l, s5, 1, 1);
    const char *nul[] = {NULL};
    size_t zero = 0;
    CHECK_EQ(knowhere_signature_from_tokens(&w2, nul, &zero, 1, out, 512, NULL, NULL),
             KNOWHERE_OK);
}

/* ---- batch -------------------------------------------------------------------------- */

typedef struct {
    char *bytes;
    uint64_t *token_offsets, *doc_offsets;
    size_t ntokens, ndocs, len;
} token_batch;

static token_batch make_batch(size_t ndocs, uint64_t seed) {
    test_rng rng = {seed};
    token_batch b = {malloc(ndocs * 3000), malloc((ndocs * 300 + 1) * sizeof(uint64_t)),
                     malloc((ndocs + 1) * sizeof(uint64_t)), 0, ndocs, 0};
    REQUIRE(b.bytes && b.token_offsets && b.doc_offsets);
    for (size_t d = 0; d < ndocs; ++d) {
        b.doc_offsets[d] = b.ntokens;
        size_t tokens = rng_next(&rng) % 10 == 0 ? 0 : rng_next(&rng) % 300;
        for (size_t t = 0; t < tokens; ++t) {
            b.token_offsets[b.ntokens++] = b.len;
            size_t len = rng_next(&rng) % 9;
            for (size_t i = 0; i < len; ++i) b.bytes[b.len++] = (char)('a' + rng_next(&rng) % 6);
        }
    }
    b.doc_offsets[ndocs] = b.ntokens;
    b.token_offsets[b.ntokens] = b.len;
    return b;
}

static void free_batch(token_batch *b) {
    free(b->bytes);
    free(b->token_offsets);
    free(b->doc_offsets);
}

static void test_batch_equals_single(void) {
    token_batch b = make_batch(500, 8);
    for (uint32_t n = 1; n <= 4; n += 3) {
        knowhere_signature_options o = opts(96, n, 8, 1);
        size_t sig = 96 * 8;
        uint8_t *single = malloc(b.ndocs * sig), *batch = malloc(b.ndocs * sig);
        uint32_t *counts = malloc(b.ndocs * sizeof *counts);
        size_t *single_counts = malloc(b.ndocs * sizeof *single_counts);
        const char **ptrs = malloc((b.ntokens + 1) * sizeof *ptrs);
        size_t *lens = malloc((b.ntokens + 1) * sizeof *lens);
        REQUIRE(single && batch && counts && single_counts && ptrs && lens);
        for (size_t t = 0; t < b.ntokens; ++t) {
            ptrs[t] = b.bytes + b.token_offsets[t];
            lens[t] = (size_t)(b.token_offsets[t + 1] - b.token_offsets[t]);
        }
        for (size_t d = 0; d < b.ndocs; ++d) {
            size_t first = (size_t)b.doc_offsets[d];
            REQUIRE(knowhere_signature_from_tokens(&o, ptrs + first, lens + first,
                                                   (size_t)b.doc_offsets[d + 1] - first,
                                                   single + d * sig, sig, &single_counts[d],
                                                   NULL) == KNOWHERE_OK);
        }
        const size_t threads[] = {1, 2, 7, 0};
        for (size_t t = 0; t < 4; ++t) {
            memset(batch, 0, b.ndocs * sig);
            memset(counts, 0xAB, b.ndocs * sizeof *counts);
            knowhere_error *err = NULL;
            CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(
                         &o, b.bytes, b.len, b.token_offsets, b.ntokens, b.doc_offsets, b.ndocs,
                         batch, b.ndocs * sig, counts, threads[t], NULL, &err),
                     KNOWHERE_OK);
            CHECK(err == NULL);
            CHECK(memcmp(single, batch, b.ndocs * sig) == 0);
            bool same = true;
            for (size_t d = 0; d < b.ndocs; ++d) same &= counts[d] == single_counts[d];
            CHECK(same);
        }
        /* A sub-range of the documents; shingle_counts NULL. */
        CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(
                     &o, b.bytes, b.len, b.token_offsets, b.ntokens, b.doc_offsets + 100, 50,
                     batch, 50 * sig, NULL, 2, NULL, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(single + 100 * sig, batch, 50 * sig) == 0);
        free(single);
        free(batch);
        free(counts);
        free(single_counts);
        free(ptrs);
        free(lens);
    }
    uint64_t zero = 0;
    CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(NULL, NULL, 0, &zero, 0, &zero,
                                                                 0, NULL, 0, NULL, 0, NULL, NULL),
             KNOWHERE_OK);
    free_batch(&b);
}

/* ---- invalid arguments, interrupts --------------------------------------------------- */

static void expect_invalid(int status, knowhere_error *err, const char *fragment, int line) {
    bool ok = status == KNOWHERE_ERR_INVALID_ARG && err != NULL &&
              knowhere_error_code(err) == KNOWHERE_ERR_INVALID_ARG &&
              strstr(knowhere_error_message(err), fragment) != NULL;
    if (!ok)
        fprintf(stderr, "  line %d: status %d, message \"%s\", wanted \"%s\"\n", line, status,
                knowhere_error_message(err), fragment);
    CHECK(ok);
    knowhere_error_free(err);
}

#define EXPECT_INVALID(call, fragment)                                                     \
    do {                                                                                   \
        knowhere_error *err_ = NULL;                                                       \
        int status_ = call;                                                                \
        expect_invalid(status_, err_, fragment, __LINE__);                                 \
    } while (0)

static void test_invalid_arguments(void) {
    static uint8_t out[4096];
    const char *tokens[] = {"a", "b", NULL};
    size_t lens[] = {1, 1, 3};
    const char bytes[] = "abcde";
    uint64_t toffs[4] = {0, 1, 3, 5}, doffs[3] = {0, 2, 3};
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    o.shingle_kind = KNOWHERE_SHINGLE_CHARS;
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, lens, 2, out, 512, NULL, &err_),
                   "options->shingle_kind is 1; tokens make word shingles only");
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, toffs, 3, doffs, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "options->shingle_kind is 1");
    o.shingle_kind = 7;
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, lens, 2, out, 512, NULL, &err_),
                   "options->shingle_kind is 7; it must be");
    knowhere_signature_options_init(&o);
    o.num_hashes = 0;
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, lens, 2, out, 512, NULL, &err_),
                   "options->num_hashes is 0");
    knowhere_signature_options_init(&o);
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, NULL, lens, 2, out, 512, NULL, &err_),
                   "tokens is NULL but count is 2");
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, NULL, 2, out, 512, NULL, &err_),
                   "token_lens is NULL but count is 2");
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, lens, 3, out, 512, NULL, &err_),
                   "tokens[2] is NULL but token_lens[2] is 3");
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, lens, 2, out, 511, NULL, &err_),
                   "out_len is 511");
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, tokens, lens, 2, NULL, 512, NULL, &err_),
                   "out is NULL");
    const char *big[] = {"x", "y"};
    size_t huge[] = {SIZE_MAX / 2, SIZE_MAX / 2};
    EXPECT_INVALID(knowhere_signature_from_tokens(&o, big, huge, 2, out, 512, NULL, &err_),
                   "token lengths add up to more than SIZE_MAX");

    /* Batch. */
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, NULL, 5, toffs, 3, doffs, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "bytes is NULL but bytes_len is 5");
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, NULL, 3, doffs, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "token_offsets is NULL (it needs 4 entries)");
    uint64_t down[4] = {0, 3, 1, 5};
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, down, 3, doffs, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "token_offsets[2] = 1 is less than token_offsets[1] = 3 (token 1");
    uint64_t past[4] = {0, 1, 3, 6};
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, past, 3, doffs, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "token_offsets[3] = 6 is beyond bytes_len = 5 (token 2");
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, toffs, 3, NULL, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "doc_offsets is NULL (it needs 3 entries)");
    uint64_t ddown[3] = {0, 2, 1};
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, toffs, 3, ddown, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "doc_offsets[2] = 1 is less than doc_offsets[1] = 2 (document 1");
    uint64_t dpast[3] = {0, 2, 4};
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, toffs, 3, dpast, 2, out, sizeof out, NULL, 1, NULL, &err_),
                   "doc_offsets[2] = 4 is beyond ntokens = 3 (document 1");
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, toffs, 3, doffs, 2, out, 1023, NULL, 1, NULL, &err_),
                   "out_len is 1023, less than ndocs * num_hashes * value_bytes = 2 * 128 * 4");
    EXPECT_INVALID(knowhere_signature_batch_from_tokens_with_interrupt(
                       &o, bytes, 5, toffs, 3, doffs, 2, NULL, 1024, NULL, 1, NULL, &err_),
                   "out is NULL");
    /* The valid call, for contrast. */
    CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(
                 &o, bytes, 5, toffs, 3, doffs, 2, out, 1024, NULL, 1, NULL, NULL),
             KNOWHERE_OK);
}

static void test_interrupts(void) {
    /* One document of 2 million tokens. */
    const size_t ntokens = 2000000;
    char *bytes = malloc(ntokens * 4);
    uint64_t *offsets = malloc((ntokens + 1) * sizeof *offsets);
    REQUIRE(bytes && offsets);
    test_rng rng = {5};
    for (size_t t = 0; t < ntokens; ++t) {
        offsets[t] = 4 * t;
        for (size_t i = 0; i < 4; ++i) bytes[4 * t + i] = (char)('a' + rng_next(&rng) % 26);
    }
    offsets[ntokens] = 4 * ntokens;
    uint64_t one[2] = {0, ntokens};
    uint8_t out[512];
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    double t0 = test_now_ms();
    CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(&o, bytes, 4 * ntokens, offsets,
                                                                 ntokens, one, 1, out, 512, NULL,
                                                                 1, NULL, NULL),
             KNOWHERE_OK);
    double full = test_now_ms() - t0;

    CInterrupt h = knowhere_interrupt_create_with_state(true);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(&o, bytes, 4 * ntokens, offsets,
                                                                 ntokens, one, 1, out, 512, NULL,
                                                                 1, h, &err),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && strstr(knowhere_error_message(err), "interrupted"));
    knowhere_error_free(err);
    knowhere_interrupt_free(h);

    /* Inside the one long document: polled every thousand tokens or so, so
     * the call returns long before the document would be done. The best of
     * three tries counts: this machine is shared, and a try can lose the CPU
     * for longer than the whole document takes. */
    const uint32_t sizes[] = {3, 1}; /* the joined path, then shingle strings */
    for (size_t si = 0; si < 2; ++si) {
        uint32_t n = sizes[si];
        o.shingle_size = n;
        double best = 1e30;
        for (int attempt = 0; attempt < 3 && best >= full * 0.5; ++attempt) {
            h = knowhere_interrupt_create_with_timeout(2);
            t0 = test_now_ms();
            CHECK_EQ(knowhere_signature_batch_from_tokens_with_interrupt(
                         &o, bytes, 4 * ntokens, offsets, ntokens, one, 1, out, 512, NULL, 1, h,
                         NULL),
                     KNOWHERE_ERR_TIMEOUT);
            double took = test_now_ms() - t0;
            best = took < best ? took : best;
            knowhere_interrupt_free(h);
        }
        printf("  one document of %zu tokens (n = %u): %.1f ms; with a 2 ms deadline it "
               "returned after %.1f ms\n", ntokens, n, full, best);
        CHECK(best < full * 0.5);
    }
    free(bytes);
    free(offsets);
}

int main(void) {
    RUN(test_tokens_are_words_of_text);
    RUN(test_shingle_strings);
    RUN(test_tokens_as_they_are);
    RUN(test_batch_equals_single);
    RUN(test_invalid_arguments);
    RUN(test_interrupts);
    return CHECK_DONE();
}
