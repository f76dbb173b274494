/* Clusters without pairs (knowhere_minhash_lsh_cluster_with_interrupt and
 * its exact variant) against brute force: components equal a breadth-first
 * search over every pair (share an exact band, similarity >= threshold),
 * the cover equals the greedy definition over those pairs, similarities
 * are the reference's; on hot buckets (a thousand identical rows, one big
 * cluster of chained near-duplicates, a run of unrelated rows sharing one
 * band), with and without raw data, after adds, with removed rows, on 1, 2
 * and 7 threads; the exact variant against knowhere_shingle_jaccard on
 * documents; bad input; interrupts, deadlines and progress. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "interrupter.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"
#include "progress_recorder.h"

/* ---- the reference: every pair, then BFS or the greedy cover ---------------------- */

typedef struct {
    size_t n;
    uint8_t *pair; /* [n * n]: i and j are a pair */
    float *sim;    /* [n * n]: their similarity (the estimate or the exact one) */
    bool *removed; /* [n] */
} graph;

static float estimate(const reference *ref, size_t i, size_t j) {
    const uint8_t *a = ref->data + i * ref_sig(ref), *b = ref->data + j * ref_sig(ref);
    size_t score = ref->raw ? ref_equal_values(ref, a, b) : ref_equal_bands(ref, a, b);
    return ref_similarity(ref, (long)score);
}

/* exact[i * n + j] (NULL: no exact check) decides with exact_threshold. */
static graph reference_graph(const reference *ref, float threshold, const double *exact,
                             double exact_threshold, const bool *removed) {
    size_t n = ref->n;
    graph g = {n, calloc(n * n, 1), calloc(n * n, sizeof(float)), calloc(n, sizeof(bool))};
    REQUIRE(g.pair && g.sim && g.removed);
    if (removed) memcpy(g.removed, removed, n * sizeof(bool));
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j) {
            const uint8_t *a = ref->data + i * ref_sig(ref), *b = ref->data + j * ref_sig(ref);
            float s = estimate(ref, i, j);
            bool is_pair = !g.removed[i] && !g.removed[j] && ref_equal_bands(ref, a, b) > 0 &&
                           s >= threshold;
            if (exact) {
                is_pair = is_pair && exact[i * n + j] >= exact_threshold;
                s = (float)exact[i * n + j];
            }
            g.pair[i * n + j] = g.pair[j * n + i] = is_pair;
            g.sim[i * n + j] = g.sim[j * n + i] = s;
        }
    return g;
}

static void free_graph(graph *g) {
    free(g->pair);
    free(g->sim);
    free(g->removed);
}

/* Components: the smallest id reachable, by breadth-first search. */
static int64_t *bfs_components(const graph *g) {
    size_t n = g->n;
    int64_t *rep = malloc(n * sizeof *rep);
    size_t *queue = malloc(n * sizeof *queue);
    REQUIRE(rep && queue);
    for (size_t v = 0; v < n; ++v) rep[v] = -1;
    for (size_t s = 0; s < n; ++s) {
        if (rep[s] >= 0) continue;
        size_t head = 0, tail = 0;
        queue[tail++] = s;
        rep[s] = (int64_t)s;
        while (head < tail) {
            size_t v = queue[head++];
            for (size_t u = 0; u < n; ++u)
                if (g->pair[v * n + u] && rep[u] < 0) {
                    rep[u] = (int64_t)s;
                    queue[tail++] = u;
                }
        }
    }
    free(queue);
    return rep;
}

/* The greedy cover, as its definition reads. */
static int64_t *greedy_cover(const graph *g, double *similarity) {
    size_t n = g->n;
    int64_t *rep = malloc(n * sizeof *rep);
    REQUIRE(rep);
    for (size_t v = 0; v < n; ++v) {
        int64_t best = -1;
        float best_sim = -1;
        for (size_t u = 0; u < v; ++u) {
            if (rep[u] != (int64_t)u || !g->pair[u * n + v] || g->removed[u]) continue;
            if (g->sim[u * n + v] > best_sim) {
                best = (int64_t)u;
                best_sim = g->sim[u * n + v];
            }
        }
        rep[v] = best < 0 ? (int64_t)v : best;
        similarity[v] = best < 0 ? 1.0 : (double)best_sim;
    }
    return rep;
}

