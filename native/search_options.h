/* knowhere_search_options, checked and resolved for the search files. */
#ifndef KNOWHERE_SEARCH_OPTIONS_H
#define KNOWHERE_SEARCH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "candidates.h"

typedef struct {
    uint32_t mode;     /* KNOWHERE_SEARCH_RANKED or KNOWHERE_SEARCH_HITS */
    size_t refine_k;   /* ranked mode: 0 ranks every candidate */
    size_t threads;    /* 0: the index's thread count */
    kh_filter filter;  /* the bitset argument and the options' filter */
} kh_search_params;

/* Checks `options` (NULL: the defaults) and resolves them, with the call's
 * bitset, into *p. KNOWHERE_OK, or KNOWHERE_ERR_INVALID_ARG with a message
 * naming the field. */
int kh_search_params_resolve(const knowhere_search_options *options, const uint8_t *bitset,
                             size_t bitset_bits, kh_search_params *p, knowhere_error **err);

/* Whether a search must collect hits in hit order (hits mode or refine_k)
 * rather than rank every candidate. */
static inline bool kh_search_uses_hits(const kh_search_params *p) {
    return p->mode == KNOWHERE_SEARCH_HITS || p->refine_k > 0;
}

#endif
