/* Clustering pairs: connected components against a BFS reference on random
 * graphs (sparse, dense, with self-loops and duplicate edges), the smallest
 * id as the representative, n = 0, bad ids naming the pair, NULL
 * arguments, and interrupts. */
#include <string.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"
#include "lsh_reference.h"

/* The reference: components by breadth-first search over an adjacency list,
 * labelled by their smallest vertex (the first one met going up). */
static void bfs_components(size_t n, const int64_t *left, const int64_t *right, size_t m,
                           int64_t *label) {
    size_t *degree = calloc(n + 1, sizeof *degree), *adj = malloc(2 * m * sizeof *adj + 1);
    size_t *queue = malloc(n * sizeof *queue + 1);
    REQUIRE(degree && adj && queue);
    for (size_t i = 0; i < m; ++i) {
        degree[left[i] + 1]++;
        degree[right[i] + 1]++;
    }
    for (size_t v = 0; v < n; ++v) degree[v + 1] += degree[v];
    size_t *fill = malloc(n * sizeof *fill + 1);
    REQUIRE(fill);
    memcpy(fill, degree, n * sizeof *fill);
    for (size_t i = 0; i < m; ++i) {
        adj[fill[left[i]]++] = (size_t)right[i];
        adj[fill[right[i]]++] = (size_t)left[i];
    }
    for (size_t v = 0; v < n; ++v) label[v] = -1;
    for (size_t v = 0; v < n; ++v) {
        if (label[v] != -1) continue;
        size_t head = 0, tail = 0;
        queue[tail++] = v;
        label[v] = (int64_t)v;
        while (head < tail) {
            size_t u = queue[head++];
            for (size_t e = degree[u]; e < degree[u + 1]; ++e)
                if (label[adj[e]] == -1) {
                    label[adj[e]] = (int64_t)v;
                    queue[tail++] = adj[e];
                }
        }
    }
    free(degree);
    free(adj);
    free(queue);
    free(fill);
}

static void check_random_graph(test_rng *rng, size_t n, size_t m, double self_loops,
                               double duplicates) {
    int64_t *left = malloc(m * sizeof *left + 8), *right = malloc(m * sizeof *right + 8);
    int64_t *got = malloc(n * sizeof *got + 8), *want = malloc(n * sizeof *want + 8);
    REQUIRE(left && right && got && want);
    for (size_t i = 0; i < m; ++i) {
        if (i > 0 && rng_unit(rng) < duplicates) { /* an earlier edge, maybe reversed */
            size_t j = rng_next(rng) % i;
            bool flip = rng_next(rng) & 1;
            left[i] = flip ? right[j] : left[j];
            right[i] = flip ? left[j] : right[j];
            continue;
        }
        left[i] = (int64_t)(rng_next(rng) % n);
        right[i] = rng_unit(rng) < self_loops ? left[i] : (int64_t)(rng_next(rng) % n);
    }
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(n, left, right, m, got, NULL, NULL),
             KNOWHERE_OK);
    bfs_components(n, left, right, m, want);
    size_t differ = 0, components = 0;
    for (size_t v = 0; v < n; ++v) {
        differ += got[v] != want[v];
        components += got[v] == (int64_t)v;
    }
    if (differ) fprintf(stderr, "n %zu m %zu: %zu labels differ\n", n, m, differ);
    CHECK_EQ(differ, 0);
    /* The representative is in its own component and is its smallest id. */
    for (size_t v = 0; v < n; ++v) CHECK(got[v] <= (int64_t)v && got[got[v]] == got[v]);
    (void)components;
    free(left);
    free(right);
    free(got);
    free(want);
}

static void test_matches_bfs_on_random_graphs(void) {
    test_rng rng = {41};
    const size_t shapes[][2] = {
        /* n, pairs */
        {1, 0}, {1, 3}, {2, 1}, {10, 5}, {100, 50}, {100, 100}, {1000, 300},
        {1000, 700}, {1000, 1000}, {1000, 5000}, {50000, 20000}, {50000, 60000}, {200000, 150000},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        check_random_graph(&rng, shapes[s][0], shapes[s][1], 0.0, 0.0);
        check_random_graph(&rng, shapes[s][0], shapes[s][1], 0.1, 0.2);
    }
}

static void test_chain_and_star_take_the_smallest_id(void) {
    enum { N = 10000 };
    static int64_t left[N], right[N], ids[N];
    /* A chain given from the top down: N-1 - N-2 - ... - 0. */
    for (size_t i = 0; i + 1 < N; ++i) {
        left[i] = (int64_t)(N - 1 - i);
        right[i] = (int64_t)(N - 2 - i);
    }
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(N, left, right, N - 1, ids, NULL, NULL),
             KNOWHERE_OK);
    size_t wrong = 0;
    for (size_t v = 0; v < N; ++v) wrong += ids[v] != 0;
    CHECK_EQ(wrong, 0);
    /* A star around N-1 over the odd ids; even ids stay alone. */
    size_t m = 0;
    for (size_t v = 1; v + 1 < N; v += 2) {
        left[m] = N - 1;
        right[m++] = (int64_t)v;
    }
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(N, left, right, m, ids, NULL, NULL),
             KNOWHERE_OK);
    wrong = 0;
    for (size_t v = 0; v < N; ++v)
        wrong += ids[v] != (v % 2 || v == N - 1 ? 1 : (int64_t)v);
    CHECK_EQ(wrong, 0);
}

