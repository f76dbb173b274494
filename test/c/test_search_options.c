/* Search options: the defaults equal the plain search; hits mode gives the
 * first k rows in hit order (band by band, ids ascending, each once) with
 * distance 1; refine_k ranks only the first max(refine_k, k) of them; the
 * bitset id offset and the row predicate filter as documented (search,
 * batch, range search); the thread count is obeyed; bad options are
 * refused; a search in hits mode stops soon after its interrupt is set.
 * Everything is compared with a brute-force model of the documented order. */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"

enum { N = 600, LENGTH = 32, ES = 4, BANDS = 8, NQ = 40, K = 7 };
static const size_t SIG = LENGTH * ES;

/* The model's filter: a bitset read at id + offset, and a predicate. */
typedef struct {
    const uint8_t *bitset;
    size_t bits;
    uint64_t offset;
    knowhere_row_filter_fn fn;
    void *user;
} model_filter;

static bool model_excludes(const model_filter *f, size_t id) {
    if (f->bitset && (id + f->offset >= f->bits ||
                      ((f->bitset[(id + f->offset) >> 3] >> ((id + f->offset) & 7)) & 1)))
        return true;
    return f->fn && f->fn(f->user, (int64_t)id) != 0;
}

static bool band_equal(const reference *ref, const uint8_t *a, const uint8_t *b, size_t band) {
    size_t bw = ref->r * ref->es;
    return memcmp(a + band * bw, b + band * bw, bw) == 0;
}

/* The first `limit` rows in hit order into out; returns how many. */
static size_t model_hits(const reference *ref, const uint8_t *query, const model_filter *f,
                         size_t limit, int64_t *out) {
    bool *seen = calloc(ref->n, sizeof *seen);
    REQUIRE(seen != NULL);
    size_t m = 0;
    for (size_t b = 0; b < ref->bands && m < limit; ++b)
        for (size_t id = 0; id < ref->n && m < limit; ++id) {
            if (seen[id] || model_excludes(f, id)) continue;
            if (!band_equal(ref, query, ref->data + id * ref_sig(ref), b)) continue;
            seen[id] = true;
            out[m++] = (int64_t)id;
        }
    free(seen);
    return m;
}

/* The k best of `candidates` (score descending, id ascending) into ids/d,
 * padded with -1 / 0. */
static void model_rank(const reference *ref, const uint8_t *query, const int64_t *candidates,
                       size_t n, size_t k, int64_t *ids, float *d) {
    size_t slot = 0;
    for (long s = (long)ref->length; s >= 0 && slot < k; --s)
        for (size_t id = 0; id < ref->n && slot < k; ++id)
            for (size_t i = 0; i < n; ++i)
                if (candidates[i] == (int64_t)id &&
                    ref_score(ref, query, ref->data + id * ref_sig(ref)) == s) {
                    ids[slot] = (int64_t)id;
                    d[slot++] = ref_similarity(ref, s);
                }
    for (; slot < k; ++slot) {
        ids[slot] = -1;
        d[slot] = 0.0f;
    }
}

/* What a search with `options` must return for one query. */
static void model_search(const reference *ref, const uint8_t *query,
                         const knowhere_search_options *o, const model_filter *f, size_t k,
                         int64_t *ids, float *d) {
    int64_t *hits = malloc(ref->n * sizeof *hits);
    REQUIRE(hits != NULL);
    size_t limit = ref->n;
    if (o->mode == KNOWHERE_SEARCH_HITS) limit = k;
    else if (o->refine_k > 0) limit = o->refine_k > k ? (size_t)o->refine_k : k;
    size_t n = model_hits(ref, query, f, limit, hits);
    if (o->mode == KNOWHERE_SEARCH_HITS) {
        for (size_t slot = 0; slot < k; ++slot) {
            ids[slot] = slot < n ? hits[slot] : -1;
            d[slot] = slot < n ? 1.0f : 0.0f;
        }
    } else {
        model_rank(ref, query, hits, n, k, ids, d);
    }
    free(hits);
}

