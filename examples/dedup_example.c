/* Near-duplicate detection end to end from C (what `knowhere-rs dedup`
 * does): signatures of texts in one batch call, bands chosen for the
 * similarity threshold, an index built straight from the signatures, a
 * self-join at a lower bar, the candidates verified by the exact Jaccard
 * similarity of their shingle sets, clusters of the verified pairs, and the
 * removal of every duplicate but the first of its cluster.
 *
 * Build and run: build/examples/dedup_example */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knowhere_rs.h"

#define THRESHOLD 0.8
enum { NDOCS = 6, NUM_HASHES = 128 };

static const char *const documents[NDOCS] = {
    "The quick brown fox jumps over the lazy dog while the farmer sleeps in the barn and the "
    "cat watches the mice.",
    "the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn and the "
    "cat watches the mice!",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG WHILE THE FARMER SLEEPS IN THE BARN AND THE "
    "CAT WATCHES THE MICE.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna.",
    "A completely different sentence about databases, indexes, and the joy of finding similar "
    "documents quickly.",
};

static int fail(const char *what, int status, knowhere_error *err) {
    fprintf(stderr, "%s: %s (%d: %s)\n", what, err ? knowhere_error_message(err) : "", status,
            knowhere_status_string(status));
    knowhere_error_free(err);
    return 1;
}

/* All documents in one buffer: document d is texts[offsets[d] .. offsets[d + 1]). */
static char *pack(uint64_t offsets[NDOCS + 1], size_t *len) {
    size_t total = 0;
    for (size_t d = 0; d < NDOCS; ++d) total += strlen(documents[d]);
    char *texts = malloc(total ? total : 1);
    if (texts == NULL) return NULL;
    offsets[0] = 0;
    for (size_t d = 0; d < NDOCS; ++d) {
        size_t n = strlen(documents[d]);
        memcpy(texts + offsets[d], documents[d], n);
        offsets[d + 1] = offsets[d] + n;
    }
    *len = total;
    return texts;
}

int main(void) {
    knowhere_error *err = NULL;
    uint64_t offsets[NDOCS + 1];
    size_t texts_len = 0;
    char *texts = pack(offsets, &texts_len);
    if (texts == NULL) return 1;

    /* 1. Signatures: K = 128 four-byte values per document, word 3-shingles. */
    knowhere_signature_options options;
    knowhere_signature_options_init(&options);
    static uint32_t signatures[NDOCS * NUM_HASHES];
    int status = knowhere_signature_batch_from_text_with_interrupt(
        &options, texts, texts_len, offsets, NDOCS, (uint8_t *)signatures, sizeof signatures, NULL,
        0, NULL, &err);
    if (status != KNOWHERE_OK) return fail("signatures", status, err);

    /* 2. Bands: a pair at the threshold is a candidate with probability >= 0.95. */
    size_t bands = 0, rows = 0;
    double p = 0;
    status = knowhere_lsh_choose_bands(NUM_HASHES, THRESHOLD, 0.95, &bands, &rows, &p, &err);
    if (status != KNOWHERE_OK) return fail("choose bands", status, err);
    printf("%zu bands x %zu rows: P(candidate | J = %.1f) = %.3f\n", bands, rows, THRESHOLD, p);

    /* 3. The index, keeping the raw signatures for verified similarities. */
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    if (index == NULL) return 1;
    status = knowhere_minhash_lsh_build(index, (const uint8_t *)signatures, sizeof signatures,
                                        NUM_HASHES, 4, bands, true, &err);
    if (status != KNOWHERE_OK) return fail("build", status, err);

    /* 4. Candidates: every pair whose signatures agree in >= 0.7 of the
     * positions (below the threshold, so that no true pair is lost to a low
     * estimate), then 5. their exact similarity. */
    knowhere_pairs *pairs = NULL;
    status = knowhere_minhash_lsh_self_join_with_interrupt(index, 0.7f, &pairs, NULL, &err);
    if (status != KNOWHERE_OK) return fail("self-join", status, err);
    size_t candidates = knowhere_pairs_count(pairs);
    double *exact = malloc((candidates ? candidates : 1) * sizeof *exact);
    int64_t *left = malloc((candidates ? candidates : 1) * sizeof *left);
    int64_t *right = malloc((candidates ? candidates : 1) * sizeof *right);
    if (exact == NULL || left == NULL || right == NULL) return 1;
    status = knowhere_shingle_jaccard_pairs_with_interrupt(
        &options, texts, texts_len, offsets, NDOCS, knowhere_pairs_left(pairs),
        knowhere_pairs_right(pairs), candidates, exact, 0, NULL, &err);
    if (status != KNOWHERE_OK) return fail("verify", status, err);
    size_t kept = 0;
    for (size_t i = 0; i < candidates; ++i) {
        int64_t a = knowhere_pairs_left(pairs)[i], b = knowhere_pairs_right(pairs)[i];
        printf("pair %lld, %lld: estimate %.3f, exact %.3f%s\n", (long long)a, (long long)b,
               knowhere_pairs_similarity(pairs)[i], exact[i],
               exact[i] >= THRESHOLD ? "" : " (dropped)");
        if (exact[i] < THRESHOLD) continue;
        left[kept] = a;
        right[kept++] = b;
    }

    /* 6. Clusters: each document's smallest-id cluster mate. */
    int64_t cluster[NDOCS];
    status = knowhere_cluster_pairs_with_interrupt(NDOCS, left, right, kept, cluster, NULL, &err);
    if (status != KNOWHERE_OK) return fail("cluster", status, err);

    /* 7. Keep the first of each cluster: remove the others from the index. */
    int64_t duplicates[NDOCS];
    size_t ndup = 0;
    for (size_t d = 0; d < NDOCS; ++d) {
        printf("document %zu: cluster %lld\n", d, (long long)cluster[d]);
        if (cluster[d] != (int64_t)d) duplicates[ndup++] = (int64_t)d;
    }
    size_t removed = 0;
    status = knowhere_minhash_lsh_remove(index, duplicates, ndup, &removed, &err);
    if (status != KNOWHERE_OK) return fail("remove", status, err);
    printf("%zu duplicates removed; %zu of %zu documents left in the index\n", removed,
           knowhere_minhash_lsh_count(index) - knowhere_minhash_lsh_removed_count(index),
           knowhere_minhash_lsh_count(index));

    free(exact);
    free(left);
    free(right);
    knowhere_pairs_free(pairs);
    knowhere_minhash_lsh_free(index);
    free(texts);
    /* The fox sentences are one cluster, the two Lorem ipsum ones another. */
    return cluster[1] == 0 && cluster[3] == 0 && cluster[4] == 2 && cluster[5] == 5 && removed == 3
               ? 0
               : 1;
}
