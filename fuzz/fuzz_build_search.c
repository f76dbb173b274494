/* libFuzzer target: bytes decoded into parameters (length, element size,
 * bands, k, bitset length, raw-data flag and form (full values, 8- or
 * 16-bit codes), threads) plus data and queries,
 * driving build, add, search, batch search, search with options (hits mode,
 * refine_k, a bitset id offset), get_vector_by_ids, remove and a serialize
 * round trip. Invalid combinations must give a status; valid
 * ones must give well-formed results (ids in range, sorted by similarity,
 * batch equal to single). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knowhere_rs.h"

static void require(int condition) {
    if (!condition) abort();
}

typedef struct {
    const uint8_t *p;
    size_t left;
} cursor;

static size_t take(cursor *c) {
    if (c->left == 0) return 0;
    c->left--;
    return *c->p++;
}

/* Results must be ids in range (or -1 padding at the end), similarities in
 * [0, 1], descending, ties by ascending id. */
static void check_row(const int64_t *ids, const float *d, size_t k, size_t n) {
    for (size_t i = 0; i < k; ++i) {
        require(ids[i] >= -1 && ids[i] < (int64_t)n);
        require(d[i] >= 0.0f && d[i] <= 1.0f && !isnan(d[i]));
        if (i == 0) continue;
        if (ids[i - 1] == -1) require(ids[i] == -1);
        else if (ids[i] != -1)
            require(d[i - 1] > d[i] || (d[i - 1] == d[i] && ids[i - 1] < ids[i]));
    }
}

/* Hits mode: distinct ids in range with distance 1, then -1 / 0 padding. */
static void check_hits(const int64_t *ids, const float *d, size_t k, size_t n) {
    for (size_t i = 0; i < k; ++i) {
        require(ids[i] >= -1 && ids[i] < (int64_t)n);
        require(d[i] == (ids[i] >= 0 ? 1.0f : 0.0f));
        if (i > 0 && ids[i - 1] == -1) require(ids[i] == -1);
        for (size_t j = 0; j < i && ids[i] >= 0; ++j) require(ids[j] != ids[i]);
    }
}

/* Search options from bits of `split` (no new input bytes, so the corpus
 * keeps its meaning): batch equals single, rows well formed, the filter
 * read at id + offset. */
