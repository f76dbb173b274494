/* A C program as a user writes it against an installed prefix: compiled
 * with `pkg-config --cflags --libs knowhere_rs` (test/package.test.ts).
 * Signs three documents, indexes them, and finds the near-duplicate. */
#include <knowhere_rs.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K 128

static const char *const documents[] = {
    "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun",
    "a completely different sentence about databases, indexes and the search for duplicates",
    "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun today",
};

static int fail(const char *what, int status, knowhere_error *err) {
    fprintf(stderr, "%s: %s\n", what, err ? knowhere_error_message(err) : knowhere_status_string(status));
    knowhere_error_free(err);
    return 1;
}

int main(void) {
    if (strcmp(knowhere_version(), KNOWHERE_RS_VERSION_STRING) != 0 ||
        knowhere_abi_version() != KNOWHERE_RS_ABI_VERSION) {
        fprintf(stderr, "header %s does not match library %s\n", KNOWHERE_RS_VERSION_STRING,
                knowhere_version());
        return 1;
    }
    static uint32_t signatures[3][K];
    knowhere_error *err = NULL;
    for (int i = 0; i < 3; i++) {
        int status = knowhere_signature_from_text(NULL, documents[i], strlen(documents[i]),
                                                  (uint8_t *)signatures[i], sizeof signatures[i],
                                                  NULL, &err);
        if (status != KNOWHERE_OK) return fail("signature", status, err);
    }
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    int status = knowhere_minhash_lsh_build(index, (const uint8_t *)signatures, sizeof signatures,
                                            K, 4, 16, true, &err);
    if (status != KNOWHERE_OK) return fail("build", status, err);
    int64_t ids[2];
    float similarity[2];
    status = knowhere_minhash_lsh_search(index, (const uint8_t *)signatures[0], sizeof signatures[0],
                                         2, NULL, 0, ids, similarity, &err);
    if (status != KNOWHERE_OK) return fail("search", status, err);
    knowhere_minhash_lsh_free(index);
    /* The document itself, then its near-duplicate (one extra word). */
    if (ids[0] != 0 || ids[1] != 2 || similarity[1] < 0.5f || similarity[1] >= 1.0f) {
        fprintf(stderr, "unexpected hits %lld %lld (%f)\n", (long long)ids[0], (long long)ids[1],
                (double)similarity[1]);
        return 1;
    }
    printf("c consumer ok: %s, duplicate of 0 is %lld (%.2f)\n", knowhere_version(),
           (long long)ids[1], (double)similarity[1]);
    return 0;
}
