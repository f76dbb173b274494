/* libFuzzer target: arbitrary bytes into the loader (seeds: saved indexes
 * with and without raw data and removed rows). Whatever the input,
 * deserialize must return a status (never crash, over-read or leak), leave
 * a previously built index answering as before when it fails, and give an
 * index that searches safely and re-serializes to the same bytes when it
 * succeeds. */
#include <stdlib.h>
#include <string.h>

#include "knowhere_rs.h"

static void require(int condition) {
    if (!condition) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    require(index != NULL);
    knowhere_error *err = NULL;
    int status = knowhere_minhash_lsh_deserialize(index, data, size, &err);
    require((status == KNOWHERE_OK) == (err == NULL));
    knowhere_error_free(err);
    if (status == KNOWHERE_OK) {
        size_t length = knowhere_minhash_lsh_mh_vec_length(index);
        size_t es = knowhere_minhash_lsh_element_size(index);
        size_t n = knowhere_minhash_lsh_count(index);
        uint8_t *query = calloc(length * es, 1);
        int64_t ids[4];
        float d[4];
        require(query != NULL);
        require(knowhere_minhash_lsh_search(index, query, length * es, 4, NULL, 0, ids, d,
                                            NULL) == KNOWHERE_OK);
        for (int i = 0; i < 4; ++i) require(ids[i] >= -1 && ids[i] < (int64_t)n);
        size_t removed = knowhere_minhash_lsh_removed_count(index);
        require(removed <= n);
        if (knowhere_minhash_lsh_has_raw_data(index) && n > 0) {
            int64_t last = (int64_t)n - 1; /* refused only if it was removed */
            int got = knowhere_minhash_lsh_get_vector_by_ids(index, &last, 1, query, length * es,
                                                             NULL);
            require(got == KNOWHERE_OK || (removed > 0 && got == KNOWHERE_ERR_INVALID_ARG));
        }
        uint8_t *again = NULL;
        size_t again_len = 0;
        require(knowhere_minhash_lsh_serialize(index, &again, &again_len, NULL) == KNOWHERE_OK);
        require(again_len == size && memcmp(again, data, size) == 0);
        knowhere_buffer_free(again);
        free(query);
    } else {
        require(knowhere_minhash_lsh_count(index) == 0);
    }
    knowhere_minhash_lsh_free(index);
    return 0;
}