/* ---- calling the library ------------------------------------------------------------ */

typedef struct {
    int64_t *rep;
    double *sim;
} clusters;

static clusters cluster(knowhere_minhash_lsh *index, float threshold, uint32_t mode) {
    size_t n = knowhere_minhash_lsh_count(index);
    clusters c = {malloc((n + 1) * sizeof(int64_t)), malloc((n + 1) * sizeof(double))};
    REQUIRE(c.rep && c.sim);
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_cluster_with_interrupt(index, threshold, mode, c.rep, c.sim,
                                                             n, NULL, &err);
    if (status != KNOWHERE_OK) fprintf(stderr, "cluster: %s\n", knowhere_error_message(err));
    REQUIRE(status == KNOWHERE_OK);
    CHECK(err == NULL);
    return c;
}

static void free_clusters(clusters *c) {
    free(c->rep);
    free(c->sim);
}

/* Compares with the reference; prints the first few differences. */
static size_t compare(const char *what, const clusters *got, const int64_t *want_rep,
                      const double *want_sim, size_t n) {
    size_t wrong = 0;
    for (size_t v = 0; v < n; ++v) {
        bool sim_ok = want_sim == NULL || fabs(got->sim[v] - want_sim[v]) < 1e-6;
        if (got->rep[v] == want_rep[v] && sim_ok) continue;
        if (wrong++ < 3)
            fprintf(stderr, "%s: row %zu -> %lld (%.4f), want %lld (%.4f)\n", what, v,
                    (long long)got->rep[v], got->sim[v], (long long)want_rep[v],
                    want_sim ? want_sim[v] : -1.0);
    }
    CHECK_EQ(wrong, 0);
    return wrong;
}

/* Both modes at `threshold` against the reference, on `threads` threads. */
static void check_both_modes(knowhere_minhash_lsh *index, const reference *ref, float threshold,
                             const bool *removed, size_t threads, const char *what) {
    knowhere_minhash_lsh_set_num_threads(index, threads);
    graph g = reference_graph(ref, threshold, NULL, 0, removed);
    int64_t *want = bfs_components(&g);
    double *want_sim = malloc(ref->n * sizeof *want_sim);
    REQUIRE(want_sim);
    for (size_t v = 0; v < ref->n; ++v)
        want_sim[v] = (size_t)want[v] == v ? 1.0 : (double)estimate(ref, v, (size_t)want[v]);
    clusters got = cluster(index, threshold, KNOWHERE_CLUSTER_COMPONENTS);
    char label[160];
    snprintf(label, sizeof label, "%s components T %.2f, %zu threads", what, threshold, threads);
    compare(label, &got, want, want_sim, ref->n);
    free_clusters(&got);
    free(want);

    want = greedy_cover(&g, want_sim);
    got = cluster(index, threshold, KNOWHERE_CLUSTER_COVER);
    snprintf(label, sizeof label, "%s cover T %.2f, %zu threads", what, threshold, threads);
    compare(label, &got, want, want_sim, ref->n);
    free_clusters(&got);
    free(want);
    free(want_sim);
    free_graph(&g);
}

static void check_data(const uint8_t *data, size_t n, size_t length, size_t es, size_t bands,
                       const char *what) {
    for (int raw = 1; raw >= 0; --raw) {
        reference ref = make_reference(data, n, length, es, bands, raw);
        knowhere_minhash_lsh *index = build_index(data, n, length, es, bands, raw);
        const float thresholds[] = {0.0f, 0.5f, 0.8f, 1.0f};
        for (size_t t = 0; t < 4; ++t) {
            char label[120];
            snprintf(label, sizeof label, "%s (%s)", what, raw ? "raw" : "no raw");
            check_both_modes(index, &ref, thresholds[t], NULL, t % 2 ? 2 : 1, label);
        }
        knowhere_minhash_lsh_free(index);
    }
}