static void check_options(knowhere_minhash_lsh *index, const uint8_t *queries, size_t nq,
                          size_t sig, size_t k, const uint8_t *filter, size_t bitset_bits,
                          size_t split, size_t threads, size_t n) {
    knowhere_search_options o;
    knowhere_search_options_init(&o);
    o.mode = (split >> 1) & 1 ? KNOWHERE_SEARCH_HITS : KNOWHERE_SEARCH_RANKED;
    o.refine_k = (split >> 2) % 8;
    o.bitset_id_offset = (split >> 5) & 3;
    o.threads = threads;
    int64_t ids[4 * 12], single_ids[12];
    float d[4 * 12], single_d[12];
    require(knowhere_minhash_lsh_batch_search_with_options(index, queries, nq * sig, nq, k, filter,
                                                           bitset_bits, &o, ids, d, NULL,
                                                           NULL) == KNOWHERE_OK);
    for (size_t q = 0; q < nq; ++q) {
        if (o.mode == KNOWHERE_SEARCH_HITS) check_hits(ids + q * k, d + q * k, k, n);
        else check_row(ids + q * k, d + q * k, k, n);
        require(knowhere_minhash_lsh_search_with_options(index, queries + q * sig, sig, k, filter,
                                                         bitset_bits, &o, single_ids, single_d,
                                                         NULL, NULL) == KNOWHERE_OK);
        require(memcmp(single_ids, ids + q * k, k * sizeof *ids) == 0);
        require(memcmp(single_d, d + q * k, k * sizeof *d) == 0);
        for (size_t j = 0; j < k && filter; ++j) {
            if (ids[q * k + j] < 0) continue;
            size_t bit = (size_t)ids[q * k + j] + (size_t)o.bitset_id_offset;
            require(bit < bitset_bits && !((filter[bit >> 3] >> (bit & 7)) & 1));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cursor c = {data, size};
    size_t length = 1 + take(&c) % 24;
    size_t es = take(&c) % 34; /* 0 and 33 are invalid on purpose */
    size_t bands = take(&c) % (length + 3);
    size_t k = take(&c) % 12;
    size_t bitset_bits = take(&c) * 2;
    size_t raw_byte = take(&c);
    bool raw = raw_byte & 1;
    uint32_t raw_bits = (uint32_t)((raw_byte >> 1) % 3) * 8; /* 0, 8 or 16 */
    size_t threads = 1 + take(&c) % 3;
    size_t split = take(&c);
    size_t sig = length * (es ? es : 1);

    /* The rest: rows for the build, then rows for the add, then queries. */
    const uint8_t *rest = c.p;
    size_t rows = c.left / sig;
    size_t build_rows = rows ? 1 + split % rows : 0;
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    require(index != NULL);
    knowhere_minhash_lsh_set_num_threads(index, threads);
    require(knowhere_minhash_lsh_set_raw_bits(index, raw_bits, NULL) == KNOWHERE_OK);
    int status = knowhere_minhash_lsh_build(index, rest, build_rows * sig, length, es, bands, raw,
                                            NULL);
    bool valid = es >= 1 && es <= 32 && bands >= 1 && build_rows > 0 &&
                 (!raw || raw_bits / 8 < es); /* codes narrower than the values */
    require((status == KNOWHERE_OK) == valid);
    size_t n = knowhere_minhash_lsh_count(index);
    if (status == KNOWHERE_OK && rows > build_rows) {
        require(knowhere_minhash_lsh_add(index, rest + build_rows * sig, sig, NULL) ==
                KNOWHERE_OK);
        n++;
    }

    uint8_t bitset[512];
    memset(bitset, 0, sizeof bitset);
    for (size_t i = 0; i < sizeof bitset && i < size; ++i) bitset[i] = data[size - 1 - i] & 0x55;
    const uint8_t *filter = bitset_bits ? bitset : NULL;

    size_t nq = rows < 4 ? rows : 4;
    int64_t ids[4 * 12], single_ids[12];
    float d[4 * 12], single_d[12];
    if (nq > 0) {
        status = knowhere_minhash_lsh_batch_search(index, rest, nq * sig, nq, k, filter,
                                                   bitset_bits, ids, d, NULL);
        require(status == (k == 0 ? KNOWHERE_ERR_INVALID_ARG : KNOWHERE_OK));
        if (status == KNOWHERE_OK) {
            for (size_t q = 0; q < nq; ++q) {
                check_row(ids + q * k, d + q * k, k, n);
                require(knowhere_minhash_lsh_search(index, rest + q * sig, sig, k, filter,
                                                    bitset_bits, single_ids, single_d,
                                                    NULL) == KNOWHERE_OK);
                require(memcmp(single_ids, ids + q * k, k * sizeof *ids) == 0);
                require(memcmp(single_d, d + q * k, k * sizeof *d) == 0);
                for (size_t j = 0; j < k; ++j)
                    if (ids[q * k + j] >= 0 && filter)
                        require((size_t)ids[q * k + j] < bitset_bits &&
                                !((bitset[ids[q * k + j] >> 3] >> (ids[q * k + j] & 7)) & 1));
            }
        }
    }
    if (nq > 0 && k > 0)
        check_options(index, rest, nq, sig, k, filter, bitset_bits, split, threads, n);
    if (n > 0 && raw) {
        int64_t want[2] = {(int64_t)n - 1, (int64_t)(split % n)};
        uint8_t *out = malloc(2 * sig);
        require(out != NULL);
        status = knowhere_minhash_lsh_get_vector_by_ids(index, want, 2, out, 2 * sig, NULL);
        require(status == (raw_bits ? KNOWHERE_ERR_INVALID_ARG : KNOWHERE_OK));
        require(raw_bits || memcmp(out + sig, rest + want[1] * sig, sig) == 0);
        require(knowhere_minhash_lsh_raw_bits(index) == raw_bits);
        free(out);
    }
    if (n > 0 && k > 0 && (split & 1)) { /* a removed row is found no more */
        int64_t gone = (int64_t)(split % n);
        size_t removed = 0;
        require(knowhere_minhash_lsh_remove(index, &gone, 1, &removed, NULL) == KNOWHERE_OK);
        require(removed == 1 && knowhere_minhash_lsh_removed_count(index) == 1);
        require(knowhere_minhash_lsh_search(index, rest + (size_t)gone * sig, sig, k, NULL, 0, ids,
                                            d, NULL) == KNOWHERE_OK);
        check_row(ids, d, k, n);
        for (size_t j = 0; j < k; ++j) require(ids[j] != gone);
    }
    if (n > 0) { /* a serialize round trip answers the same */
        uint8_t *bytes = NULL;
        size_t len = 0;
        require(knowhere_minhash_lsh_serialize(index, &bytes, &len, NULL) == KNOWHERE_OK);
        knowhere_minhash_lsh *copy = knowhere_minhash_lsh_create();
        require(copy && knowhere_minhash_lsh_deserialize(copy, bytes, len, NULL) == KNOWHERE_OK);
        if (nq > 0 && k > 0 &&
            knowhere_minhash_lsh_search(copy, rest, sig, k, NULL, 0, single_ids, single_d,
                                        NULL) == KNOWHERE_OK) {
            require(knowhere_minhash_lsh_search(index, rest, sig, k, NULL, 0, ids, d, NULL) ==
                    KNOWHERE_OK);
            require(memcmp(single_ids, ids, k * sizeof *ids) == 0);
        }
        knowhere_minhash_lsh_free(copy);
        knowhere_buffer_free(bytes);
    }
    knowhere_minhash_lsh_free(index);
    return 0;
}
