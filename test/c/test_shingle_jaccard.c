/* Exact shingle similarity: knowhere_shingle_jaccard and
 * knowhere_shingle_jaccard_pairs_with_interrupt.
 *
 *  - hand-computed values (repeats, case and whitespace, short and empty
 *    documents, character shingles, invalid UTF-8);
 *  - against brute force: random documents from a small vocabulary (so
 *    that shingles repeat and overlap), their word 3-shingles compared as
 *    strings;
 *  - the pairs call equals the single call, with 1, 2, 3 and 8 threads;
 *  - invalid arguments give KNOWHERE_ERR_INVALID_ARG and a message naming
 *    what is wrong; interrupts, deadlines and progress. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "progress_recorder.h"

static knowhere_signature_options words(uint32_t n) {
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    o.shingle_kind = KNOWHERE_SHINGLE_WORDS;
    o.shingle_size = n;
    return o;
}

static double jaccard(const knowhere_signature_options *o, const char *a, const char *b) {
    double j = -1;
    CHECK_EQ(knowhere_shingle_jaccard(o, a, strlen(a), b, strlen(b), &j, NULL), KNOWHERE_OK);
    return j;
}

static void test_hand_computed(void) {
    knowhere_signature_options w3 = words(3), w1 = words(1);
    /* {abc, bcd, cde} and {abc, bcd, cdf}: 2 of 4 */
    CHECK(jaccard(&w3, "a b c d e", "a b c d f") == 0.5);
    /* the same normalised text */
    CHECK(jaccard(&w3, "The  QUICK\tbrown\n fox", " the quick brown fox ") == 1.0);
    /* repeats count once: {a} and {a, b} */
    CHECK(jaccard(&w1, "a a a a", "b a") == 0.5);
    /* fewer words than n: the whole text is the one shingle */
    CHECK(jaccard(&w3, "a b", "a  b") == 1.0);
    CHECK(jaccard(&w3, "a b", "a c") == 0.0);
    /* empty documents: 1 between two, 0 against one with shingles */
    CHECK(jaccard(&w3, "", " \t\n") == 1.0);
    CHECK(jaccard(&w3, "", "a b c") == 0.0);
    double j = -1;
    CHECK_EQ(knowhere_shingle_jaccard(NULL, NULL, 0, NULL, 0, &j, NULL), KNOWHERE_OK);
    CHECK(j == 1.0);
    /* characters: "abcd" and "abce" in 3-grams: {abc, bcd} and {abc, bce} */
    knowhere_signature_options c3 = words(3);
    c3.shingle_kind = KNOWHERE_SHINGLE_CHARS;
    CHECK(jaccard(&c3, "abcd", "ABCE") == 1.0 / 3.0);
    /* keep case: "ABC" and "abc" differ */
    c3.flags = KNOWHERE_SIGNATURE_KEEP_CASE;
    CHECK(jaccard(&c3, "ABC", "abc") == 0.0);
    /* invalid UTF-8 is U+FFFD, as in signatures: 0xFF and 0xFE are both it */
    CHECK(jaccard(&w1, "x \xff", "x \xfe") == 1.0);
    /* NULL options are the defaults (word 3-shingles) */
    CHECK_EQ(knowhere_shingle_jaccard(NULL, "a b c d e", 9, "a b c d f", 9, &j, NULL),
             KNOWHERE_OK);
    CHECK(j == 0.5);
}

/* 250 000 distinct words: about 61 shingles per sort bucket, so the buckets
 * take the radix-sort path; the prefix of 249 000 words shares all of its
 * 248 998 shingles with the whole's 249 998. */
static void test_large_documents(void) {
    enum { WORDS = 250000, PREFIX = 249000 };
    char *text = malloc((size_t)WORDS * 9);
    REQUIRE(text != NULL);
    size_t len = 0, prefix_len = 0;
    for (size_t w = 0; w < WORDS; ++w) {
        if (w == PREFIX) prefix_len = len - 1; /* without its trailing space */
        len += (size_t)sprintf(text + len, "w%zu ", w);
    }
    knowhere_signature_options o = words(3);
    double j = -1;
    CHECK_EQ(knowhere_shingle_jaccard(&o, text, len, text, prefix_len, &j, NULL), KNOWHERE_OK);
    CHECK(j == (double)(PREFIX - 2) / (double)(WORDS - 2));
    free(text);
}

