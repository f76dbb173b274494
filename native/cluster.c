/* Clustering: connected components of a pair list, by union-find.
 *
 * Union by size with path halving: O(n + npairs * alpha(n)). The parent
 * links live in cluster_ids itself; a second array holds the sizes and is
 * then reused to label each root with the smallest id of its component
 * (the first vertex seen when walking the ids upwards). The ids are all
 * validated before anything is written. */
#include <stdlib.h>

#include "internal.h"

enum { POLL_EVERY = 4096 };

static int64_t find_root(int64_t *parent, int64_t v) {
    while (parent[v] != v) {
        parent[v] = parent[parent[v]]; /* path halving */
        v = parent[v];
    }
    return v;
}

static int stopped(CInterrupt interrupt, knowhere_error **err) {
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status == KNOWHERE_OK) return KNOWHERE_OK;
    return kh_stopped_error(err, status, "clustering", "");
}

static int check_pairs(size_t n, const int64_t *left, const int64_t *right, size_t npairs,
                       CInterrupt interrupt, knowhere_error **err) {
    for (size_t i = 0; i < npairs; ++i) {
        if (i % POLL_EVERY == POLL_EVERY - 1) {
            int status = stopped(interrupt, err);
            if (status != KNOWHERE_OK) return status;
        }
        int64_t a = left[i], b = right[i];
        if (a < 0 || (uint64_t)a >= n || b < 0 || (uint64_t)b >= n)
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "pair %zu (%lld, %lld) has an id outside 0..%zu", i,
                             (long long)a, (long long)b, n - 1);
    }
    return KNOWHERE_OK;
}

int knowhere_cluster_pairs_with_interrupt(size_t n, const int64_t *left, const int64_t *right,
                                          size_t npairs, int64_t *cluster_ids,
                                          CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (npairs > 0 && (left == NULL || right == NULL))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "left or right is NULL");
    if (n > 0 && cluster_ids == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "cluster_ids is NULL");
    if (n > (uint64_t)INT64_MAX)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "n %zu exceeds the id range", n);
    int status = stopped(interrupt, err);
    if (status != KNOWHERE_OK) return status;
    if (npairs > 0 && n == 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "pair 0 (%lld, %lld) has an id but n is 0", (long long)left[0],
                         (long long)right[0]);
    status = check_pairs(n, left, right, npairs, interrupt, err);
    if (status != KNOWHERE_OK || n == 0) return status;

    size_t *size = n <= SIZE_MAX / sizeof(size_t) ? malloc(n * sizeof(size_t)) : NULL;
    if (size == NULL)
        return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory clustering %zu ids", n);
    int64_t *parent = cluster_ids;
    for (size_t v = 0; v < n; ++v) {
        parent[v] = (int64_t)v;
        size[v] = 1;
    }
    for (size_t i = 0; i < npairs; ++i) {
        if (i % POLL_EVERY == POLL_EVERY - 1 && (status = stopped(interrupt, err)) != KNOWHERE_OK)
            break;
        int64_t a = find_root(parent, left[i]), b = find_root(parent, right[i]);
        if (a == b) continue;
        if (size[a] < size[b] || (size[a] == size[b] && a > b)) {
            int64_t t = a;
            a = b;
            b = t;
        }
        parent[b] = a; /* the smaller tree goes under the larger */
        size[a] += size[b];
    }
    /* Every vertex points straight at its root (sizes are done with: the
     * array becomes each root's label), then each takes the smallest id of
     * its component: the first vertex of that root met going up. */
    for (size_t v = 0; v < n && status == KNOWHERE_OK; ++v) {
        if (v % POLL_EVERY == POLL_EVERY - 1 && (status = stopped(interrupt, err)) != KNOWHERE_OK)
            break;
        parent[v] = find_root(parent, (int64_t)v);
        size[v] = SIZE_MAX;
    }
    for (size_t v = 0; v < n && status == KNOWHERE_OK; ++v) {
        if (v % POLL_EVERY == POLL_EVERY - 1 && (status = stopped(interrupt, err)) != KNOWHERE_OK)
            break;
        size_t root = (size_t)parent[v];
        if (size[root] == SIZE_MAX) size[root] = v;
        cluster_ids[v] = (int64_t)size[root];
    }
    free(size);
    return status;
}
