/* The signature scheme an index records (knowhere_rs.h, "Signature
 * scheme"): which signatures its rows are, so that queries made with
 * another scheme can be refused instead of silently finding nothing. The
 * scheme is the library's KNOWHERE_SIGNATURE_SCHEME_VERSION (bumped with
 * every change of docs/signatures.md that changes a signature) and the
 * options. It lives in the index object, under its lock, and in saved
 * files (serialize.c, flag bit 2). */
#include <inttypes.h>
#include <string.h>

#include "internal.h"
#include "minhash_lsh_internal.h"
#include "shingles.h"

bool kh_minhash_lsh_scheme(const knowhere_minhash_lsh *const_index, kh_signature_scheme *scheme) {
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index; /* the lock only */
    pthread_mutex_lock(&index->lock);
    bool has = index->has_scheme;
    if (has) *scheme = index->scheme;
    pthread_mutex_unlock(&index->lock);
    return has;
}

void kh_minhash_lsh_set_scheme(knowhere_minhash_lsh *index, const kh_signature_scheme *scheme,
                               bool has) {
    pthread_mutex_lock(&index->lock);
    index->has_scheme = has;
    if (has) index->scheme = *scheme;
    pthread_mutex_unlock(&index->lock);
}

/* The fields this version knows, from options of any later size. */
static knowhere_signature_options known_fields(const knowhere_signature_options *options) {
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    if (options == NULL) return o;
    o.num_hashes = options->num_hashes;
    o.shingle_kind = options->shingle_kind;
    o.shingle_size = options->shingle_size;
    o.value_bytes = options->value_bytes;
    o.flags = options->flags;
    o.seed = options->seed;
    return o;
}

static bool same_options(const knowhere_signature_options *a, const knowhere_signature_options *b) {
    return a->num_hashes == b->num_hashes && a->shingle_kind == b->shingle_kind &&
           a->shingle_size == b->shingle_size && a->value_bytes == b->value_bytes &&
           a->flags == b->flags && a->seed == b->seed;
}

/* "words:3, 128 values of 4 bytes, seed 0, lower-cased". */
static void describe(const knowhere_signature_options *o, char *buf, size_t cap) {
    snprintf(buf, cap, "%s:%u, %u values of %u bytes, seed %" PRIu64 ", %s",
             o->shingle_kind == KNOWHERE_SHINGLE_CHARS ? "chars" : "words", (unsigned)o->shingle_size,
             (unsigned)o->num_hashes, (unsigned)o->value_bytes, o->seed,
             o->flags & KNOWHERE_SIGNATURE_KEEP_CASE ? "case kept" : "lower-cased");
}

int knowhere_minhash_lsh_set_signature_scheme(knowhere_minhash_lsh *index,
                                              const knowhere_signature_options *options,
                                              knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (options == NULL) {
        kh_minhash_lsh_set_scheme(index, NULL, false);
        return KNOWHERE_OK;
    }
    kh_shingle_spec spec;
    int status = kh_signature_options_spec(options, &spec, err);
    if (status != KNOWHERE_OK) return status;
    size_t length = knowhere_minhash_lsh_mh_vec_length(index);
    size_t element_size = knowhere_minhash_lsh_element_size(index);
    if (length != 0 && (options->num_hashes != length || options->value_bytes != element_size))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "the scheme makes signatures of %u values of %u bytes, but the index "
                         "holds %zu values of %zu bytes", (unsigned)options->num_hashes,
                         (unsigned)options->value_bytes, length, element_size);
    kh_signature_scheme scheme = {KNOWHERE_SIGNATURE_SCHEME_VERSION, known_fields(options)};
    kh_minhash_lsh_set_scheme(index, &scheme, true);
    return KNOWHERE_OK;
}

int knowhere_minhash_lsh_signature_scheme(const knowhere_minhash_lsh *index,
                                          knowhere_signature_options *options, uint32_t *version,
                                          knowhere_error **err) {
    kh_clear_error(err);
    if (version) *version = 0;
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (options != NULL && options->size < sizeof *options)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->size is %u; call knowhere_signature_options_init first",
                         (unsigned)options->size);
    kh_signature_scheme scheme;
    if (!kh_minhash_lsh_scheme(index, &scheme)) return KNOWHERE_OK;
    if (version) *version = scheme.version;
    if (options != NULL) {
        uint32_t size = options->size; /* a later, larger struct keeps its size */
        memcpy(options, &scheme.options, sizeof scheme.options);
        options->size = size;
    }
    return KNOWHERE_OK;
}

int knowhere_minhash_lsh_check_signature_scheme(const knowhere_minhash_lsh *index,
                                                const knowhere_signature_options *options,
                                                knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    kh_shingle_spec spec;
    int status = kh_signature_options_spec(options, &spec, err);
    if (status != KNOWHERE_OK) return status;
    kh_signature_scheme scheme;
    if (!kh_minhash_lsh_scheme(index, &scheme)) return KNOWHERE_OK; /* nothing to check */
    if (scheme.version != KNOWHERE_SIGNATURE_SCHEME_VERSION)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "the index holds signatures of signature scheme version %u, and this "
                         "library makes version %d: its queries would not match; rebuild the "
                         "index from the documents", (unsigned)scheme.version,
                         KNOWHERE_SIGNATURE_SCHEME_VERSION);
    knowhere_signature_options wanted = known_fields(options);
    if (same_options(&scheme.options, &wanted)) return KNOWHERE_OK;
    char have[160], want[160];
    describe(&scheme.options, have, sizeof have);
    describe(&wanted, want, sizeof want);
    return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                     "the index holds signatures of %s, and the queries are %s: they would not "
                     "match", have, want);
}
