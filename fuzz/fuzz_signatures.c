/* libFuzzer target: arbitrary bytes as text (and as token hashes, and as
 * tokens split at spaces) through the signature API, with options taken
 * from the first bytes. Any input must give a status, and the same text
 * must always give the same signature, single or in a batch; the same
 * tokens too, single or packed in a batch; and a text of lower-case ASCII
 * words gives the signature of its words as tokens. The exact shingle
 * similarity of the text's two halves must be symmetric, in [0, 1], 1 for
 * a text with itself, and the same from the pairs call. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "knowhere_rs.h"

static void require(int condition) {
    if (!condition) abort();
}

/* The text split at spaces (empty tokens included), as tokens. */
static void check_tokens(const knowhere_signature_options *text_options, const char *text,
                         size_t text_len, const uint8_t *from_text, size_t sig) {
    knowhere_signature_options options = *text_options;
    options.shingle_kind = KNOWHERE_SHINGLE_WORDS;
    size_t ntokens = 1;
    for (size_t i = 0; i < text_len; ++i) ntokens += text[i] == ' ';
    const char **tokens = malloc(ntokens * sizeof *tokens);
    size_t *lens = malloc(ntokens * sizeof *lens);
    uint64_t *offsets = malloc((ntokens + 1) * sizeof *offsets);
    uint8_t *single = malloc(sig), *batch = malloc(sig), *again = malloc(sig);
    require(tokens && lens && offsets && single && batch && again);
    /* token t is text[offsets[t] .. offsets[t + 1] - 2]: the spaces are
     * left out of the ranges, so the packed form skips one byte each */
    size_t t = 0, start = 0;
    for (size_t i = 0; i <= text_len; ++i)
        if (i == text_len || text[i] == ' ') {
            tokens[t] = text + start;
            lens[t++] = i - start;
            start = i + 1;
        }
    size_t shingles = 0;
    require(knowhere_signature_from_tokens(&options, tokens, lens, ntokens, single, sig, &shingles,
                                           NULL) == KNOWHERE_OK);
    require(knowhere_signature_from_tokens(&options, tokens, lens, ntokens, again, sig, NULL,
                                           NULL) == KNOWHERE_OK);
    require(memcmp(single, again, sig) == 0);
    /* Packed: the same bytes without the spaces. */
    char *packed = malloc(text_len + 1);
    require(packed != NULL);
    size_t at = 0;
    for (size_t i = 0; i < ntokens; ++i) {
        offsets[i] = at;
        memcpy(packed + at, tokens[i], lens[i]);
        at += lens[i];
    }
    offsets[ntokens] = at;
    uint64_t docs[2] = {0, ntokens};
    uint32_t count = 0;
    require(knowhere_signature_batch_from_tokens_with_interrupt(&options, packed, at, offsets,
                                                                ntokens, docs, 1, batch, sig, &count,
                                                                1, NULL, NULL) == KNOWHERE_OK);
    require(memcmp(single, batch, sig) == 0 && count == shingles);
    /* Lower-case ASCII words with single spaces: the tokens are its words. */
    bool plain = text_len > 0 && text[0] != ' ' && text[text_len - 1] != ' ';
    for (size_t i = 0; plain && i < text_len; ++i)
        plain = (text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9') ||
                (text[i] == ' ' && text[i + 1] != ' ');
    if (plain && text_options->shingle_kind == KNOWHERE_SHINGLE_WORDS)
        require(memcmp(single, from_text, sig) == 0);
    free(packed);
    free(tokens);
    free(lens);
    free(offsets);
    free(single);
    free(batch);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    knowhere_signature_options options;
    knowhere_signature_options_init(&options);
    options.num_hashes = 1 + data[0] % 64;
    options.shingle_kind = data[1] & 1;
    options.shingle_size = 1 + data[1] % 9;
    options.value_bytes = (data[2] & 1) ? 8 : 4;
    options.flags = (data[2] & 2) ? KNOWHERE_SIGNATURE_KEEP_CASE : 0;
    options.seed = data[2] >> 2;
    const char *text = (const char *)data + 3;
    size_t text_len = size - 3;
    size_t sig = (size_t)options.num_hashes * options.value_bytes;

    uint8_t *one = malloc(sig), *batch = malloc(2 * sig);
    require(one && batch);
    size_t shingles = 0;
    int status = knowhere_signature_from_text(&options, text, text_len, one, sig, &shingles, NULL);
    if (status == KNOWHERE_ERR_NOT_IMPLEMENTED) goto done; /* not built yet */
    require(status == KNOWHERE_OK);
    uint64_t offsets[3] = {0, text_len, text_len};
    uint32_t counts[2];
    require(knowhere_signature_batch_from_text_with_interrupt(&options, text, text_len, offsets, 2,
                                                              batch, 2 * sig, counts, 1 + size % 3,
                                                              NULL, NULL) == KNOWHERE_OK);
    require(memcmp(one, batch, sig) == 0);
    require(counts[0] == shingles && counts[1] == 0);
    for (size_t i = 0; i < sig; ++i) require(batch[sig + i] == 0xFF); /* the empty document */

    /* The same bytes as token hashes. */
    size_t nhashes = text_len / 8;
    uint64_t *hashes = malloc((nhashes ? nhashes : 1) * sizeof *hashes);
    require(hashes != NULL);
    if (nhashes) memcpy(hashes, text, nhashes * 8);
    require(knowhere_signature_from_hashes(&options, hashes, nhashes, one, sig, NULL) ==
            KNOWHERE_OK);
    free(hashes);

    check_tokens(&options, text, text_len, batch, sig); /* batch: from_text's */

    size_t half = text_len / 2;
    double ab = -1, ba = -1, aa = -1;
    require(knowhere_shingle_jaccard(&options, text, half, text + half, text_len - half, &ab,
                                     NULL) == KNOWHERE_OK);
    require(knowhere_shingle_jaccard(&options, text + half, text_len - half, text, half, &ba,
                                     NULL) == KNOWHERE_OK);
    require(knowhere_shingle_jaccard(&options, text, half, text, half, &aa, NULL) == KNOWHERE_OK);
    require(ab == ba && ab >= 0 && ab <= 1 && aa == 1);
    uint64_t halves[3] = {0, half, text_len};
    int64_t left[3] = {0, 1, 0}, right[3] = {1, 0, 0};
    double pairs[3];
    require(knowhere_shingle_jaccard_pairs_with_interrupt(&options, text, text_len, halves, 2, left,
                                                          right, 3, pairs, 1 + size % 3, NULL,
                                                          NULL) == KNOWHERE_OK);
    require(pairs[0] == ab && pairs[1] == ab && pairs[2] == 1);
done:
    free(one);
    free(batch);
    return 0;
}