/* ---- data ------------------------------------------------------------------------ */

enum { LENGTH = 32, ES = 4, BANDS = 8 };

static void test_clustered(void) {
    test_rng rng = {1};
    uint8_t *data = clustered_signatures(&rng, 400, LENGTH, ES);
    check_data(data, 400, LENGTH, ES, BANDS, "clustered");
    free(data);
}

/* A hot bucket of identical rows among others, and identical pairs
 * scattered: the collapse. */
static void test_identical_hot_bucket(void) {
    test_rng rng = {2};
    size_t n = 900, sig = LENGTH * ES;
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    for (size_t i = 0; i < n; ++i) {
        if (i % 3 == 1) memcpy(data + i * sig, data + 7 * sig, sig); /* 300 copies of row 7 */
        if (i % 50 == 49) memcpy(data + i * sig, data + (i - 20) * sig, sig);
    }
    check_data(data, n, LENGTH, ES, BANDS, "identical hot bucket");
    free(data);
}

/* One big cluster: every row a mutation of row 0, so the pairs chain and the
 * cover keeps many rows sharing runs. */
static void test_one_big_cluster(void) {
    test_rng rng = {3};
    uint8_t *data = one_big_cluster(&rng, 800, LENGTH, ES, 0.55);
    check_data(data, 800, LENGTH, ES, BANDS, "one big cluster");
    free(data);
}

/* Rows that all share band 0 and nothing else: one run of 600 unrelated
 * rows, compared pair by pair; with a few near-duplicates among them. */
static void test_hot_run_of_unrelated_rows(void) {
    test_rng rng = {4};
    size_t n = 600, sig = LENGTH * ES, band = (LENGTH / BANDS) * ES;
    uint8_t *data = random_signatures(&rng, n, sig);
    REQUIRE(data);
    for (size_t i = 1; i < n; ++i) memcpy(data + i * sig, data, band);
    for (size_t i = 100; i < n; i += 100)
        mutate_signature(&rng, data + (i - 1) * sig, data + i * sig, LENGTH, ES, 0.9);
    check_data(data, n, LENGTH, ES, BANDS, "hot run of unrelated rows");
    free(data);
}

/* Bridges inside one run: all rows share band 0 and no other band; row
 * 3k + 2 agrees with 3k on half of the other values and with 3k + 1 on the
 * other half (never a whole band), so 3k ~ 3k + 2 ~ 3k + 1 while 3k and
 * 3k + 1 are no pair: the run alone must join them, through the member
 * that comes last. */
static void test_bridges_within_one_run(void) {
    test_rng rng = {12};
    size_t n = 300, sig = LENGTH * ES, band = (LENGTH / BANDS) * ES;
    uint8_t *data = random_signatures(&rng, n, sig);
    REQUIRE(data);
    for (size_t i = 1; i < n; ++i) memcpy(data + i * sig, data, band);
    for (size_t i = 2; i < n; i += 3)
        for (size_t v = LENGTH / BANDS; v < LENGTH; ++v)
            memcpy(data + i * sig + v * ES, data + (i - 2 + (v % 4 >= 2)) * sig + v * ES, ES);
    check_data(data, n, LENGTH, ES, BANDS, "bridges within one run");
    free(data);
}

/* One-byte values: many equal by chance, runs with band-key collisions
 * impossible to tell apart from the fingerprints only in the raw check. */
static void test_one_byte_values(void) {
    test_rng rng = {5};
    uint8_t *data = clustered_signatures(&rng, 300, 24, 1);
    check_data(data, 300, 24, 1, 12, "one-byte values");
    free(data);
}

