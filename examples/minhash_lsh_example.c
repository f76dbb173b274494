/* The MinHash-LSH index from C: build from signatures, search, batch search,
 * and cancel a long build from another thread.
 *
 * Build and run: build/examples/minhash_lsh_example */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"

enum { LENGTH = 128, BANDS = 16, N = 200000, K = 5 };

/* Stand-in MinHash signatures: random 32-bit values, and every tenth row a
 * near-copy of the row before it (about 90 % of positions equal). */
static uint32_t *make_signatures(size_t n) {
    uint32_t *sig = malloc(n * LENGTH * sizeof *sig);
    if (sig == NULL) return NULL;
    uint64_t state = 42;
    for (size_t i = 0; i < n * LENGTH; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        sig[i] = (uint32_t)(state >> 32);
    }
    for (size_t row = 10; row < n; row += 10)
        for (size_t j = 0; j < LENGTH; ++j)
            if (sig[row * LENGTH + j] % 10 != 0) sig[row * LENGTH + j] = sig[(row - 1) * LENGTH + j];
    return sig;
}

static int fail(const char *what, int status, knowhere_error *err) {
    fprintf(stderr, "%s: %s (%d: %s)\n", what, knowhere_error_message(err), status,
            knowhere_status_string(status));
    knowhere_error_free(err);
    return 1;
}

struct canceller {
    CInterrupt interrupt;
    long delay_ms;
};

static void *cancel_later(void *arg) {
    struct canceller *c = arg;
    struct timespec pause = {0, c->delay_ms * 1000000L};
    nanosleep(&pause, NULL);
    knowhere_interrupt_interrupt(c->interrupt);
    return NULL;
}

int main(void) {
    uint32_t *signatures = make_signatures(N);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    if (signatures == NULL || index == NULL) return 1;
    const uint8_t *bytes = (const uint8_t *)signatures;
    const size_t sig_bytes = LENGTH * sizeof(uint32_t);

    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_build(index, bytes, N * sig_bytes, LENGTH,
                                            sizeof(uint32_t), BANDS, true, &err);
    if (status != KNOWHERE_OK) return fail("build", status, err);
    printf("built: %zu signatures, %zu bands of %zu values, %.1f MB\n",
           knowhere_minhash_lsh_count(index), knowhere_minhash_lsh_bands(index),
           knowhere_minhash_lsh_rows_per_band(index),
           knowhere_minhash_lsh_memory_usage(index) / 1e6);

    /* Row 10 is a near-copy of row 9: searching with it finds both. */
    int64_t ids[K];
    float similarity[K];
    status = knowhere_minhash_lsh_search(index, bytes + 10 * sig_bytes, sig_bytes, K, NULL, 0,
                                         ids, similarity, &err);
    if (status != KNOWHERE_OK) return fail("search", status, err);
    printf("search for row 10:");
    for (int i = 0; i < K && ids[i] >= 0; ++i) printf(" %lld (%.3f)", (long long)ids[i], similarity[i]);
    printf("\n");

    /* A filter that excludes row 10 itself (a set bit excludes). */
    uint8_t *bitset = calloc((N + 7) / 8, 1);
    if (bitset == NULL) return 1;
    bitset[10 / 8] |= 1 << (10 % 8);
    status = knowhere_minhash_lsh_search(index, bytes + 10 * sig_bytes, sig_bytes, K, bitset, N,
                                         ids, similarity, &err);
    if (status != KNOWHERE_OK) return fail("filtered search", status, err);
    printf("same, row 10 filtered out: best is %lld (%.3f)\n", (long long)ids[0], similarity[0]);
    free(bitset);

    /* A batch of 1000 queries on every core. */
    enum { NQ = 1000 };
    int64_t *batch_ids = malloc(NQ * K * sizeof *batch_ids);
    float *batch_sim = malloc(NQ * K * sizeof *batch_sim);
    if (!batch_ids || !batch_sim) return 1;
    status = knowhere_minhash_lsh_batch_search(index, bytes, NQ * sig_bytes, NQ, K, NULL, 0,
                                               batch_ids, batch_sim, &err);
    if (status != KNOWHERE_OK) return fail("batch search", status, err);
    size_t self = 0;
    for (size_t q = 0; q < NQ; ++q) self += batch_ids[q * K] == (int64_t)q;
    printf("batch of %d: %zu found themselves first\n", NQ, self);

    /* A rebuild cancelled from another thread after 5 ms: the index keeps
     * its contents. */
    CInterrupt interrupt = knowhere_interrupt_create();
    struct canceller canceller = {interrupt, 5};
    pthread_t thread;
    if (interrupt == NULL || pthread_create(&thread, NULL, cancel_later, &canceller) != 0) return 1;
    status = knowhere_minhash_lsh_build_with_interrupt(index, bytes, N * sig_bytes, LENGTH,
                                                       sizeof(uint32_t), 8, false, interrupt, &err);
    pthread_join(thread, NULL);
    printf("rebuild: %s%s%s; still %zu signatures in %zu bands\n", knowhere_status_string(status),
           err ? ": " : "", knowhere_error_message(err), knowhere_minhash_lsh_count(index),
           knowhere_minhash_lsh_bands(index));
    knowhere_error_free(err);

    knowhere_interrupt_free(interrupt);
    knowhere_minhash_lsh_free(index);
    free(batch_ids);
    free(batch_sim);
    free(signatures);
    return status == KNOWHERE_ERR_INTERRUPTED || status == KNOWHERE_OK ? 0 : 1;
}