/* ---- brute force ------------------------------------------------------------------- */

static uint64_t next_random(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

enum { DOCS = 60, MAX_WORDS = 120 };

typedef struct {
    char *texts;
    uint64_t offsets[DOCS + 1];
    size_t len;
} corpus;

/* DOCS documents of 0..MAX_WORDS words from a 12-word vocabulary; half of
 * them edits of an earlier one, so that some pairs are close. */
static corpus make_corpus(uint64_t seed) {
    static const char *const vocabulary[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta",
                                             "eta",   "theta", "iota", "kappa", "la", "mu"};
    corpus c = {.texts = malloc(DOCS * MAX_WORDS * 8 + 1)};
    REQUIRE(c.texts != NULL);
    size_t word_of[DOCS][MAX_WORDS], count[DOCS];
    for (size_t d = 0; d < DOCS; ++d) {
        c.offsets[d] = c.len;
        bool edit = d > 0 && next_random(&seed) % 2;
        size_t from = edit ? (size_t)next_random(&seed) % d : 0;
        count[d] = edit ? count[from] : (size_t)next_random(&seed) % (MAX_WORDS + 1);
        for (size_t i = 0; i < count[d]; ++i) {
            word_of[d][i] = edit && next_random(&seed) % 8 ? word_of[from][i]
                                                            : (size_t)next_random(&seed) % 12;
            c.len += (size_t)sprintf(c.texts + c.len, "%s%s", i ? " " : "",
                                     vocabulary[word_of[d][i]]);
        }
    }
    c.offsets[DOCS] = c.len;
    return c;
}

static int by_string(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct word 3-shingles of a plain text (lowercase words, single
 * spaces), sorted; the strings are malloc'd. */
static size_t brute_shingles(const char *text, size_t len, char ***out) {
    char *copy = malloc(len + 1);
    REQUIRE(copy != NULL);
    memcpy(copy, text, len);
    copy[len] = 0;
    const char *word[MAX_WORDS];
    size_t n = 0;
    for (char *t = strtok(copy, " "); t != NULL; t = strtok(NULL, " ")) word[n++] = t;
    size_t count = n == 0 ? 0 : n < 3 ? 1 : n - 2;
    char **s = malloc((count ? count : 1) * sizeof *s);
    REQUIRE(s != NULL);
    for (size_t i = 0; i < count; ++i) {
        s[i] = malloc(64);
        REQUIRE(s[i] != NULL);
        if (n < 3)
            snprintf(s[i], 64, "%s%s%s", word[0], n > 1 ? " " : "", n > 1 ? word[1] : "");
        else
            snprintf(s[i], 64, "%s %s %s", word[i], word[i + 1], word[i + 2]);
    }
    qsort(s, count, sizeof *s, by_string);
    size_t m = 0;
    for (size_t i = 0; i < count; ++i) {
        if (m > 0 && strcmp(s[m - 1], s[i]) == 0) {
            free(s[i]);
            continue;
        }
        s[m++] = s[i];
    }
    free(copy);
    *out = s;
    return m;
}

static double brute_jaccard(char **a, size_t na, char **b, size_t nb) {
    size_t i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        int c = strcmp(a[i], b[j]);
        common += c == 0;
        i += c <= 0;
        j += c >= 0;
    }
    size_t all = na + nb - common;
    return all == 0 ? 1.0 : (double)common / (double)all;
}

static void test_against_brute_force(void) {
    corpus c = make_corpus(42);
    char **sets[DOCS];
    size_t sizes[DOCS];
    for (size_t d = 0; d < DOCS; ++d)
        sizes[d] = brute_shingles(c.texts + c.offsets[d], c.offsets[d + 1] - c.offsets[d],
                                  &sets[d]);
    knowhere_signature_options o = words(3);
    size_t checked = 0, partial = 0;
    for (size_t a = 0; a < DOCS; ++a) {
        for (size_t b = a; b < DOCS; ++b) {
            double want = brute_jaccard(sets[a], sizes[a], sets[b], sizes[b]), got = -1;
            CHECK_EQ(knowhere_shingle_jaccard(&o, c.texts + c.offsets[a],
                                              c.offsets[a + 1] - c.offsets[a],
                                              c.texts + c.offsets[b],
                                              c.offsets[b + 1] - c.offsets[b], &got, NULL),
                     KNOWHERE_OK);
            if (got != want)
                fprintf(stderr, "  documents %zu and %zu: %.17g, brute force %.17g\n", a, b, got,
                        want);
            CHECK(got == want);
            checked++;
            partial += want > 0.2 && want < 1;
        }
    }
    printf("  %zu pairs equal to brute force, %zu with 0.2 < J < 1\n", checked, partial);
    CHECK(partial > 50); /* the corpus has overlap worth checking */
    for (size_t d = 0; d < DOCS; ++d) {
        for (size_t i = 0; i < sizes[d]; ++i) free(sets[d][i]);
        free(sets[d]);
    }
    free(c.texts);
}

static void test_pairs_equal_single(void) {
    corpus c = make_corpus(7);
    enum { PAIRS = 500 };
    int64_t left[PAIRS], right[PAIRS];
    uint64_t seed = 3;
    for (size_t i = 0; i < PAIRS; ++i) {
        left[i] = (int64_t)(next_random(&seed) % DOCS);
        right[i] = i % 10 == 0 ? left[i] : (int64_t)(next_random(&seed) % DOCS);
    }
    knowhere_signature_options o = words(3);
    double want[PAIRS], got[PAIRS];
    for (size_t i = 0; i < PAIRS; ++i) {
        size_t a = (size_t)left[i], b = (size_t)right[i];
        CHECK_EQ(knowhere_shingle_jaccard(&o, c.texts + c.offsets[a],
                                          c.offsets[a + 1] - c.offsets[a], c.texts + c.offsets[b],
                                          c.offsets[b + 1] - c.offsets[b], &want[i], NULL),
                 KNOWHERE_OK);
    }
    const size_t threads[] = {0, 1, 2, 3, 8};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; ++t) {
        memset(got, 0, sizeof got);
        CInterrupt h = knowhere_interrupt_create();
        recorder r = recorder_new(0);
        knowhere_interrupt_set_progress(h, record, &r);
        CHECK_EQ(knowhere_shingle_jaccard_pairs_with_interrupt(&o, c.texts, c.len, c.offsets,
                                                                DOCS, left, right, PAIRS, got,
                                                                threads[t], h, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(got, want, sizeof got) == 0);
        /* progress: every document in a pair (all of them here) plus the pairs */
        uint64_t done = 0, total = 0;
        int phase = -1;
        CHECK_EQ(knowhere_interrupt_progress(h, &done, &total, &phase), KNOWHERE_OK);
        CHECK_EQ(phase, KNOWHERE_PHASE_VERIFY);
        CHECK_EQ(total, (uint64_t)DOCS + PAIRS);
        CHECK_EQ(done, total);
        CHECK(r.calls >= 1 && r.last_done == total && r.monotonic && r.total_stable);
        knowhere_interrupt_free(h);
    }
    /* no pairs: nothing to do, NULL arrays allowed */
    CHECK_EQ(knowhere_shingle_jaccard_pairs_with_interrupt(&o, c.texts, c.len, c.offsets, DOCS,
                                                            NULL, NULL, 0, NULL, 0, NULL, NULL),
             KNOWHERE_OK);
    free(c.texts);
}

/* Kept sets (knowhere_shingle_set, _sets_with_interrupt) give the same
 * similarities through knowhere_shingle_set_jaccard as the texts give
 * through knowhere_shingle_jaccard; the count protocol; the batch's
 * offsets are checked. */
static void test_kept_sets(void) {
    corpus c = make_corpus(11);
    knowhere_signature_options o = words(3);
    uint64_t *sets[DOCS];
    size_t counts[DOCS];
    uint32_t distinct[DOCS];
    uint64_t out_offsets[DOCS + 1] = {0};
    static uint8_t signatures[DOCS * 128 * 4];
    CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(&o, c.texts, c.len, c.offsets, DOCS,
                                                               signatures, sizeof signatures,
                                                               distinct, 0, NULL, NULL),
             KNOWHERE_OK);
    for (size_t d = 0; d < DOCS; ++d) {
        const char *text = c.texts + c.offsets[d];
        size_t len = c.offsets[d + 1] - c.offsets[d], count = 12345;
        knowhere_error *err = NULL;
        /* learn the count, then fill; too little room is OVERFLOW with the count */
        CHECK_EQ(knowhere_shingle_set(&o, text, len, NULL, 0, &count, NULL),
                 count ? KNOWHERE_ERR_OVERFLOW : KNOWHERE_OK);
        CHECK_EQ(count, distinct[d]);
        sets[d] = malloc((count ? count : 1) * sizeof *sets[d]);
        REQUIRE(sets[d] != NULL);
        if (count > 1) {
            size_t again = 0;
            CHECK_EQ(knowhere_shingle_set(&o, text, len, sets[d], count - 1, &again, &err),
                     KNOWHERE_ERR_OVERFLOW);
            CHECK(err && strstr(knowhere_error_message(err), "room for") != NULL);
            knowhere_error_free(err);
            CHECK_EQ(again, count);
        }
        CHECK_EQ(knowhere_shingle_set(&o, text, len, sets[d], count, &counts[d], NULL),
                 KNOWHERE_OK);
        /* both at once: the same set, and the signature from text's bytes */
        uint8_t signature[128 * 4], from_text[128 * 4];
        uint64_t *both = malloc((count ? count : 1) * sizeof *both);
        REQUIRE(both != NULL);
        size_t both_count = 0;
        CHECK_EQ(knowhere_signature_and_shingle_set(&o, text, len, signature, sizeof signature, both,
                                                    count, &both_count, NULL),
                 KNOWHERE_OK);
        CHECK_EQ(knowhere_signature_from_text(&o, text, len, from_text, sizeof from_text, NULL, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(signature, from_text, sizeof signature) == 0);
        CHECK(both_count == count && (count == 0 || memcmp(both, sets[d], count * sizeof *both) == 0));
        free(both);
        CHECK_EQ(counts[d], count);
        for (size_t i = 1; i < count; ++i) CHECK(sets[d][i - 1] < sets[d][i]); /* sorted, distinct */
        out_offsets[d + 1] = out_offsets[d] + count;
    }
    size_t compared = 0;
    for (size_t a = 0; a < DOCS; a += 3)
        for (size_t b = 0; b < DOCS; b += 2) {
            double want = -1;
            CHECK_EQ(knowhere_shingle_jaccard(&o, c.texts + c.offsets[a],
                                              c.offsets[a + 1] - c.offsets[a],
                                              c.texts + c.offsets[b],
                                              c.offsets[b + 1] - c.offsets[b], &want, NULL),
                     KNOWHERE_OK);
            CHECK(knowhere_shingle_set_jaccard(sets[a], counts[a], sets[b], counts[b]) == want);
            compared++;
        }
    CHECK(compared > 100);

    /* The same against the sets laid end to end in an arena. */
    uint64_t starts[DOCS];
    uint32_t row_counts[DOCS];
    size_t arena_len = (size_t)out_offsets[DOCS];
    uint64_t *arena = malloc((arena_len ? arena_len : 1) * sizeof *arena);
    REQUIRE(arena != NULL);
    for (size_t d = 0; d < DOCS; ++d) {
        starts[d] = out_offsets[d];
        row_counts[d] = (uint32_t)counts[d];
        if (counts[d]) memcpy(arena + starts[d], sets[d], counts[d] * sizeof *arena);
    }
    int64_t ids[DOCS];
    double many[DOCS];
    for (size_t i = 0; i < DOCS; ++i) ids[i] = (int64_t)((i * 7) % DOCS);
    for (size_t a = 0; a < DOCS; a += 5) {
        CHECK_EQ(knowhere_shingle_set_jaccard_rows(sets[a], counts[a], arena, arena_len, starts,
                                                   row_counts, DOCS, ids, DOCS, many, NULL),
                 KNOWHERE_OK);
        for (size_t i = 0; i < DOCS; ++i)
            CHECK(many[i] == knowhere_shingle_set_jaccard(sets[a], counts[a], sets[ids[i]],
                                                          counts[ids[i]]));
    }
    ids[3] = DOCS; /* out of range, and a set past the arena: refused before any work */
    CHECK_EQ(knowhere_shingle_set_jaccard_rows(sets[0], counts[0], arena, arena_len, starts,
                                               row_counts, DOCS, ids, DOCS, many, NULL),
             KNOWHERE_ERR_INVALID_ARG);
    ids[3] = 0;
    CHECK_EQ(knowhere_shingle_set_jaccard_rows(sets[0], counts[0], arena, arena_len - 1, starts,
                                               row_counts, DOCS, ids, DOCS, many, NULL),
             counts[DOCS - 1] ? KNOWHERE_ERR_INVALID_ARG : KNOWHERE_OK);
    free(arena);
    CHECK(knowhere_shingle_set_jaccard(NULL, 0, NULL, 0) == 1.0);
    CHECK(knowhere_shingle_set_jaccard(sets[0], counts[0], NULL, 5) == (counts[0] ? 0.0 : 1.0));

    /* The batch fills exactly the singles, on any thread count. */
    size_t total = (size_t)out_offsets[DOCS];
    uint64_t *batch = malloc((total ? total : 1) * sizeof *batch);
    REQUIRE(batch != NULL);
    const size_t threads[] = {1, 2, 5};
    for (size_t t = 0; t < 3; ++t) {
        memset(batch, 0, (total ? total : 1) * sizeof *batch);
        CHECK_EQ(knowhere_shingle_sets_with_interrupt(&o, c.texts, c.len, c.offsets, DOCS, batch,
                                                      total, out_offsets, threads[t], NULL, NULL),
                 KNOWHERE_OK);
        for (size_t d = 0; d < DOCS; ++d)
            CHECK(counts[d] == 0 ||
                  memcmp(batch + out_offsets[d], sets[d], counts[d] * sizeof *batch) == 0);
    }
    /* A document given the wrong room, offsets past out_len, and a set interrupt. */
    size_t doc = 0;
    while (doc < DOCS && counts[doc] == 0) doc++;
    REQUIRE(doc < DOCS);
    uint64_t wrong[DOCS + 1];
    memcpy(wrong, out_offsets, sizeof wrong);
    for (size_t d = doc + 1; d <= DOCS; ++d) wrong[d] -= 1;
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_shingle_sets_with_interrupt(&o, c.texts, c.len, c.offsets, DOCS, batch, total,
                                                  wrong, 2, NULL, &err),
             KNOWHERE_ERR_INVALID_ARG);
    char expected[64];
    snprintf(expected, sizeof expected, "document %zu has", doc);
    CHECK(err && strstr(knowhere_error_message(err), expected) != NULL);
    knowhere_error_free(err);
    CHECK_EQ(knowhere_shingle_sets_with_interrupt(&o, c.texts, c.len, c.offsets, DOCS, batch,
                                                  total - 1, out_offsets, 2, NULL, NULL),
             KNOWHERE_ERR_INVALID_ARG);
    CInterrupt stop = knowhere_interrupt_create_with_state(true);
    CHECK_EQ(knowhere_shingle_sets_with_interrupt(&o, c.texts, c.len, c.offsets, DOCS, batch, total,
                                                  out_offsets, 2, stop, NULL),
             KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_free(stop);
    free(batch);
    for (size_t d = 0; d < DOCS; ++d) free(sets[d]);
    free(c.texts);
}

/* ---- invalid arguments --------------------------------------------------------------- */

static void expect_invalid(int status, knowhere_error *err, const char *fragment, int line) {
    const char *message = err ? knowhere_error_message(err) : "(no error object)";
    bool ok = status == KNOWHERE_ERR_INVALID_ARG && err != NULL &&
              knowhere_error_code(err) == KNOWHERE_ERR_INVALID_ARG &&
              strstr(message, fragment) != NULL;
    if (!ok)
        fprintf(stderr, "  line %d: status %d, message \"%s\", wanted \"%s\"\n", line, status,
                message, fragment);
    CHECK(ok);
    knowhere_error_free(err);
}
#define EXPECT_INVALID(call, fragment)                                                      \
    do {                                                                                   \
        knowhere_error *err_ = NULL;                                                       \
        int status_ = (call);                                                              \
        expect_invalid(status_, err_, fragment, __LINE__);                                 \
    } while (0)

static void test_invalid_arguments(void) {
    knowhere_signature_options o = words(3), bad = words(0);
    double j = -1;
    EXPECT_INVALID(knowhere_shingle_jaccard(&bad, "a", 1, "b", 1, &j, &err_), "shingle_size is 0");
    EXPECT_INVALID(knowhere_shingle_jaccard(&o, NULL, 1, "b", 1, &j, &err_), "a is NULL");
    EXPECT_INVALID(knowhere_shingle_jaccard(&o, "a", 1, NULL, 3, &j, &err_), "b is NULL");
    EXPECT_INVALID(knowhere_shingle_jaccard(&o, "a", 1, "b", 1, NULL, &err_),
                   "similarity is NULL");
    CHECK(j == -1); /* untouched */

    const char texts[] = "a b c d e f g";
    uint64_t offsets[] = {0, 5, 13};
    int64_t left[] = {0, 1, 0}, right[] = {1, 2, -1};
    double out[3];
    EXPECT_INVALID(knowhere_shingle_jaccard_pairs_with_interrupt(&o, texts, 13, offsets, 2, left,
                                                                  right, 2, out, 1, NULL, &err_),
                   "pair 1 is (1, 2); documents are 0..1");
    EXPECT_INVALID(knowhere_shingle_jaccard_pairs_with_interrupt(&o, texts, 13, offsets, 2,
                                                                  left + 2, right + 2, 1, out, 1,
                                                                  NULL, &err_),
                   "pair 0 is (0, -1)");
    EXPECT_INVALID(knowhere_shingle_jaccard_pairs_with_interrupt(&o, texts, 13, offsets, 2, left,
                                                                  right, 1, NULL, 1, NULL, &err_),
                   "similarities is NULL but npairs is 1");
    EXPECT_INVALID(knowhere_shingle_jaccard_pairs_with_interrupt(&o, texts, 13, NULL, 2, left,
                                                                  right, 1, out, 1, NULL, &err_),
                   "offsets is NULL");
    EXPECT_INVALID(knowhere_shingle_jaccard_pairs_with_interrupt(&o, texts, 12, offsets, 2, left,
                                                                  right, 1, out, 1, NULL, &err_),
                   "beyond texts_len = 12");
    EXPECT_INVALID(knowhere_shingle_jaccard_pairs_with_interrupt(&bad, texts, 13, offsets, 2,
                                                                  left, right, 1, out, 1, NULL,
                                                                  &err_),
                   "shingle_size is 0");
    /* valid: (0, 1) is "a b c" against "d e f g" */
    CHECK_EQ(knowhere_shingle_jaccard_pairs_with_interrupt(&o, texts, 13, offsets, 2, left,
                                                            right, 1, out, 1, NULL, NULL),
             KNOWHERE_OK);
    CHECK(out[0] == 0.0);
}

/* ---- interrupts ---------------------------------------------------------------------- */

/* Two long documents (about 300 KB each) and many pairs of them: each pair
 * is a merge of about 100 000 steps, so the whole takes seconds. */
typedef struct {
    char *texts;
    size_t len;
    uint64_t offsets[3];
    int64_t *left, *right;
    double *out;
} long_job;

enum { LONG_WORDS = 50000, LONG_PAIRS = 20000 };

static long_job make_long_job(void) {
    long_job j = {.texts = malloc(2 * LONG_WORDS * 8)};
    j.left = malloc(LONG_PAIRS * sizeof *j.left);
    j.right = malloc(LONG_PAIRS * sizeof *j.right);
    j.out = malloc(LONG_PAIRS * sizeof *j.out);
    REQUIRE(j.texts && j.left && j.right && j.out);
    uint64_t seed = 5;
    for (size_t d = 0; d < 2; ++d) {
        j.offsets[d] = j.len;
        for (size_t w = 0; w < LONG_WORDS; ++w)
            j.len += (size_t)sprintf(j.texts + j.len, "w%05u ",
                                     (unsigned)(next_random(&seed) % 20000));
    }
    j.offsets[2] = j.len;
    for (size_t i = 0; i < LONG_PAIRS; ++i) {
        j.left[i] = 0;
        j.right[i] = 1;
    }
    return j;
}

static int run_long(const long_job *j, size_t threads, CInterrupt h) {
    knowhere_signature_options o = words(3);
    knowhere_error *err = NULL;
    int status = knowhere_shingle_jaccard_pairs_with_interrupt(
        &o, j->texts, j->len, j->offsets, 2, j->left, j->right, LONG_PAIRS, j->out, threads, h,
        &err);
    if (status != KNOWHERE_OK) {
        CHECK(err != NULL && knowhere_error_code(err) == status);
        knowhere_error_free(err);
    }
    return status;
}

static void test_interrupts(void) {
    long_job j = make_long_job();
    /* set before the call */
    CInterrupt h = knowhere_interrupt_create_with_state(true);
    CHECK_EQ(run_long(&j, 2, h), KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_free(h);
    /* part way: the first progress report (after 50 ms of work) stops it */
    const size_t threads[] = {1, 3};
    for (size_t t = 0; t < 2; ++t) {
        h = knowhere_interrupt_create();
        recorder r = recorder_new(1);
        knowhere_interrupt_set_progress(h, record, &r);
        double start = test_now_ms();
        CHECK_EQ(run_long(&j, threads[t], h), KNOWHERE_ERR_INTERRUPTED);
        CHECK(r.stopped_partway);
        printf("  %zu thread(s): interrupted by the progress callback after %.1f ms, at %llu of "
               "%llu\n",
               threads[t], test_now_ms() - start, (unsigned long long)r.last_done,
               (unsigned long long)r.total);
        knowhere_interrupt_free(h);
    }
    /* a deadline */
    h = knowhere_interrupt_create_with_timeout(20);
    CHECK_EQ(run_long(&j, 2, h), KNOWHERE_ERR_TIMEOUT);
    knowhere_interrupt_free(h);
    free(j.texts);
    free(j.left);
    free(j.right);
    free(j.out);
}

/* Sets of hashes as knowhere_shingle_set makes them (strictly increasing)
 * against a count by brute force: every pair of sizes 0..40 (the merge
 * compares blocks of 4 values of each list, then finishes one at a time),
 * overlaps from none to all, values at both ends of the range, and the
 * rows form of the same pairs. */
static void test_sets_against_brute_force(void) {
    enum { MAX = 40 };
    uint64_t a[MAX], b[MAX], seed = 99;
    uint64_t arena[2 * MAX];
    size_t checked = 0;
    for (size_t na = 0; na <= MAX; ++na) {
        for (size_t nb = 0; nb <= MAX; ++nb) {
            for (int shape = 0; shape < 4; ++shape) {
                /* the pool both draw from: as small as possible (most overlap),
                 * moderate, large (little overlap), and moderate at the ends of
                 * the range (0 and values near UINT64_MAX) */
                size_t larger = na > nb ? na : nb;
                size_t np = shape == 0 ? larger : shape == 2 ? 4 * (na + nb) + 8 : na + nb + 8;
                uint64_t pool[8 * MAX + 8];
                for (size_t v = 0; v < np; ++v)
                    pool[v] = shape == 3 ? (v == 0 ? 0 : UINT64_MAX - (uint64_t)(np - 1 - v))
                                         : (uint64_t)v * 3 + 1;
                /* a: na distinct values of the pool, b: nb, each sorted (selection
                 * sampling) */
                size_t fa = 0, fb = 0;
                for (size_t v = 0; v < np; ++v) {
                    size_t left = np - v;
                    if (fa < na && next_random(&seed) % left < na - fa) a[fa++] = pool[v];
                    if (fb < nb && next_random(&seed) % left < nb - fb) b[fb++] = pool[v];
                }
                CHECK_EQ(fa, na);
                CHECK_EQ(fb, nb);
                size_t common = 0;
                for (size_t i = 0; i < na; ++i)
                    for (size_t j = 0; j < nb; ++j) common += a[i] == b[j];
                double want = na + nb == 0 ? 1.0 : (double)common / (double)(na + nb - common);
                CHECK(knowhere_shingle_set_jaccard(a, na, b, nb) == want);
                CHECK(knowhere_shingle_set_jaccard(b, nb, a, na) == want);
                memcpy(arena, a, na * sizeof *a);
                memcpy(arena + na, b, nb * sizeof *b);
                uint64_t starts[2] = {0, na};
                uint32_t counts[2] = {(uint32_t)na, (uint32_t)nb};
                int64_t ids[2] = {1, 0};
                double got[2] = {-1, -1};
                CHECK_EQ(knowhere_shingle_set_jaccard_rows(a, na, arena, na + nb, starts, counts, 2,
                                                           ids, 2, got, NULL),
                         KNOWHERE_OK);
                CHECK(got[0] == want);
                CHECK(got[1] == 1.0); /* the query against itself */
                checked++;
            }
        }
    }
    printf("  %zu pairs of sets equal to brute force\n", checked);
}

int main(void) {
    RUN(test_hand_computed);
    RUN(test_sets_against_brute_force);
    RUN(test_large_documents);
    RUN(test_against_brute_force);
    RUN(test_pairs_equal_single);
    RUN(test_kept_sets);
    RUN(test_invalid_arguments);
    RUN(test_interrupts);
    return CHECK_DONE();
}
