/* The C side of bench/cli-vs-c.bench.ts: the work `knowhere-rs dedup
 * --format pairs-csv` does, from text to pairs, done by a C program with
 * the library and nothing else, so that the command's overhead (Node's
 * start-up, reading and parsing JSON Lines, the binding, writing) can be
 * measured against it.
 *
 *   pipeline_bench TEXTS OUT.csv [THRESHOLD] [THREADS]
 *
 * TEXTS holds one document per line (the benchmark writes the same texts
 * there as in the JSON Lines file the command reads; they contain no
 * newline). The program reads it whole, computes the signatures (word
 * 3-shingles, 128 hashes: the command's defaults) in one batch call on
 * THREADS threads (0: every core, as the command), chooses the bands for
 * THRESHOLD (P >= 0.95 at it, as the command), builds the index with raw
 * data, self-joins it at THRESHOLD and writes "left,right,similarity"
 * lines, 0-based document numbers. It prints the time of each phase on
 * stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char *what, int status, knowhere_error *err) {
    fprintf(stderr, "pipeline_bench: %s: %s (%s)\n", what, err ? knowhere_error_message(err) : "",
            knowhere_status_string(status));
    knowhere_error_free(err);
    return 1;
}

/* The whole file, NUL-terminated; NULL on error. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t capacity = 1 << 20, n = 0;
    char *data = malloc(capacity);
    while (data != NULL) {
        n += fread(data + n, 1, capacity - n, f);
        if (n < capacity) break;
        char *grown = realloc(data, capacity * 2);
        if (grown == NULL) free(data);
        data = grown;
        capacity *= 2;
    }
    int error = ferror(f);
    fclose(f);
    if (data == NULL || error) {
        free(data);
        return NULL;
    }
    *len = n;
    return data;
}

/* Offsets of the lines of texts[0..len) (a last line without a newline
 * counts): line d is texts[offsets[d] .. offsets[d + 1]), its newline
 * included (whitespace, which changes no shingle, so the batch call reads
 * the texts in place). Returns the line count, or SIZE_MAX on
 * out-of-memory. */
static size_t split_lines(const char *texts, size_t len, uint64_t **offsets) {
    size_t lines = 0;
    for (const char *p = texts; (p = memchr(p, '\n', (size_t)(texts + len - p))) != NULL; ++p)
        ++lines;
    if (len > 0 && texts[len - 1] != '\n') ++lines;
    *offsets = malloc((lines + 1) * sizeof **offsets);
    if (*offsets == NULL) return SIZE_MAX;
    size_t d = 0;
    (*offsets)[0] = 0;
    for (size_t i = 0; i < len; ++i)
        if (texts[i] == '\n') (*offsets)[++d] = i + 1;
    (*offsets)[lines] = len;
    return lines;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: pipeline_bench TEXTS OUT.csv [THRESHOLD] [THREADS]\n");
        return 2;
    }
    double threshold = argc > 3 ? atof(argv[3]) : 0.8;
    size_t threads = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : 0;
    knowhere_error *err = NULL;
    double t0 = now_s();

    size_t len = 0;
    char *texts = read_file(argv[1], &len);
    if (texts == NULL) {
        perror(argv[1]);
        return 1;
    }
    uint64_t *offsets = NULL;
    size_t ndocs = split_lines(texts, len, &offsets);
    if (ndocs == SIZE_MAX || ndocs == 0) return fail("reading", KNOWHERE_ERR_NO_MEMORY, NULL);
    double t1 = now_s();

    knowhere_signature_options options;
    knowhere_signature_options_init(&options);
    size_t row = (size_t)options.num_hashes * options.value_bytes;
    uint8_t *signatures = malloc(ndocs * row);
    if (signatures == NULL) return fail("signatures", KNOWHERE_ERR_NO_MEMORY, NULL);
    int status = knowhere_signature_batch_from_text_with_interrupt(
        &options, texts, len, offsets, ndocs, signatures, ndocs * row, NULL, threads, NULL, &err);
    if (status != KNOWHERE_OK) return fail("signatures", status, err);
    double t2 = now_s();

    size_t bands = 0, rows = 0;
    double probability = 0;
    status = knowhere_lsh_choose_bands(options.num_hashes, threshold, 0.95, &bands, &rows,
                                       &probability, &err);
    if (status != KNOWHERE_OK) return fail("bands", status, err);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    if (index == NULL) return fail("index", KNOWHERE_ERR_NO_MEMORY, NULL);
    knowhere_minhash_lsh_set_num_threads(index, threads);
    status = knowhere_minhash_lsh_build(index, signatures, ndocs * row, options.num_hashes,
                                        options.value_bytes, bands, true, &err);
    if (status != KNOWHERE_OK) return fail("build", status, err);
    double t3 = now_s();

    knowhere_pairs *pairs = NULL;
    status = knowhere_minhash_lsh_self_join_with_interrupt(index, (float)threshold, &pairs, NULL,
                                                           &err);
    if (status != KNOWHERE_OK) return fail("self-join", status, err);
    double t4 = now_s();

    FILE *out = fopen(argv[2], "wb");
    if (out == NULL) {
        perror(argv[2]);
        return 1;
    }
    size_t n = knowhere_pairs_count(pairs);
    const int64_t *left = knowhere_pairs_left(pairs), *right = knowhere_pairs_right(pairs);
    const float *similarity = knowhere_pairs_similarity(pairs);
    for (size_t i = 0; i < n; ++i)
        fprintf(out, "%lld,%lld,%.4f\n", (long long)left[i], (long long)right[i],
                (double)similarity[i]);
    if (fclose(out) != 0) {
        perror(argv[2]);
        return 1;
    }
    double t5 = now_s();
    fprintf(stderr,
            "documents %zu, bands %zu x %zu, pairs %zu; reading %.3f s, signatures %.3f s, "
            "build %.3f s, self-join %.3f s, writing %.3f s, total %.3f s\n",
            ndocs, bands, rows, n, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0);
    knowhere_pairs_free(pairs);
    knowhere_minhash_lsh_free(index);
    free(signatures);
    free(offsets);
    free(texts);
    return 0;
}