static knowhere_search_options options_with(uint32_t mode, uint64_t refine_k) {
    knowhere_search_options o;
    knowhere_search_options_init(&o);
    o.mode = mode;
    o.refine_k = refine_k;
    return o;
}

/* Runs the batch and every single search with `o` and compares each row
 * with the model. Returns the number of non-empty result slots. */
static size_t check_searches(knowhere_minhash_lsh *index, const reference *ref,
                             const uint8_t *queries, size_t nq, size_t k,
                             const knowhere_search_options *o, const model_filter *f) {
    int64_t *ids = malloc(nq * k * sizeof *ids), *want_ids = malloc(k * sizeof *want_ids);
    float *d = malloc(nq * k * sizeof *d), *want_d = malloc(k * sizeof *want_d);
    REQUIRE(ids && d && want_ids && want_d);
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_batch_search_with_options(
        index, queries, nq * SIG, nq, k, f->bitset, f->bits, o, ids, d, NULL, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "batch: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK);
    size_t found = 0;
    for (size_t q = 0; q < nq; ++q) {
        model_search(ref, queries + q * SIG, o, f, k, want_ids, want_d);
        CHECK(memcmp(ids + q * k, want_ids, k * sizeof *ids) == 0);
        CHECK(memcmp(d + q * k, want_d, k * sizeof *d) == 0);
        int64_t one_ids[64];
        float one_d[64];
        REQUIRE(k <= 64);
        status = knowhere_minhash_lsh_search_with_options(index, queries + q * SIG, SIG, k,
                                                          f->bitset, f->bits, o, one_ids,
                                                          one_d, NULL, NULL);
        CHECK_EQ(status, KNOWHERE_OK);
        CHECK(memcmp(one_ids, want_ids, k * sizeof *ids) == 0);
        for (size_t slot = 0; slot < k; ++slot) found += want_ids[slot] >= 0;
    }
    free(ids);
    free(d);
    free(want_ids);
    free(want_d);
    return found;
}

typedef struct {
    uint8_t *data, *queries;
} fixture;

/* Clustered rows; queries are rows and mutations of rows (so they have
 * candidates in several bands, and ties). */
static fixture make_fixture(void) {
    test_rng rng = {12};
    fixture fx = {clustered_signatures(&rng, N, LENGTH, ES), malloc(NQ * SIG)};
    REQUIRE(fx.queries != NULL);
    for (size_t q = 0; q < NQ; ++q) {
        const uint8_t *row = fx.data + (q * 37 % N) * SIG;
        if (q % 2) memcpy(fx.queries + q * SIG, row, SIG);
        else mutate_signature(&rng, row, fx.queries + q * SIG, LENGTH, ES, 0.7);
    }
    return fx;
}

static void free_fixture(fixture *fx) {
    free(fx->data);
    free(fx->queries);
}

static void test_init_and_defaults(void) {
    knowhere_search_options o;
    memset(&o, 0x5a, sizeof o);
    knowhere_search_options_init(&o);
    CHECK_EQ(o.size, sizeof o);
    CHECK_EQ(o.mode, KNOWHERE_SEARCH_RANKED);
    CHECK_EQ(o.refine_k, 0);
    CHECK_EQ(o.bitset_id_offset, 0);
    CHECK_EQ(o.threads, 0);
    CHECK(o.filter == NULL && o.filter_user == NULL);
    knowhere_search_options_init(NULL); /* no-op */

    /* The defaults (and NULL) give exactly the plain search. */
    fixture fx = make_fixture();
    uint8_t bitset[N / 8];
    for (size_t i = 0; i < sizeof bitset; ++i) bitset[i] = (uint8_t)(0x11u << (i % 4));
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, raw);
        int64_t a[NQ * K], b[NQ * K], c[NQ * K];
        float da[NQ * K], db[NQ * K], dc[NQ * K];
        CHECK_EQ(knowhere_minhash_lsh_batch_search(index, fx.queries, NQ * SIG, NQ, K, bitset,
                                                   N - 3, a, da, NULL),
                 KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_batch_search_with_options(index, fx.queries, NQ * SIG,
                                                                NQ, K, bitset, N - 3, &o, b,
                                                                db, NULL, NULL),
                 KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_batch_search_with_options(index, fx.queries, NQ * SIG,
                                                                NQ, K, bitset, N - 3, NULL, c,
                                                                dc, NULL, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(da, db, sizeof da) == 0);
        CHECK(memcmp(a, c, sizeof a) == 0 && memcmp(da, dc, sizeof da) == 0);
        knowhere_minhash_lsh_free(index);
    }
    free_fixture(&fx);
}