static void test_threads_removed_and_adds(void) {
    test_rng rng = {6};
    size_t n = 900, sig = LENGTH * ES;
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    for (size_t i = 0; i < n; i += 4) memcpy(data + i * sig, data + 11 * sig, sig);
    for (int raw = 1; raw >= 0; --raw) {
        /* Built from a third, the rest added in pieces: rows in deltas. */
        knowhere_minhash_lsh *index = build_index(data, n / 3, LENGTH, ES, BANDS, raw);
        for (size_t at = n / 3; at < n; at += 100) {
            size_t rows = n - at < 100 ? n - at : 100;
            REQUIRE(knowhere_minhash_lsh_add(index, data + at * sig, rows * sig, NULL) ==
                    KNOWHERE_OK);
        }
        reference ref = make_reference(data, n, LENGTH, ES, BANDS, raw);
        const size_t threads[] = {1, 2, 7};
        for (size_t t = 0; t < 3; ++t)
            check_both_modes(index, &ref, 0.7f, NULL, threads[t], raw ? "adds (raw)" : "adds");
        /* Removed rows are alone, and no longer join or cover others. */
        bool *removed = calloc(n, sizeof *removed);
        int64_t ids[] = {11, 15, 40, 41, 42, 7, 300, 899};
        REQUIRE(removed && knowhere_minhash_lsh_remove(index, ids, 8, NULL, NULL) == KNOWHERE_OK);
        for (size_t k = 0; k < 8; ++k) removed[ids[k]] = true;
        check_both_modes(index, &ref, 0.7f, removed, 2, raw ? "removed (raw)" : "removed");
        free(removed);
        knowhere_minhash_lsh_free(index);
    }
    free(data);
}

/* The answer equals knowhere_cluster_pairs over the self-join's pairs. */
static void test_equals_self_join_then_union_find(void) {
    test_rng rng = {7};
    size_t n = 2000;
    uint8_t *data = clustered_signatures(&rng, n, LENGTH, ES);
    knowhere_minhash_lsh *index = build_index(data, n, LENGTH, ES, BANDS, true);
    knowhere_pairs *pairs = NULL;
    REQUIRE(knowhere_minhash_lsh_self_join_with_interrupt(index, 0.6f, &pairs, NULL, NULL) ==
            KNOWHERE_OK);
    int64_t *want = malloc(n * sizeof *want);
    REQUIRE(want);
    REQUIRE(knowhere_cluster_pairs_with_interrupt(n, knowhere_pairs_left(pairs),
                                                  knowhere_pairs_right(pairs),
                                                  knowhere_pairs_count(pairs), want, NULL,
                                                  NULL) == KNOWHERE_OK);
    clusters got = cluster(index, 0.6f, KNOWHERE_CLUSTER_COMPONENTS);
    compare("self-join + union-find", &got, want, NULL, n);
    /* similarities may be NULL. */
    int64_t *rep = malloc(n * sizeof *rep);
    REQUIRE(rep);
    CHECK_EQ(knowhere_minhash_lsh_cluster_with_interrupt(index, 0.6f, KNOWHERE_CLUSTER_COVER,
                                                         rep, NULL, n, NULL, NULL),
             KNOWHERE_OK);
    clusters cover = cluster(index, 0.6f, KNOWHERE_CLUSTER_COVER);
    CHECK(memcmp(rep, cover.rep, n * sizeof *rep) == 0);
    free_clusters(&cover);
    free(rep);
    free_clusters(&got);
    free(want);
    knowhere_pairs_free(pairs);
    knowhere_minhash_lsh_free(index);
    free(data);
}

/* ---- the exact check ------------------------------------------------------------- */

typedef struct {
    char *texts;
    uint64_t *offsets;
    size_t n, len;
} corpus;

static void add_text(corpus *c, const char *text, size_t *capacity) {
    size_t l = strlen(text);
    while (c->len + l > *capacity) {
        *capacity *= 2;
        c->texts = realloc(c->texts, *capacity);
        REQUIRE(c->texts);
    }
    memcpy(c->texts + c->len, text, l);
    c->len += l;
    c->offsets[++c->n] = c->len;
}

/* Documents in families: a base of random words and copies with a few words
 * changed, byte-identical copies, copies differing only in case and spaces
 * (identical shingle sets, different bytes), and empty documents. */
