/* Signature speed (part of `npm run bench`): microseconds per document for
 * K = 128 on one core, from token hashes and from text, at 100 and 1000
 * tokens, and documents per second for a batch on every core; then the
 * exact shingle similarity of neighbouring documents (the pairs call on one
 * core: each document shingled once, then merged). Medians of several
 * repetitions; the machine is shared, so compare runs, not digits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"

enum { REPS = 7, DOCS = 2000 };

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, by_value);
    return v[n / 2];
}

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s ^ (*s >> 29);
}

/* DOCS documents of `words` random words from a 5 000-word vocabulary. */
static char *make_texts(size_t words, uint64_t *offsets) {
    char *texts = malloc(DOCS * words * 9 + 1);
    if (texts == NULL) exit(1);
    uint64_t seed = 7;
    size_t at = 0;
    for (size_t d = 0; d < DOCS; ++d) {
        offsets[d] = at;
        for (size_t w = 0; w < words; ++w)
            at += (size_t)sprintf(texts + at, "w%04u ", (unsigned)(next(&seed) % 5000));
    }
    offsets[DOCS] = at;
    return texts;
}

/* Exact similarity of documents (d, d + 1), one core: microseconds per pair. */
static double bench_exact(const knowhere_signature_options *options, const char *texts,
                          const uint64_t *offsets) {
    enum { PAIRS = DOCS - 1 };
    int64_t *left = malloc(PAIRS * sizeof *left), *right = malloc(PAIRS * sizeof *right);
    double *similarity = malloc(PAIRS * sizeof *similarity);
    if (!left || !right || !similarity) exit(1);
    for (size_t i = 0; i < PAIRS; ++i) {
        left[i] = (int64_t)i;
        right[i] = (int64_t)i + 1;
    }
    double runs[REPS];
    for (int r = 0; r < REPS; ++r) {
        double t = now_us();
        if (knowhere_shingle_jaccard_pairs_with_interrupt(options, texts, offsets[DOCS], offsets,
                                                          DOCS, left, right, PAIRS, similarity, 1,
                                                          NULL, NULL) != KNOWHERE_OK)
            exit(1);
        runs[r] = (now_us() - t) / PAIRS;
    }
    free(left);
    free(right);
    free(similarity);
    return median(runs, REPS);
}

static void bench(size_t tokens, const knowhere_signature_options *options) {
    uint64_t *offsets = malloc((DOCS + 1) * sizeof *offsets);
    uint64_t *hashes = malloc(DOCS * tokens * sizeof *hashes);
    uint8_t *out = malloc((size_t)DOCS * 128 * 4);
    if (!offsets || !hashes || !out) exit(1);
    char *texts = make_texts(tokens, offsets);
    uint64_t seed = 11;
    for (size_t i = 0; i < DOCS * tokens; ++i) hashes[i] = next(&seed);

    double from_hashes[REPS], from_text[REPS], batch[REPS];
    for (int r = 0; r < REPS; ++r) {
        double t = now_us();
        for (size_t d = 0; d < DOCS; ++d)
            knowhere_signature_from_hashes(options, hashes + d * tokens, tokens, out, 512, NULL);
        from_hashes[r] = (now_us() - t) / DOCS;
        t = now_us();
        for (size_t d = 0; d < DOCS; ++d)
            knowhere_signature_from_text(options, texts + offsets[d], offsets[d + 1] - offsets[d],
                                         out, 512, NULL, NULL);
        from_text[r] = (now_us() - t) / DOCS;
        t = now_us();
        if (knowhere_signature_batch_from_text_with_interrupt(options, texts, offsets[DOCS], offsets,
                                                              DOCS, out, (size_t)DOCS * 512, NULL, 0,
                                                              NULL, NULL) != KNOWHERE_OK)
            exit(1);
        batch[r] = (now_us() - t) / DOCS;
    }
    printf("| %5zu tokens | %6.2f us | %6.2f us | %6.2f us (%.0f docs/s) | %6.2f us |\n", tokens,
           median(from_hashes, REPS), median(from_text, REPS), median(batch, REPS),
           1e6 / median(batch, REPS), bench_exact(options, texts, offsets));
    free(texts);
    free(offsets);
    free(hashes);
    free(out);
}

int main(void) {
    knowhere_signature_options options;
    knowhere_signature_options_init(&options); /* K = 128, words:3, 4-byte values */
    const char *simd = getenv("KNOWHERE_SIMD");
    printf("signatures, K = 128, word 3-shingles, per document (median of %d x %d docs), "
           "KNOWHERE_SIMD=%s\n", REPS, DOCS, simd ? simd : "(unset: this CPU's best)");
    printf("| document | from hashes, 1 core | from text, 1 core | batch from text, all cores | "
           "exact similarity per pair, 1 core |\n");
    printf("|---|---|---|---|---|\n");
    bench(100, &options);
    bench(1000, &options);
    return 0;
}