static void test_hits_mode(void) {
    fixture fx = make_fixture();
    model_filter none = {0};
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(fx.data, N, LENGTH, ES, BANDS, raw);
        knowhere_search_options o = options_with(KNOWHERE_SEARCH_HITS, 0);
        size_t found = 0;
        for (size_t k = 1; k <= 12; k += 5) found += check_searches(index, &ref, fx.queries, NQ, k, &o, &none);
        CHECK(found > NQ); /* queries do have hits, several of them */
        /* refine_k does not change hits mode */
        o.refine_k = 50;
        check_searches(index, &ref, fx.queries, NQ, K, &o, &none);
        knowhere_minhash_lsh_free(index);
    }
    free_fixture(&fx);
}

static void test_refine_k(void) {
    fixture fx = make_fixture();
    model_filter none = {0};
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(fx.data, N, LENGTH, ES, BANDS, raw);
        /* refine_k below k means k; above, more hits to rank. */
        const uint64_t refines[] = {1, K, 9, 40, UINT64_MAX};
        for (size_t i = 0; i < sizeof refines / sizeof *refines; ++i) {
            knowhere_search_options o = options_with(KNOWHERE_SEARCH_RANKED, refines[i]);
            check_searches(index, &ref, fx.queries, NQ, K, &o, &none);
        }
        knowhere_minhash_lsh_free(index);
    }
    free_fixture(&fx);
}

/* Rows added after the build live in the bands' deltas until a merge: hit
 * order (table run, then delta) and refine_k's scores must include them. */
static void test_added_rows(void) {
    fixture fx = make_fixture();
    model_filter none = {0};
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(fx.data, 500, LENGTH, ES, BANDS, raw);
        CHECK_EQ(knowhere_minhash_lsh_add(index, fx.data + 500 * SIG, 60 * SIG, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_add(index, fx.data + 560 * SIG, 40 * SIG, NULL), KNOWHERE_OK);
        reference ref = make_reference(fx.data, N, LENGTH, ES, BANDS, raw);
        const uint32_t modes[] = {KNOWHERE_SEARCH_HITS, KNOWHERE_SEARCH_RANKED};
        for (size_t m = 0; m < 2; ++m) {
            knowhere_search_options o = options_with(modes[m], 30);
            /* queries are rows 37 q mod 600: some of them added ones */
            CHECK(check_searches(index, &ref, fx.queries, NQ, K, &o, &none) > 0);
        }
        knowhere_minhash_lsh_free(index);
    }
    free_fixture(&fx);
}

static int exclude_multiples_of_three(void *user, int64_t id) {
    (void)user;
    return id % 3 == 0;
}