static corpus make_corpus(test_rng *rng, size_t n) {
    static const char *words[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta",
                                  "theta", "iota", "kappa", "lambda", "mu", "nu", "xi",
                                  "omicron", "pi", "rho", "sigma", "tau", "upsilon"};
    corpus c = {malloc(4096), calloc(n + 1, sizeof(uint64_t)), 0, 0};
    size_t capacity = 4096;
    REQUIRE(c.texts && c.offsets);
    char base[1024] = "", doc[2048];
    for (size_t i = 0; i < n; ++i) {
        if (i % 12 == 0) {
            base[0] = '\0';
            for (int w = 0; w < 30; ++w) {
                strcat(base, words[rng_next(rng) % 20]);
                strcat(base, " ");
            }
        }
        switch (i % 12) {
        case 3: strcpy(doc, base); break;                         /* a byte copy */
        case 5: snprintf(doc, sizeof doc, "  %s\n", base);       /* spaces only differ */
            for (char *p = doc; *p; ++p)
                if (*p == 'a') *p = 'A';                          /* and case */
            break;
        case 7: doc[0] = '\0'; break;                             /* empty */
        default: {
            doc[0] = '\0';
            const char *p = base;
            int word = 0;
            while (*p) { /* each word kept, or replaced with probability 1/8 */
                const char *space = strchr(p, ' ');
                size_t l = space ? (size_t)(space - p) : strlen(p);
                if (rng_next(rng) % 8 == 0) strcat(doc, words[rng_next(rng) % 20]);
                else strncat(doc, p, l);
                strcat(doc, " ");
                p += l + (space ? 1 : 0);
                word++;
            }
        }
        }
        add_text(&c, doc, &capacity);
    }
    return c;
}

/* K hashes in `bands` bands; with K = 2 many documents share a signature
 * whose shingle sets differ, and the exact check alone decides. */
static void check_exact(size_t k, size_t bands, uint64_t seed) {
    test_rng rng = {seed};
    size_t n = 360;
    corpus c = make_corpus(&rng, n);
    knowhere_signature_options options;
    knowhere_signature_options_init(&options);
    options.num_hashes = (uint32_t)k;
    options.shingle_size = 2;
    size_t sig = k * 4;
    uint8_t *data = malloc(n * sig);
    REQUIRE(data);
    REQUIRE(knowhere_signature_batch_from_text_with_interrupt(&options, c.texts, c.len, c.offsets,
                                                              n, data, n * sig, NULL, 1, NULL,
                                                              NULL) == KNOWHERE_OK);
    double *exact = malloc(n * n * sizeof *exact);
    REQUIRE(exact);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j)
            REQUIRE(knowhere_shingle_jaccard(&options, c.texts + c.offsets[i],
                                             c.offsets[i + 1] - c.offsets[i],
                                             c.texts + c.offsets[j],
                                             c.offsets[j + 1] - c.offsets[j], &exact[i * n + j],
                                             NULL) == KNOWHERE_OK);
    const float joins[] = {0.5f, 0.7f};
    const double exacts[] = {0.6, 0.8, 1.0};
    for (int raw = 1; raw >= 0; --raw) {
        knowhere_minhash_lsh *index = build_index(data, n, k, 4, bands, raw);
        reference ref = make_reference(data, n, k, 4, bands, raw);
        for (size_t t = 0; t < 2; ++t)
            for (size_t e = 0; e < 3; ++e) {
                knowhere_minhash_lsh_set_num_threads(index, 1 + (t + e) % 3);
                graph g = reference_graph(&ref, joins[t], exact, exacts[e], NULL);
                int64_t *want = bfs_components(&g);
                double *want_sim = malloc(n * sizeof *want_sim);
                REQUIRE(want_sim);
                for (size_t v = 0; v < n; ++v) want_sim[v] = exact[v * n + (size_t)want[v]];
                for (uint32_t mode = 0; mode < 2; ++mode) {
                    if (mode == KNOWHERE_CLUSTER_COVER) {
                        free(want);
                        want = greedy_cover(&g, want_sim);
                    }
                    clusters got = {malloc(n * sizeof(int64_t)), malloc(n * sizeof(double))};
                    knowhere_error *err = NULL;
                    int status = knowhere_minhash_lsh_cluster_exact_with_interrupt(
                        index, joins[t], mode, &options, c.texts, c.len, c.offsets, exacts[e],
                        got.rep, got.sim, n, NULL, &err);
                    if (status != KNOWHERE_OK) fprintf(stderr, "%s\n", knowhere_error_message(err));
                    REQUIRE(status == KNOWHERE_OK);
                    char label[100];
                    snprintf(label, sizeof label, "exact K %zu %s %s, T %.1f / %.1f", k,
                             raw ? "raw" : "no raw", mode ? "cover" : "components",
                             (double)joins[t], exacts[e]);
                    compare(label, &got, want, want_sim, n);
                    free_clusters(&got);
                }
                free(want);
                free(want_sim);
                free_graph(&g);
            }
        knowhere_minhash_lsh_free(index);
    }
    free(exact);
    free(data);
    free(c.texts);
    free(c.offsets);
}

