/* A document's shingle set as sorted distinct XXH3-64 values, and the exact
 * Jaccard similarity of two such sets: what knowhere_shingle_jaccard and
 * the exact clustering (cluster_join.c) compute with (shingle_jaccard.c). */
#ifndef KNOWHERE_SHINGLE_SET_H
#define KNOWHERE_SHINGLE_SET_H

#include <stddef.h>
#include <stdint.h>

#include "parallel.h"
#include "shingles.h"

typedef struct {
    uint64_t *hashes; /* sorted, distinct; NULL when count is 0 */
    size_t count;
} kh_shingle_set;

/* Scratch for shingling, reused from document to document: the normalised
 * text and the sort's buffer. Zero-initialise it. */
typedef struct {
    kh_normalised text;
    uint64_t *tmp;
    size_t tmp_cap;
} kh_shingler;

void kh_shingler_free(kh_shingler *s);
void kh_shingle_set_free(kh_shingle_set *set);

/* The shingle set of text[0..len-1] into a new *out. KNOWHERE_OK,
 * _INTERRUPTED (job, which may be NULL, is polled) or _NO_MEMORY (nothing
 * allocated on error). */
int kh_shingle_set_make(const kh_shingle_spec *spec, const uint8_t *text, size_t len,
                        kh_shingler *s, kh_shingle_set *out, kh_job *job);

/* |a & b| / |a | b| (1 when both are empty). KNOWHERE_OK or _INTERRUPTED
 * (job, which may be NULL, is polled every 65536 merge steps). */
int kh_shingle_set_jaccard(const kh_shingle_set *a, const kh_shingle_set *b,
                           double *similarity, kh_job *job);

#endif