static void test_id_offset_and_predicate(void) {
    fixture fx = make_fixture();
    const uint64_t offset = 13;
    uint8_t bitset[(N + 13 + 7) / 8];
    test_rng rng = {5};
    rng_fill(&rng, bitset, sizeof bitset);
    for (size_t i = 0; i < sizeof bitset; ++i) bitset[i] &= (uint8_t)rng_next(&rng); /* ~1/4 set */
    for (int raw = 0; raw <= 1; ++raw) {
        knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, raw);
        reference ref = make_reference(fx.data, N, LENGTH, ES, BANDS, raw);
        const uint32_t modes[] = {KNOWHERE_SEARCH_RANKED, KNOWHERE_SEARCH_HITS};
        for (size_t m = 0; m < 2; ++m) {
            knowhere_search_options o = options_with(modes[m], 0);
            o.bitset_id_offset = offset;
            /* the bitset ends before the last rows: those are excluded */
            model_filter f = {bitset, N + offset - 20, offset, NULL, NULL};
            CHECK(check_searches(index, &ref, fx.queries, NQ, K, &o, &f) > 0);
            o.filter = f.fn = exclude_multiples_of_three;
            CHECK(check_searches(index, &ref, fx.queries, NQ, K, &o, &f) > 0);
            /* the predicate alone */
            model_filter g = {NULL, 0, 0, exclude_multiples_of_three, NULL};
            CHECK(check_searches(index, &ref, fx.queries, NQ, K, &o, &g) > 0);
            /* an offset past the bitset excludes every row */
            model_filter all = {bitset, 8, 9, NULL, NULL};
            o.filter = NULL;
            o.bitset_id_offset = 9;
            CHECK_EQ(check_searches(index, &ref, fx.queries, NQ, K, &o, &all), 0);
        }
        knowhere_minhash_lsh_free(index);
    }
    free_fixture(&fx);
}

static void test_range_search_with_options(void) {
    fixture fx = make_fixture();
    uint8_t bitset[(N + 13 + 7) / 8];
    memset(bitset, 0, sizeof bitset);
    for (size_t id = 0; id < N + 13; id += 5) bitset[id >> 3] |= (uint8_t)(1u << (id & 7));
    knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, true);
    knowhere_search_options o;
    knowhere_search_options_init(&o);
    o.bitset_id_offset = 13;
    o.filter = exclude_multiples_of_three;
    knowhere_range_result *r = NULL;
    CHECK_EQ(knowhere_minhash_lsh_range_search_with_options(index, fx.queries, NQ * SIG, NQ,
                                                            0.5f, bitset, N + 13, &o, &r, NULL,
                                                            NULL),
             KNOWHERE_OK);
    REQUIRE(r != NULL);
    /* Same as a plain range search over the bitset shifted by 13 ... */
    uint8_t shifted[(N + 7) / 8];
    memset(shifted, 0, sizeof shifted);
    for (size_t id = 0; id < N; ++id)
        if (((bitset[(id + 13) >> 3] >> ((id + 13) & 7)) & 1) || id % 3 == 0)
            shifted[id >> 3] |= (uint8_t)(1u << (id & 7));
    knowhere_range_result *plain = NULL;
    CHECK_EQ(knowhere_minhash_lsh_range_search_with_interrupt(index, fx.queries, NQ * SIG, NQ,
                                                              0.5f, shifted, N, &plain, NULL,
                                                              NULL),
             KNOWHERE_OK);
    REQUIRE(plain != NULL);
    size_t total = knowhere_range_result_lims(r)[NQ];
    CHECK(total > 0);
    CHECK_EQ(total, knowhere_range_result_lims(plain)[NQ]);
    CHECK(memcmp(knowhere_range_result_lims(r), knowhere_range_result_lims(plain),
                 (NQ + 1) * sizeof(uint64_t)) == 0);
    CHECK(memcmp(knowhere_range_result_ids(r), knowhere_range_result_ids(plain),
                 total * sizeof(int64_t)) == 0);
    CHECK(memcmp(knowhere_range_result_distances(r), knowhere_range_result_distances(plain),
                 total * sizeof(float)) == 0);
    knowhere_range_result_free(r);
    knowhere_range_result_free(plain);
    /* ... and range search refuses what does not apply to it. */
    r = (knowhere_range_result *)1;
    knowhere_search_options hits = options_with(KNOWHERE_SEARCH_HITS, 0);
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_options(index, fx.queries, SIG, 1, 0.5f,
                                                                NULL, 0, &hits, &r, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "KNOWHERE_SEARCH_HITS");
    CHECK(r == NULL);
    knowhere_search_options refine = options_with(KNOWHERE_SEARCH_RANKED, 3);
    EXPECT_ERROR(knowhere_minhash_lsh_range_search_with_options(index, fx.queries, SIG, 1, 0.5f,
                                                                NULL, 0, &refine, &r, NULL,
                                                                &err),
                 KNOWHERE_ERR_INVALID_ARG, "refine_k");
    knowhere_minhash_lsh_free(index);
    free_fixture(&fx);
}