static void test_exact_check(void) {
    check_exact(64, 16, 8);
    check_exact(2, 2, 13);
}

/* ---- errors, interrupts, progress ---------------------------------------------------- */

static void test_bad_input(void) {
    test_rng rng = {9};
    uint8_t *data = clustered_signatures(&rng, 50, LENGTH, ES);
    knowhere_minhash_lsh *index = build_index(data, 50, LENGTH, ES, BANDS, true);
    int64_t rep[50];
    double sim[50];
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_with_interrupt(NULL, 0.5f, 0, rep, sim, 0, NULL,
                                                             &err),
                 KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_with_interrupt(index, 1.5f, 0, rep, sim, 50, NULL,
                                                             &err),
                 KNOWHERE_ERR_INVALID_ARG, "threshold 1.5 is not in 0..1");
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_with_interrupt(index, NAN, 0, rep, sim, 50, NULL,
                                                             &err),
                 KNOWHERE_ERR_INVALID_ARG, "threshold");
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_with_interrupt(index, 0.5f, 2, rep, sim, 50, NULL,
                                                             &err),
                 KNOWHERE_ERR_INVALID_ARG, "mode 2");
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_with_interrupt(index, 0.5f, 0, rep, sim, 49, NULL,
                                                             &err),
                 KNOWHERE_ERR_INVALID_ARG, "n is 49, but the index has 50 rows");
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_with_interrupt(index, 0.5f, 0, NULL, sim, 50, NULL,
                                                             &err),
                 KNOWHERE_ERR_INVALID_ARG, "representatives is NULL");
    const char texts[] = "abc";
    uint64_t offsets[51] = {0};
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_exact_with_interrupt(
                     index, 0.5f, 0, NULL, texts, 3, offsets, 1.5, rep, sim, 50, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "exact_threshold 1.5 is not in 0..1");
    offsets[50] = 4;
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_exact_with_interrupt(
                     index, 0.5f, 0, NULL, texts, 3, offsets, 0.5, rep, sim, 50, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "offsets");
    knowhere_signature_options bad;
    knowhere_signature_options_init(&bad);
    bad.shingle_size = 0;
    offsets[50] = 3;
    EXPECT_ERROR(knowhere_minhash_lsh_cluster_exact_with_interrupt(
                     index, 0.5f, 0, &bad, texts, 3, offsets, 0.5, rep, sim, 50, NULL, &err),
                 KNOWHERE_ERR_INVALID_ARG, "shingle_size");
    /* A never-built index: n = 0 succeeds, with NULL outputs. */
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    CHECK_EQ(knowhere_minhash_lsh_cluster_with_interrupt(empty, 0.5f, 1, NULL, NULL, 0, NULL,
                                                         NULL),
             KNOWHERE_OK);
    knowhere_minhash_lsh_free(empty);
    knowhere_minhash_lsh_free(index);
    free(data);
}