static void test_self_loops_duplicates_and_no_pairs(void) {
    int64_t left[] = {3, 3, 3, 1, 4, 1}, right[] = {3, 3, 1, 3, 4, 3};
    int64_t ids[6];
    memset(ids, 0x55, sizeof ids);
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(6, left, right, 6, ids, NULL, NULL),
             KNOWHERE_OK);
    const int64_t want[] = {0, 1, 2, 1, 4, 5};
    for (int v = 0; v < 6; ++v) CHECK_EQ(ids[v], want[v]);
    /* No pairs: every id is its own cluster; NULL pair arrays are fine then. */
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(6, NULL, NULL, 0, ids, NULL, NULL),
             KNOWHERE_OK);
    for (int v = 0; v < 6; ++v) CHECK_EQ(ids[v], v);
    /* n = 0: nothing to do, nothing written. */
    knowhere_error *err = (knowhere_error *)1;
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(0, NULL, NULL, 0, NULL, NULL, &err),
             KNOWHERE_OK);
    CHECK(err == NULL);
}

static void test_bad_ids_name_the_pair(void) {
    const int INVALID = KNOWHERE_ERR_INVALID_ARG;
    int64_t left[] = {0, 1, 2, 3}, right[] = {1, 2, 7, 0}, ids[5];
    memset(ids, 0x55, sizeof ids);
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(5, left, right, 4, ids, NULL, &err), INVALID, "pair 2 (2, 7)");
    CHECK(ids[0] == 0x5555555555555555); /* validated before anything is written */
    right[2] = 5; /* == n */
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(5, left, right, 4, ids, NULL, &err), INVALID, "pair 2 (2, 5)");
    right[2] = 2;
    left[3] = -1;
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(5, left, right, 4, ids, NULL, &err), INVALID, "pair 3 (-1, 0)");
    left[3] = 3;
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(0, left, right, 4, NULL, NULL, &err), INVALID, "pair 0");
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(5, NULL, right, 4, ids, NULL, &err), INVALID, "left or right");
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(5, left, NULL, 4, ids, NULL, &err), INVALID, "left or right");
    EXPECT_ERROR(knowhere_cluster_pairs_with_interrupt(5, left, right, 4, NULL, NULL, &err), INVALID, "cluster_ids");
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(5, left, right, 4, ids, NULL, NULL), KNOWHERE_OK);
    CHECK(ids[4] == 4 && ids[3] == 0);
}


static void test_interrupts(void) {
    enum { N = 2000000, M = 4000000 };
    test_rng rng = {42};
    int64_t *left = malloc(M * sizeof *left), *right = malloc(M * sizeof *right);
    int64_t *ids = malloc(N * sizeof *ids);
    REQUIRE(left && right && ids);
    for (size_t i = 0; i < M; ++i) {
        left[i] = (int64_t)(rng_next(&rng) % N);
        right[i] = (int64_t)(rng_next(&rng) % N);
    }
    CInterrupt stop = knowhere_interrupt_create_with_state(true);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(N, left, right, M, ids, stop, &err),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && strstr(knowhere_error_message(err), "clustering interrupted"));
    knowhere_error_free(err);
    double start = test_now_ms();
    knowhere_interrupt_reset(stop);
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(N, left, right, M, ids, stop, NULL),
             KNOWHERE_OK);
    double full = test_now_ms() - start;
    /* A 1 ms deadline ends it with TIMEOUT, not INTERRUPTED. */
    CInterrupt deadline = knowhere_interrupt_create_with_timeout(1);
    start = test_now_ms();
    CHECK_EQ(knowhere_cluster_pairs_with_interrupt(N, left, right, M, ids, deadline, &err),
             KNOWHERE_ERR_TIMEOUT);
    double stopped = test_now_ms() - start;
    CHECK(err && strstr(knowhere_error_message(err), "timed out"));
    knowhere_error_free(err);
    printf("  %d ids, %d pairs: %.1f ms in full, %.1f ms to a 1 ms deadline\n", N, M, full,
           stopped);
    knowhere_interrupt_free(stop);
    knowhere_interrupt_free(deadline);
    free(left);
    free(right);
    free(ids);
}

int main(void) {
    RUN(test_matches_bfs_on_random_graphs);
    RUN(test_chain_and_star_take_the_smallest_id);
    RUN(test_self_loops_duplicates_and_no_pairs);
    RUN(test_bad_ids_name_the_pair);
    RUN(test_interrupts);
    return CHECK_DONE();
}