/* A predicate that excludes nothing and notes which threads call it. */
typedef struct {
    pthread_mutex_t lock;
    pthread_t threads[8];
    size_t count;
} thread_log;

static int note_thread(void *user, int64_t id) {
    (void)id;
    thread_log *log = user;
    pthread_t self = pthread_self();
    pthread_mutex_lock(&log->lock);
    size_t i = 0;
    while (i < log->count && !pthread_equal(log->threads[i], self)) i++;
    if (i == log->count && log->count < 8) log->threads[log->count++] = self;
    pthread_mutex_unlock(&log->lock);
    return 0;
}

static void test_threads_option(void) {
    fixture fx = make_fixture();
    knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, true);
    CHECK_EQ(knowhere_minhash_lsh_set_num_threads(index, 4), KNOWHERE_OK);
    int64_t ids[NQ * K];
    float d[NQ * K];
    for (uint64_t threads = 1; threads <= 2; ++threads) {
        thread_log log = {.count = 0};
        pthread_mutex_init(&log.lock, NULL);
        knowhere_search_options o;
        knowhere_search_options_init(&o);
        o.threads = threads;
        o.filter = note_thread;
        o.filter_user = &log;
        CHECK_EQ(knowhere_minhash_lsh_batch_search_with_options(index, fx.queries, NQ * SIG, NQ,
                                                                K, NULL, 0, &o, ids, d, NULL,
                                                                NULL),
                 KNOWHERE_OK);
        /* never more threads than asked for (the index's 4 are not used);
         * one thread means the caller's */
        CHECK(log.count >= 1 && log.count <= threads);
        if (threads == 1) CHECK(pthread_equal(log.threads[0], pthread_self()));
        pthread_mutex_destroy(&log.lock);
    }
    knowhere_minhash_lsh_free(index);
    free_fixture(&fx);
}