/* A long clustering: one run of unrelated rows (compared pair by pair, as
 * the definition needs) stops soon after an interrupt or a deadline, in
 * both modes; progress is phase CLUSTER and ends at its total. */
static void test_interrupts_and_progress(void) {
    test_rng rng = {10};
    size_t n = 4000, sig = LENGTH * ES, band = (LENGTH / BANDS) * ES;
    uint8_t *data = random_signatures(&rng, n, sig);
    REQUIRE(data);
    for (size_t i = 1; i < n; ++i) memcpy(data + i * sig, data, band);
    knowhere_minhash_lsh *index = build_index(data, n, LENGTH, ES, BANDS, true);
    int64_t *rep = malloc(n * sizeof *rep);
    double *sim = malloc(n * sizeof *sim);
    REQUIRE(rep && sim);
    for (uint32_t mode = 0; mode < 2; ++mode) {
        CInterrupt h = knowhere_interrupt_create();
        recorder rec = recorder_new(0);
        knowhere_interrupt_set_progress(h, record, &rec);
        double start = test_now_ms();
        CHECK_EQ(knowhere_minhash_lsh_cluster_with_interrupt(index, 0.8f, mode, rep, sim, n, h,
                                                             NULL),
                 KNOWHERE_OK);
        double full_ms = test_now_ms() - start;
        uint64_t done = 0, total = 0;
        int phase = -1;
        knowhere_interrupt_progress(h, &done, &total, &phase);
        CHECK(phase == KNOWHERE_PHASE_CLUSTER && done == total && total > 0);
        CHECK(rec.calls >= 1 && rec.monotonic && rec.total_stable && rec.last_done == total);
        for (size_t v = 0; v < n; ++v) CHECK_EQ(rep[v], (int64_t)v); /* nothing pairs */
        knowhere_interrupt_set_progress(h, NULL, NULL);

        /* On a loaded machine a run can end before the interrupt fires:
         * try again, sooner, until one is interrupted mid-way. */
        knowhere_error *err = NULL;
        interrupter it;
        int status = KNOWHERE_OK;
        double returned = 0, delay = full_ms / 3;
        for (int tries = 0; tries < 10 && status != KNOWHERE_ERR_INTERRUPTED; ++tries, delay /= 2) {
            knowhere_error_free(err);
            err = NULL;
            knowhere_interrupt_reset(h);
            it = (interrupter){.interrupt = h, .delay_ms = delay};
            REQUIRE(pthread_create(&it.thread, NULL, fire, &it) == 0);
            status = knowhere_minhash_lsh_cluster_with_interrupt(index, 0.8f, mode, rep, sim, n, h,
                                                                 &err);
            returned = test_now_ms();
            pthread_join(it.thread, NULL);
        }
        CHECK_EQ(status, KNOWHERE_ERR_INTERRUPTED);
        CHECK(err && strstr(knowhere_error_message(err), "clustering interrupted"));
        knowhere_error_free(err);
        printf("  %s of %zu rows in one run: %.0f ms; stopped %.3f ms after the interrupt\n",
               mode ? "cover" : "components", n, full_ms, returned - it.fired_at_ms);

        CInterrupt deadline = knowhere_interrupt_create_with_timeout(2);
        err = NULL;
        CHECK_EQ(knowhere_minhash_lsh_cluster_with_interrupt(index, 0.8f, mode, rep, sim, n,
                                                             deadline, &err),
                 KNOWHERE_ERR_TIMEOUT);
        CHECK(err && strstr(knowhere_error_message(err), "clustering timed out"));
        knowhere_error_free(err);
        knowhere_interrupt_free(deadline);
        knowhere_interrupt_free(h);
    }
    free(rep);
    free(sim);
    knowhere_minhash_lsh_free(index);
    free(data);
}

/* A hot bucket of 200 000 identical rows: every row of it in one cluster,
 * in both modes (5 * 10^9 pairs a self-join would list). */
static void test_many_identical_rows(void) {
    size_t n = 200000, sig = LENGTH * ES;
    test_rng rng = {11};
    uint8_t *data = random_signatures(&rng, n, sig);
    REQUIRE(data);
    for (size_t i = 0; i < n; ++i)
        if (i % 4 != 3) memcpy(data + i * sig, data + 2 * sig, sig);
    knowhere_minhash_lsh *index = build_index(data, n, LENGTH, ES, BANDS, true);
    knowhere_minhash_lsh_set_num_threads(index, 2);
    for (uint32_t mode = 0; mode < 2; ++mode) {
        double start = test_now_ms();
        clusters got = cluster(index, 0.8f, mode);
        printf("  %s of %zu rows, 3/4 identical: %.0f ms\n", mode ? "cover" : "components", n,
               test_now_ms() - start);
        size_t wrong = 0;
        for (size_t v = 0; v < n; ++v) {
            int64_t want = v % 4 != 3 ? 0 : (int64_t)v;
            wrong += got.rep[v] != want || got.sim[v] != 1.0;
        }
        CHECK_EQ(wrong, 0);
        free_clusters(&got);
    }
    knowhere_minhash_lsh_free(index);
    free(data);
}

/* Hot keys in the deltas: 400 000 identical rows added in pieces of 10 000
 * to a small index. Each band's delta holds a quarter of the rows before a
 * merge; linear probing put every equal key in one probe run, so adds
 * (and searches through the deltas) were quadratic in the copies: about
 * 4 * 10^10 probes here. The 30 s deadline is a generous bound (the adds
 * take well under a second), not a measurement. */
static void test_adds_of_identical_rows(void) {
    size_t base = 1000, added = 400000, piece = 10000, sig = LENGTH * ES;
    test_rng rng = {14};
    uint8_t *data = random_signatures(&rng, base + piece, sig);
    REQUIRE(data);
    for (size_t i = base; i < base + piece; ++i) memcpy(data + i * sig, data + 9 * sig, sig);
    knowhere_minhash_lsh *index = build_index(data, base, LENGTH, ES, BANDS, true);
    CInterrupt deadline = knowhere_interrupt_create_with_timeout(30000);
    double start = test_now_ms();
    int status = KNOWHERE_OK;
    for (size_t at = 0; at < added && status == KNOWHERE_OK; at += piece)
        status = knowhere_minhash_lsh_add_with_interrupt(index, data + base * sig, piece * sig,
                                                        deadline, NULL);
    CHECK_EQ(status, KNOWHERE_OK);
    printf("  %zu identical rows added in pieces of %zu: %.0f ms\n", added, piece,
           test_now_ms() - start);
    if (status == KNOWHERE_OK) {
        int64_t ids[4];
        float distances[4];
        CHECK_EQ(knowhere_minhash_lsh_search(index, data + 9 * sig, sig, 4, NULL, 0, ids,
                                             distances, NULL),
                 KNOWHERE_OK);
        CHECK(ids[0] == 9 && ids[1] == (int64_t)base && distances[3] == 1.0f);
        clusters got = cluster(index, 0.8f, KNOWHERE_CLUSTER_COVER);
        size_t wrong = 0;
        for (size_t v = base; v < base + added; ++v) wrong += got.rep[v] != 9;
        CHECK_EQ(wrong, 0);
        free_clusters(&got);
    }
    knowhere_interrupt_free(deadline);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    RUN(test_clustered);
    RUN(test_identical_hot_bucket);
    RUN(test_one_big_cluster);
    RUN(test_hot_run_of_unrelated_rows);
    RUN(test_bridges_within_one_run);
    RUN(test_one_byte_values);
    RUN(test_threads_removed_and_adds);
    RUN(test_equals_self_join_then_union_find);
    RUN(test_exact_check);
    RUN(test_bad_input);
    RUN(test_interrupts_and_progress);
    RUN(test_many_identical_rows);
    RUN(test_adds_of_identical_rows);
    return CHECK_DONE();
}