static void test_bad_options(void) {
    fixture fx = make_fixture();
    knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, true);
    int64_t ids[K];
    float d[K];
    knowhere_search_options o;
    knowhere_search_options_init(&o);
    o.size = 8; /* an options struct from no version of the header */
    EXPECT_ERROR(knowhere_minhash_lsh_search_with_options(index, fx.queries, SIG, K, NULL, 0,
                                                          &o, ids, d, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "options->size");
    knowhere_search_options_init(&o);
    o.mode = 7;
    EXPECT_ERROR(knowhere_minhash_lsh_batch_search_with_options(index, fx.queries, SIG, 1, K,
                                                                NULL, 0, &o, ids, d, NULL,
                                                                &err),
                 KNOWHERE_ERR_INVALID_ARG, "options->mode");
    /* the usual argument checks come first and still apply */
    knowhere_search_options_init(&o);
    EXPECT_ERROR(knowhere_minhash_lsh_search_with_options(index, fx.queries, SIG - 1, K, NULL,
                                                          0, &o, ids, d, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "query length");
    EXPECT_ERROR(knowhere_minhash_lsh_search_with_options(NULL, fx.queries, SIG, K, NULL, 0, &o,
                                                          ids, d, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    knowhere_minhash_lsh_free(index);

    /* A never-built index: empty rows in every mode. */
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    REQUIRE(empty != NULL);
    o.mode = KNOWHERE_SEARCH_HITS;
    ids[0] = 5;
    CHECK_EQ(knowhere_minhash_lsh_search_with_options(empty, fx.queries, SIG, K, NULL, 0, &o,
                                                      ids, d, NULL, NULL),
             KNOWHERE_OK);
    CHECK(ids[0] == -1 && d[0] == 0.0f);
    knowhere_minhash_lsh_free(empty);
    free_fixture(&fx);
}

static void test_removed_rows_are_no_hits(void) {
    fixture fx = make_fixture();
    knowhere_minhash_lsh *index = build_index(fx.data, N, LENGTH, ES, BANDS, true);
    /* query = row 40: its hits start with row 40 itself (band 0) */
    knowhere_search_options o = options_with(KNOWHERE_SEARCH_HITS, 0);
    int64_t ids[K];
    float d[K];
    CHECK_EQ(knowhere_minhash_lsh_search_with_options(index, fx.data + 40 * SIG, SIG, K, NULL, 0,
                                                      &o, ids, d, NULL, NULL),
             KNOWHERE_OK);
    CHECK_EQ(ids[0], 40);
    int64_t gone = 40;
    CHECK_EQ(knowhere_minhash_lsh_remove(index, &gone, 1, NULL, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_search_with_options(index, fx.data + 40 * SIG, SIG, K, NULL, 0,
                                                      &o, ids, d, NULL, NULL),
             KNOWHERE_OK);
    for (size_t slot = 0; slot < K; ++slot) CHECK(ids[slot] != 40);
    knowhere_minhash_lsh_free(index);
    free_fixture(&fx);
}

/* Sets the interrupt on the predicate's 10th call and counts the calls. */
typedef struct {
    CInterrupt interrupt;
    size_t calls;
} stopper;

static int stop_after_ten(void *user, int64_t id) {
    (void)id;
    stopper *s = user;
    if (++s->calls == 10) knowhere_interrupt_interrupt(s->interrupt);
    return 0;
}

static void test_hits_stop_soon_after_interrupt(void) {
    /* 20 000 identical rows: one band run of 20 000 entries, all hits. */
    enum { ROWS = 20000 };
    uint8_t *data = malloc((size_t)ROWS * SIG);
    REQUIRE(data != NULL);
    for (size_t i = 0; i < ROWS; ++i) memset(data + i * SIG, 7, SIG);
    knowhere_minhash_lsh *index = build_index(data, ROWS, LENGTH, ES, 1, false);
    stopper s = {knowhere_interrupt_create(), 0};
    REQUIRE(s.interrupt != NULL);
    knowhere_search_options o = options_with(KNOWHERE_SEARCH_RANKED, UINT64_MAX);
    o.filter = stop_after_ten;
    o.filter_user = &s;
    int64_t ids[K];
    float d[K];
    EXPECT_ERROR(knowhere_minhash_lsh_search_with_options(index, data, SIG, K, NULL, 0, &o, ids,
                                                          d, s.interrupt, &err),
                 KNOWHERE_ERR_INTERRUPTED, "interrupted");
    /* the hit loop polls every 1024 entries: it stopped long before 20 000 */
    CHECK(s.calls >= 10 && s.calls <= 10 + 1024);
    /* without the interrupt, every row is a hit and they rank by id */
    knowhere_interrupt_reset(s.interrupt);
    o.filter = NULL;
    CHECK_EQ(knowhere_minhash_lsh_search_with_options(index, data, SIG, K, NULL, 0, &o, ids, d,
                                                      s.interrupt, NULL),
             KNOWHERE_OK);
    for (size_t slot = 0; slot < K; ++slot) CHECK(ids[slot] == (int64_t)slot && d[slot] == 1.0f);
    knowhere_interrupt_free(s.interrupt);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_init_and_defaults);
    RUN(test_hits_mode);
    RUN(test_refine_k);
    RUN(test_added_rows);
    RUN(test_id_offset_and_predicate);
    RUN(test_range_search_with_options);
    RUN(test_threads_option);
    RUN(test_bad_options);
    RUN(test_removed_rows_are_no_hits);
    RUN(test_hits_stop_soon_after_interrupt);
    return CHECK_DONE();
}
