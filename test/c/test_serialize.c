/* Save / load / serialize / deserialize: round trips that answer exactly as
 * the original for several parameter sets, every single-byte corruption and
 * every truncation rejected, hostile contents under valid checksums
 * rejected (or harmless), file errors, interrupts, deadlines, progress, and
 * the guard. Files go to a mkdtemp directory under /tmp, removed at the
 * end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "knowhere_rs.h"
#include "progress_recorder.h"
#include "test_data.h"

/* The library's XXH3 (the same source), to re-seal tampered files with the
 * checksum rule of docs/format.md. */
#include "../../native/xxh3.c"
#include "format_checksum.h"

static char dir[64];

static void path_in_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

/* Names in the test directory other than `keep` (NULL: none kept). */
static int stray_files(const char *keep) {
    DIR *d = opendir(dir);
    REQUIRE(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (keep && !strcmp(e->d_name, keep)) continue;
        fprintf(stderr, "  stray file: %s\n", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* Names in the test directory that a save's temporary file would have. */
static int temporary_files(void) {
    DIR *d = opendir(dir);
    REQUIRE(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void empty_dir(void) {
    DIR *d = opendir(dir);
    REQUIRE(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512];
        path_in_dir(p, sizeof p, e->d_name);
        if (rmdir(p) != 0) unlink(p);
    }
    closedir(d);
}

static void write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(len == 0 || fwrite(data, 1, len, f) == len);
    REQUIRE(fclose(f) == 0);
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    REQUIRE(size >= 0);
    rewind(f);
    uint8_t *data = malloc((size_t)size + 1);
    REQUIRE(data != NULL);
    REQUIRE(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- the format, as docs/format.md gives it -------------------------------- */

enum { FIXED = 64 };

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct {
    uint32_t sections;
    size_t header, offset[64], length[64], trailer;
} parsed;

/* Where everything is in a well-formed buffer (few sections). */
static parsed parse(const uint8_t *buf) {
    parsed p = {.sections = le32(buf + 60)};
    REQUIRE(p.sections <= 64);
    p.header = FIXED + 8 * (size_t)p.sections;
    size_t off = p.header;
    for (uint32_t i = 0; i < p.sections; ++i) {
        p.offset[i] = off;
        p.length[i] = (size_t)le64(buf + FIXED + 8 * i);
        off += p.length[i];
    }
    p.trailer = off;
    return p;
}

/* Recomputes every checksum of a buffer whose sections were edited, so that
 * only the structural checks can catch the edit. */
static void reseal(uint8_t *buf) {
    parsed p = parse(buf);
    for (uint32_t i = 0; i < p.sections; ++i)
        put64(buf + p.trailer + 8 * i, chunked_checksum(buf + p.offset[i], p.length[i]));
    uint8_t *meta = malloc(p.header + 8 * p.sections);
    REQUIRE(meta != NULL);
    memcpy(meta, buf, p.header);
    memcpy(meta + p.header, buf + p.trailer, 8 * p.sections);
    put64(buf + p.trailer + 8 * p.sections, chunked_checksum(meta, p.header + 8 * p.sections));
    free(meta);
}

/* ---- comparing two indexes -------------------------------------------------- */

typedef struct {
    size_t n, length, es, bands;
    bool raw;
    size_t added[2]; /* rows added after the build (0: none) */
} params;

static size_t sig_of(const knowhere_minhash_lsh *index) {
    return knowhere_minhash_lsh_mh_vec_length(index) * knowhere_minhash_lsh_element_size(index);
}

/* Queries: rows of `data`, near copies of them, and random signatures. */
static uint8_t *make_queries(test_rng *rng, const uint8_t *data, size_t n, size_t length,
                             size_t es, size_t nq) {
    size_t sig = length * es;
    uint8_t *q = malloc(nq * sig);
    REQUIRE(q != NULL);
    for (size_t i = 0; i < nq; ++i) {
        const uint8_t *row = data + (rng_next(rng) % n) * sig;
        switch (i % 4) {
        case 0: memcpy(q + i * sig, row, sig); break;
        case 1: mutate_signature(rng, row, q + i * sig, length, es, 0.8); break;
        case 2: mutate_signature(rng, row, q + i * sig, length, es, 0.4); break;
        default: rng_fill(rng, q + i * sig, sig);
        }
    }
    return q;
}

/* Both indexes give the same rows for the same batch (with and without a
 * filter). */
static void check_same_answers(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b,
                               const uint8_t *queries, size_t nq) {
    enum { K = 12 };
    size_t sig = sig_of(a), count = knowhere_minhash_lsh_count(a);
    int64_t *ids_a = malloc(nq * K * sizeof *ids_a), *ids_b = malloc(nq * K * sizeof *ids_b);
    float *d_a = malloc(nq * K * sizeof *d_a), *d_b = malloc(nq * K * sizeof *d_b);
    uint8_t *bitset = calloc((count + 7) / 8 + 1, 1);
    REQUIRE(ids_a && ids_b && d_a && d_b && bitset);
    for (size_t id = 0; id < count; id += 3) bitset[id >> 3] |= (uint8_t)(1u << (id & 7));
    for (int filtered = 0; filtered < 2; ++filtered) {
        const uint8_t *bs = filtered ? bitset : NULL;
        CHECK_EQ(knowhere_minhash_lsh_batch_search(a, queries, nq * sig, nq, K, bs, count, ids_a,
                                                   d_a, NULL),
                 KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_batch_search(b, queries, nq * sig, nq, K, bs, count, ids_b,
                                                   d_b, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(ids_a, ids_b, nq * K * sizeof *ids_a) == 0);
        CHECK(memcmp(d_a, d_b, nq * K * sizeof *d_a) == 0);
        size_t found = 0;
        for (size_t i = 0; i < nq * K; ++i) found += ids_a[i] >= 0;
        CHECK(found >= nq / 2); /* the comparison is not vacuous */
    }
    /* Single searches too. */
    for (size_t q = 0; q < nq && q < 20; ++q) {
        CHECK_EQ(knowhere_minhash_lsh_search(a, queries + q * sig, sig, K, NULL, 0, ids_a, d_a,
                                             NULL),
                 KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_search(b, queries + q * sig, sig, K, NULL, 0, ids_b, d_b,
                                             NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(ids_a, ids_b, K * sizeof *ids_a) == 0);
    }
    free(ids_a);
    free(ids_b);
    free(d_a);
    free(d_b);
    free(bitset);
}

static void check_same_contents(const knowhere_minhash_lsh *a, const knowhere_minhash_lsh *b,
                                bool grown) {
    CHECK_EQ(knowhere_minhash_lsh_count(a), knowhere_minhash_lsh_count(b));
    CHECK_EQ(knowhere_minhash_lsh_mh_vec_length(a), knowhere_minhash_lsh_mh_vec_length(b));
    CHECK_EQ(knowhere_minhash_lsh_element_size(a), knowhere_minhash_lsh_element_size(b));
    CHECK_EQ(knowhere_minhash_lsh_bands(a), knowhere_minhash_lsh_bands(b));
    CHECK_EQ(knowhere_minhash_lsh_rows_per_band(a), knowhere_minhash_lsh_rows_per_band(b));
    CHECK_EQ(knowhere_minhash_lsh_has_raw_data(a), knowhere_minhash_lsh_has_raw_data(b));
    size_t ma = knowhere_minhash_lsh_memory_usage(a), mb = knowhere_minhash_lsh_memory_usage(b);
    if (grown) /* adds leave deltas and spare raw room; a loaded index is compact */
        CHECK(mb <= ma);
    else
        CHECK_EQ(ma, mb);
    size_t count = knowhere_minhash_lsh_count(a), sig = sig_of(a);
    if (knowhere_minhash_lsh_has_raw_data(a)) {
        int64_t *ids = malloc(count * sizeof *ids);
        uint8_t *va = malloc(count * sig), *vb = malloc(count * sig);
        REQUIRE(ids && va && vb);
        for (size_t i = 0; i < count; ++i) ids[i] = (int64_t)(count - 1 - i);
        CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(a, ids, count, va, count * sig, NULL),
                 KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(b, ids, count, vb, count * sig, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(va, vb, count * sig) == 0);
        free(ids);
        free(va);
        free(vb);
    }
}

static knowhere_minhash_lsh *build(const params *p, uint8_t **data_out, test_rng *rng) {
    size_t sig = p->length * p->es, total = p->n + p->added[0] + p->added[1];
    uint8_t *data = random_signatures(rng, total, sig);
    REQUIRE(data != NULL);
    /* Near-duplicates, so that queries find several candidates. */
    for (size_t i = 1; i < total; ++i)
        if (i % 4 != 0)
            mutate_signature(rng, data + (i - i % 4) * sig, data + i * sig, p->length, p->es,
                             0.5 + 0.15 * (double)(i % 4));
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    REQUIRE(knowhere_minhash_lsh_build(index, data, p->n * sig, p->length, p->es, p->bands,
                                       p->raw, NULL) == KNOWHERE_OK);
    size_t at = p->n;
    for (int a = 0; a < 2; ++a) {
        if (p->added[a] == 0) continue;
        REQUIRE(knowhere_minhash_lsh_add(index, data + at * sig, p->added[a] * sig, NULL) ==
                KNOWHERE_OK);
        at += p->added[a];
    }
    *data_out = data;
    return index;
}

/* ---- round trips ----------------------------------------------------------------- */

static void round_trip(const params *p, uint64_t seed) {
    test_rng rng = {seed};
    uint8_t *data = NULL;
    knowhere_minhash_lsh *original = build(p, &data, &rng);
    size_t total = p->n + p->added[0] + p->added[1];
    bool several = p->added[0] || p->added[1];
    uint8_t *queries = make_queries(&rng, data, total, p->length, p->es, 300);

    char path[256];
    path_in_dir(path, sizeof path, "round.bin");
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_save(original, path, &err), KNOWHERE_OK);
    if (err) fprintf(stderr, "  %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    CHECK_EQ(stray_files("round.bin"), 0);

    /* Load into a fresh index, and over an index holding something else. */
    knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
    knowhere_minhash_lsh *replaced = knowhere_minhash_lsh_create();
    REQUIRE(loaded && replaced);
    CHECK_EQ(knowhere_minhash_lsh_build(replaced, data, 8 * p->length, 1, 8, 1, true, NULL),
             KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_load(loaded, path, &err), KNOWHERE_OK);
    if (err) fprintf(stderr, "  %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    CHECK_EQ(knowhere_minhash_lsh_load(replaced, path, NULL), KNOWHERE_OK);
    check_same_contents(original, loaded, several);
    check_same_contents(original, replaced, several);
    check_same_answers(original, loaded, queries, 300);
    check_same_answers(original, replaced, queries, 300);

    /* serialize gives the file's bytes; deserialize gives the same index;
     * re-serializing the loaded index gives the same bytes again. */
    size_t file_len = 0;
    uint8_t *file = read_file(path, &file_len);
    uint8_t *buf = NULL, *again = NULL;
    size_t len = 0, again_len = 0;
    CHECK_EQ(knowhere_minhash_lsh_serialize(original, &buf, &len, NULL), KNOWHERE_OK);
    CHECK(len == file_len && memcmp(buf, file, len) == 0);
    CHECK_EQ(knowhere_minhash_lsh_serialize(loaded, &again, &again_len, NULL), KNOWHERE_OK);
    CHECK(again_len == len && memcmp(again, buf, len) == 0);
    knowhere_minhash_lsh *from_bytes = knowhere_minhash_lsh_create();
    REQUIRE(from_bytes != NULL);
    CHECK_EQ(knowhere_minhash_lsh_deserialize(from_bytes, buf, len, NULL), KNOWHERE_OK);
    memset(buf, 0, len); /* the index keeps its own copy */
    check_same_contents(original, from_bytes, several);
    check_same_answers(original, from_bytes, queries, 300);

    /* A loaded index takes adds like the original. */
    if (p->n >= 100) {
        size_t sig = p->length * p->es;
        CHECK_EQ(knowhere_minhash_lsh_add(original, data, 50 * sig, NULL), KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_add(loaded, data, 50 * sig, NULL), KNOWHERE_OK);
        check_same_answers(original, loaded, queries, 300);
    }

    knowhere_buffer_free(buf);
    knowhere_buffer_free(again);
    free(file);
    unlink(path);
    knowhere_minhash_lsh_free(original);
    knowhere_minhash_lsh_free(loaded);
    knowhere_minhash_lsh_free(replaced);
    knowhere_minhash_lsh_free(from_bytes);
    free(queries);
    free(data);
}

static void test_round_trips(void) {
    const params sets[] = {
        {.n = 2000, .length = 32, .es = 1, .bands = 8, .raw = true},
        {.n = 2000, .length = 32, .es = 1, .bands = 8, .raw = false},
        {.n = 3000, .length = 64, .es = 4, .bands = 16, .raw = false},
        {.n = 3000, .length = 64, .es = 4, .bands = 16, .raw = true},
        {.n = 700, .length = 10, .es = 16, .bands = 3, .raw = true},   /* r = 3, one value left */
        {.n = 700, .length = 10, .es = 16, .bands = 3, .raw = false},
        {.n = 1500, .length = 20, .es = 4, .bands = 6, .raw = true, .added = {700, 300}},
        {.n = 1500, .length = 20, .es = 4, .bands = 6, .raw = false, .added = {700, 300}},
        {.n = 900, .length = 7, .es = 2, .bands = 10, .raw = true, .added = {1}}, /* clamped */
        {.n = 5, .length = 16, .es = 8, .bands = 4, .raw = true},   /* prefix_bits 0 */
        {.n = 4000, .length = 128, .es = 4, .bands = 32, .raw = true, .added = {1000}},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; ++i) round_trip(&sets[i], 100 + i);
}

/* ---- damaged input --------------------------------------------------------------- */

/* A small index: 20 signatures of 8 values of 2 bytes, 2 bands, raw data. */
static uint8_t *small_serialized(size_t *len, uint8_t **data_out) {
    test_rng rng = {7};
    uint8_t *data = random_signatures(&rng, 20, 16);
    REQUIRE(data != NULL);
    for (size_t i = 1; i < 20; i += 2) mutate_signature(&rng, data + (i - 1) * 16, data + i * 16, 8, 2, 0.6);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    REQUIRE(knowhere_minhash_lsh_build(index, data, 20 * 16, 8, 2, 2, true, NULL) == KNOWHERE_OK);
    uint8_t *buf = NULL;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &buf, len, NULL) == KNOWHERE_OK);
    knowhere_minhash_lsh_free(index);
    if (data_out) *data_out = data;
    else free(data);
    return buf;
}

/* A target index whose contents must survive every failed load. */
typedef struct {
    knowhere_minhash_lsh *index;
    uint8_t *data;
    int64_t ids[5 * 5];
    float distances[5 * 5];
} target;

static target make_target(void) {
    target t;
    test_rng rng = {99};
    t.data = random_signatures(&rng, 30, 24);
    t.index = knowhere_minhash_lsh_create();
    REQUIRE(t.data && t.index);
    REQUIRE(knowhere_minhash_lsh_build(t.index, t.data, 30 * 24, 12, 2, 4, true, NULL) ==
            KNOWHERE_OK);
    REQUIRE(knowhere_minhash_lsh_batch_search(t.index, t.data, 5 * 24, 5, 5, NULL, 0, t.ids,
                                              t.distances, NULL) == KNOWHERE_OK);
    return t;
}

static bool target_unchanged(const target *t) {
    int64_t ids[5 * 5];
    float distances[5 * 5];
    if (knowhere_minhash_lsh_count(t->index) != 30 ||
        knowhere_minhash_lsh_mh_vec_length(t->index) != 12 ||
        knowhere_minhash_lsh_bands(t->index) != 4)
        return false;
    if (knowhere_minhash_lsh_batch_search(t->index, t->data, 5 * 24, 5, 5, NULL, 0, ids,
                                          distances, NULL) != KNOWHERE_OK)
        return false;
    return memcmp(ids, t->ids, sizeof ids) == 0 &&
           memcmp(distances, t->distances, sizeof distances) == 0;
}

static void free_target(target *t) {
    knowhere_minhash_lsh_free(t->index);
    free(t->data);
}

/* Deserializes and loads (through a file) `buf`; both must give `status`
 * and leave the target as it was. Returns the deserialize message. */
static void expect_rejected(target *t, const uint8_t *buf, size_t len, int status,
                            const char *message_part) {
    knowhere_error *err = NULL;
    int got = knowhere_minhash_lsh_deserialize(t->index, buf, len, &err);
    CHECK_EQ(got, status);
    if (got != status || (message_part && !strstr(knowhere_error_message(err), message_part)))
        fprintf(stderr, "  len %zu: expected \"%s\", got %d \"%s\"\n", len,
                message_part ? message_part : "", got, knowhere_error_message(err));
    if (message_part) CHECK(strstr(knowhere_error_message(err), message_part) != NULL);
    knowhere_error_free(err);
    char path[256];
    path_in_dir(path, sizeof path, "damaged.bin");
    write_file(path, buf, len);
    CHECK_EQ(knowhere_minhash_lsh_load(t->index, path, &err), status);
    if (message_part) CHECK(strstr(knowhere_error_message(err), message_part) != NULL);
    if (status == KNOWHERE_ERR_CORRUPT) CHECK(strstr(knowhere_error_message(err), path) != NULL);
    knowhere_error_free(err);
    unlink(path);
}

static void test_every_byte_flip_is_rejected(void) {
    size_t len = 0;
    uint8_t *buf = small_serialized(&len, NULL);
    target t = make_target();
    printf("  small index: %zu bytes\n", len);
    uint8_t *copy = malloc(len);
    REQUIRE(copy != NULL);
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    int failures_before = check_failures;
    for (size_t i = 0; i < len && check_failures == failures_before; ++i) {
        for (size_t m = 0; m < sizeof masks; ++m) {
            memcpy(copy, buf, len);
            copy[i] ^= masks[m];
            expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, NULL);
        }
        if (i % 64 == 0) CHECK(target_unchanged(&t));
    }
    CHECK(target_unchanged(&t));
    /* The unmodified bytes load. */
    CHECK_EQ(knowhere_minhash_lsh_deserialize(t.index, buf, len, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(t.index), 20);
    free(copy);
    knowhere_buffer_free(buf);
    free_target(&t);
}

static void test_every_truncation_is_rejected(void) {
    size_t len = 0;
    uint8_t *buf = small_serialized(&len, NULL);
    target t = make_target();
    int failures_before = check_failures;
    for (size_t cut = 0; cut < len && check_failures == failures_before; ++cut)
        expect_rejected(&t, buf, cut, KNOWHERE_ERR_CORRUPT, cut < 8 ? "truncated" : NULL);
    expect_rejected(&t, buf, 0, KNOWHERE_ERR_CORRUPT, "truncated");
    expect_rejected(&t, buf, len - 1, KNOWHERE_ERR_CORRUPT, "truncated");
    /* One byte too many. */
    uint8_t *longer = malloc(len + 1);
    REQUIRE(longer != NULL);
    memcpy(longer, buf, len);
    longer[len] = 0;
    expect_rejected(&t, longer, len + 1, KNOWHERE_ERR_CORRUPT, "trailing");
    CHECK(target_unchanged(&t));
    free(longer);
    knowhere_buffer_free(buf);
    free_target(&t);
}

static void test_messages_name_the_damage(void) {
    size_t len = 0;
    uint8_t *buf = small_serialized(&len, NULL);
    target t = make_target();
    uint8_t *copy = malloc(len);
    REQUIRE(copy != NULL);
    parsed p = parse(buf);
    CHECK_EQ(p.sections, 5); /* 2 bands x (directory, entries) + raw */
    CHECK_EQ(p.trailer + 8 * 5 + 8, len);

    memcpy(copy, buf, len);
    copy[0] = 'X';
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "bad magic");
    memcpy(copy, buf, len);
    put32(copy + 8, 2);
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "unsupported format version 2");
    memcpy(copy, buf, len);
    copy[p.offset[1] + 3] ^= 1; /* band 0 entries */
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "checksum mismatch in section 'band 0 entries'");
    memcpy(copy, buf, len);
    copy[p.offset[4]] ^= 1;
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "checksum mismatch in section 'raw data'");
    memcpy(copy, buf, len);
    copy[16] ^= 1; /* count */
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "checksum mismatch in the header");
    memcpy(copy, buf, len);
    copy[p.trailer + 8] ^= 1; /* a section checksum */
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "checksum mismatch in the header");
    memcpy(copy, buf, len);
    copy[12] |= 0x80; /* an unknown flag (bits 0-3 are used or reserved) */
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "unknown flags");
    memcpy(copy, buf, len);
    copy[12] ^= 1; /* no raw data: the section count no longer fits */
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "sections");
    memcpy(copy, buf, len);
    copy[FIXED + 8 * 2] ^= 8; /* a section length */
    expect_rejected(&t, copy, len, KNOWHERE_ERR_CORRUPT, "bytes");
    CHECK(target_unchanged(&t));
    free(copy);
    knowhere_buffer_free(buf);
    free_target(&t);
}

/* ---- hostile contents under valid checksums ---------------------------------------- */

/* 300 rows, 3 bands: prefix_bits 5, so directories have 33 values. */
static uint8_t *medium_serialized(size_t *len) {
    test_rng rng = {11};
    uint8_t *data = random_signatures(&rng, 300, 12);
    REQUIRE(data != NULL);
    /* Equal band keys: band 0 of rows 0..9 equal, so one bucket has 10 entries
     * with the same fingerprint. */
    for (size_t i = 1; i < 10; ++i) memcpy(data + i * 12, data, 4);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    REQUIRE(knowhere_minhash_lsh_build(index, data, 300 * 12, 6, 2, 3, true, NULL) == KNOWHERE_OK);
    uint8_t *buf = NULL;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &buf, len, NULL) == KNOWHERE_OK);
    knowhere_minhash_lsh_free(index);
    free(data);
    return buf;
}

static uint32_t dir_at(const uint8_t *buf, const parsed *p, size_t band, size_t j) {
    return le32(buf + p->offset[2 * band] + 4 * j);
}

static void set_dir(uint8_t *buf, const parsed *p, size_t band, size_t j, uint32_t v) {
    put32(buf + p->offset[2 * band] + 4 * j, v);
}

static uint8_t *entry_at(uint8_t *buf, const parsed *p, size_t band, size_t e) {
    return buf + p->offset[2 * band + 1] + 8 * e;
}

/* Sealed: must be rejected with a message containing `part`. */
static void expect_sealed_rejected(target *t, uint8_t *copy, size_t len, const char *part) {
    reseal(copy);
    expect_rejected(t, copy, len, KNOWHERE_ERR_CORRUPT, part);
}

static void test_hostile_contents_with_valid_checksums(void) {
    size_t len = 0;
    uint8_t *buf = medium_serialized(&len);
    target t = make_target();
    uint8_t *copy = malloc(len);
    REQUIRE(copy != NULL);
    parsed p = parse(buf);
    CHECK_EQ(le32(buf + 56), 5); /* prefix bits */
    const size_t last = 32, count = 300;

    /* The re-sealing helper agrees with the library. */
    memcpy(copy, buf, len);
    reseal(copy);
    CHECK(memcmp(copy, buf, len) == 0);

    /* Directories. */
    memcpy(copy, buf, len);
    set_dir(copy, &p, 1, 0, 1);
    expect_sealed_rejected(&t, copy, len, "band 1 directory starts at 1");
    memcpy(copy, buf, len);
    set_dir(copy, &p, 0, last, count - 1);
    expect_sealed_rejected(&t, copy, len, "band 0 directory ends at 299");
    memcpy(copy, buf, len);
    set_dir(copy, &p, 2, 5, 0xFFFFFFFFu);
    expect_sealed_rejected(&t, copy, len, "band 2 directory");
    memcpy(copy, buf, len);
    {
        size_t j = 1;
        while (dir_at(buf, &p, 0, j + 1) == dir_at(buf, &p, 0, j)) j++;
        set_dir(copy, &p, 0, j, dir_at(buf, &p, 0, j + 1) + 1); /* then it decreases */
        expect_sealed_rejected(&t, copy, len, "band 0 directory decreases");
    }

    /* Entries. */
    memcpy(copy, buf, len);
    put32(entry_at(copy, &p, 1, 7) + 4, (uint32_t)count);
    expect_sealed_rejected(&t, copy, len, "not below the count");
    memcpy(copy, buf, len);
    put32(entry_at(copy, &p, 1, 7) + 4, 0xFFFFFFFFu);
    expect_sealed_rejected(&t, copy, len, "not below the count");
    memcpy(copy, buf, len);
    put32(entry_at(copy, &p, 2, 200) + 4, le32(entry_at(copy, &p, 2, 3) + 4));
    expect_sealed_rejected(&t, copy, len, "more than once");
    memcpy(copy, buf, len);
    {
        /* Swap two entries of one bucket (the big one of band 0). */
        size_t b = 0;
        while (dir_at(buf, &p, 0, b + 1) - dir_at(buf, &p, 0, b) < 2) b++;
        uint8_t tmp[8], *e0 = entry_at(copy, &p, 0, dir_at(buf, &p, 0, b));
        memcpy(tmp, e0, 8);
        memcpy(e0, e0 + 8, 8);
        memcpy(e0 + 8, tmp, 8);
        expect_sealed_rejected(&t, copy, len, "out of order");
    }

    /* Parameters (the sections stay as they were). */
    struct { size_t at, width; uint64_t value; const char *part; } params[] = {
        {16, 8, 0, "count 0"},
        {16, 8, 301, "section 'band 0 entries' is"},
        {16, 8, 0xFFFFFFFFull, "count"},
        {24, 8, 0, "mh_vec_length is 0"},
        {24, 8, 2, "bands 3 is not in 1..mh_vec_length (2)"},
        {24, 8, 1ull << 62, "rows per band"},
        {32, 8, 0, "element size 0"},
        {32, 8, 33, "element size 33"},
        {40, 8, 0, "sections"},
        {48, 8, 3, "rows per band 3"},
        {56, 4, 29, "prefix bits 29"},
        {56, 4, 6, "section 'band 0 directory' is"},
        {56, 4, 0xFFFFFFFFu, "prefix bits"},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; ++i) {
        memcpy(copy, buf, len);
        if (params[i].width == 8) put64(copy + params[i].at, params[i].value);
        else put32(copy + params[i].at, (uint32_t)params[i].value);
        expect_sealed_rejected(&t, copy, len, params[i].part);
    }
    CHECK(target_unchanged(&t));

    /* Well-formed but wrong tables: every entry moved into bucket 0 (sorted
     * there). Loading is allowed; searches must stay in bounds. */
    memcpy(copy, buf, len);
    for (size_t b = 0; b < 3; ++b) {
        for (size_t j = 1; j <= last; ++j) set_dir(copy, &p, b, j, (uint32_t)count);
        uint8_t *e = entry_at(copy, &p, b, 0);
        for (size_t i = 1; i < count; ++i) /* insertion sort by (fingerprint, id) */
            for (size_t k = i; k > 0; --k) {
                uint64_t x = (uint64_t)le32(e + 8 * k) << 32 | le32(e + 8 * k + 4);
                uint64_t y = (uint64_t)le32(e + 8 * (k - 1)) << 32 | le32(e + 8 * (k - 1) + 4);
                if (y <= x) break;
                uint8_t tmp[8];
                memcpy(tmp, e + 8 * k, 8);
                memcpy(e + 8 * k, e + 8 * (k - 1), 8);
                memcpy(e + 8 * (k - 1), tmp, 8);
            }
    }
    reseal(copy);
    knowhere_minhash_lsh *odd = knowhere_minhash_lsh_create();
    REQUIRE(odd != NULL);
    CHECK_EQ(knowhere_minhash_lsh_deserialize(odd, copy, len, NULL), KNOWHERE_OK);
    test_rng rng = {5};
    uint8_t q[12];
    int64_t ids[10];
    float distances[10];
    for (int i = 0; i < 200; ++i) {
        rng_fill(&rng, q, sizeof q);
        CHECK_EQ(knowhere_minhash_lsh_search(odd, q, 12, 10, NULL, 0, ids, distances, NULL),
                 KNOWHERE_OK);
    }
    knowhere_minhash_lsh_free(odd);

    free(copy);
    knowhere_buffer_free(buf);
    free_target(&t);
}

/* Random edits of the tables, re-sealed: each input is rejected or, when
 * it happens to be well-formed, loads and searches in bounds (the sanitizer
 * build checks the "in bounds"). */
static void test_random_sealed_edits(void) {
    size_t len = 0;
    uint8_t *buf = medium_serialized(&len);
    parsed p = parse(buf);
    uint8_t *copy = malloc(len);
    REQUIRE(copy != NULL);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    test_rng rng = {2024};
    int loaded = 0, rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        memcpy(copy, buf, len);
        int edits = 1 + (int)(rng_next(&rng) % 3);
        for (int e = 0; e < edits; ++e) {
            size_t section = rng_next(&rng) % 6; /* the tables, not the raw data */
            size_t at = p.offset[section] + (rng_next(&rng) % p.length[section]) / 4 * 4;
            uint32_t v = le32(copy + at);
            switch (rng_next(&rng) % 4) {
            case 0: v += 1; break;
            case 1: v -= 1; break;
            case 2: v = (uint32_t)rng_next(&rng); break;
            default: v = (uint32_t)(rng_next(&rng) % 310);
            }
            put32(copy + at, v);
        }
        reseal(copy);
        knowhere_error *err = NULL;
        int status = knowhere_minhash_lsh_deserialize(index, copy, len, &err);
        knowhere_error_free(err);
        CHECK(status == KNOWHERE_OK || status == KNOWHERE_ERR_CORRUPT);
        if (status == KNOWHERE_OK) {
            loaded++;
            uint8_t q[12];
            int64_t ids[8];
            float distances[8];
            for (int i = 0; i < 20; ++i) {
                rng_fill(&rng, q, sizeof q);
                if (i % 2) memcpy(q, buf + p.offset[6] + 12 * (rng_next(&rng) % 300), 12);
                CHECK_EQ(knowhere_minhash_lsh_search(index, q, 12, 8, NULL, 0, ids, distances,
                                                     NULL),
                         KNOWHERE_OK);
                for (int k = 0; k < 8; ++k) CHECK(ids[k] >= -1 && ids[k] < 300);
            }
        } else {
            rejected++;
        }
    }
    printf("  random sealed edits: %d loaded (harmless), %d rejected\n", loaded, rejected);
    CHECK(rejected > 1000);
    knowhere_minhash_lsh_free(index);
    free(copy);
    knowhere_buffer_free(buf);
}

/* ---- inputs declaring far more than they hold ------------------------------------ */

/* The head of an input of `bands` bands over `count` rows (mh_vec_length =
 * bands, one row per band, 1-byte values, prefix bits 0, no raw data)
 * whose header and checksum list are validly sealed and whose band 0
 * entries repeat id 0 at entry 1: a structural error 16 bytes into a
 * section of count * 8 bytes. The other section checksums are 0 (wrong),
 * so only reading the whole section could find that. Fills *total (the size the
 * header describes), *trailer_at, and the trailer (8 * sections + 8 bytes)
 * in `trailer`. Returns the head's length (header, band 0 directory, two
 * entries). */
enum { HOSTILE_MAX_BANDS = 2 };

static size_t hostile_head(uint64_t count, uint32_t bands, uint8_t *head, uint8_t *trailer,
                           uint64_t *total, uint64_t *trailer_at) {
    uint32_t sections = 2 * bands;
    size_t header = FIXED + 8 * (size_t)sections;
    memset(head, 0, header + 8 + 16);
    memcpy(head, "KHMHLSH", 8);
    put32(head + 8, 1);        /* format version */
    put32(head + 12, 0);       /* flags */
    put64(head + 16, count);
    put64(head + 24, bands);   /* mh_vec_length */
    put64(head + 32, 1);       /* element size */
    put64(head + 40, bands);
    put64(head + 48, 1);       /* rows per band */
    put32(head + 56, 0);       /* prefix bits: directories of 2 values */
    put32(head + 60, sections);
    uint64_t body = 0;
    for (uint32_t b = 0; b < bands; ++b) {
        put64(head + FIXED + 16 * b, 8);
        put64(head + FIXED + 16 * b + 8, count * 8);
        body += 8 + count * 8;
    }
    put32(head + header + 4, (uint32_t)count); /* band 0 directory: 0, count */
    /* entries 0 and 1: (fingerprint 0, id 0) twice */
    memset(trailer, 0, 8 * (size_t)sections + 8);
    put64(trailer, chunked_checksum(head + header, 8)); /* band 0 directory's is right */
    uint8_t meta[FIXED + 8 * 2 * HOSTILE_MAX_BANDS + 8 * 2 * HOSTILE_MAX_BANDS];
    memcpy(meta, head, header);
    memcpy(meta + header, trailer, 8 * (size_t)sections);
    put64(trailer + 8 * (size_t)sections, chunked_checksum(meta, header + 8 * (size_t)sections));
    *trailer_at = header + body;
    *total = *trailer_at + 8 * (uint64_t)sections + 8;
    return header + 8 + 16;
}

/* What a rejected load read: the progress it published (bytes). */
static uint64_t bytes_read(CInterrupt h) {
    uint64_t done = 0;
    knowhere_interrupt_progress(h, &done, NULL, NULL);
    return done;
}

/* A sparse file of 64 GiB whose sections are consistent with its size but
 * whose first table breaks 16 bytes in: rejected as corrupt after reading
 * a chunk or so, allocating no more than it read. It used to allocate
 * every section up front (here: two 32 GiB arrays, refused with "out of
 * memory") and, on a machine that grants them, to read and hash the rest
 * of the section (minutes) before reporting the error. */
static void test_sparse_file_declaring_64_gib(void) {
    uint8_t head[256], trailer[64];
    uint64_t total = 0, trailer_at = 0;
    size_t head_len =
        hostile_head(((uint64_t)1 << 32) - 2, 2, head, trailer, &total, &trailer_at);
    char path[256];
    path_in_dir(path, sizeof path, "sparse.bin");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, head, head_len) == (ssize_t)head_len);
    if (ftruncate(fd, (off_t)total) != 0) {
        printf("  skipped: this file system cannot hold a %llu-byte sparse file\n",
               (unsigned long long)total);
        close(fd);
        unlink(path);
        return;
    }
    REQUIRE(pwrite(fd, trailer, (size_t)(total - trailer_at), (off_t)trailer_at) ==
            (ssize_t)(total - trailer_at));
    REQUIRE(close(fd) == 0);

    target t = make_target();
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    knowhere_error *err = NULL;
    double start = test_now_ms();
    CHECK_EQ(knowhere_minhash_lsh_load_with_interrupt(t.index, path, h, &err), KNOWHERE_ERR_CORRUPT);
    double took = test_now_ms() - start;
    CHECK(strstr(knowhere_error_message(err), "band 0 has id 0 more than once") != NULL);
    if (!strstr(knowhere_error_message(err), "more than once"))
        fprintf(stderr, "  got: %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    uint64_t read = bytes_read(h);
    printf("  %llu-byte sparse file rejected after reading %llu bytes (%.1f ms)\n",
           (unsigned long long)total, (unsigned long long)read, took);
    CHECK(read <= 2 * CHUNK);
    CHECK(target_unchanged(&t));
    knowhere_interrupt_free(h);
    free_target(&t);
    unlink(path);
}

/* The same from memory: 64 MiB of entries whose structure breaks at entry
 * 1 are rejected after the first chunk; and a header describing more than
 * the buffer holds is rejected before anything is allocated or read. */
static void test_buffer_declaring_more_than_it_holds(void) {
    const uint64_t count = (uint64_t)1 << 23;
    uint8_t head[256], trailer[64];
    uint64_t total = 0, trailer_at = 0;
    size_t head_len = hostile_head(count, 1, head, trailer, &total, &trailer_at);
    uint8_t *buf = calloc((size_t)total, 1);
    REQUIRE(buf != NULL);
    memcpy(buf, head, head_len);
    memcpy(buf + trailer_at, trailer, (size_t)(total - trailer_at));

    target t = make_target();
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_deserialize_with_interrupt(t.index, buf, (size_t)total, h, &err),
             KNOWHERE_ERR_CORRUPT);
    CHECK(strstr(knowhere_error_message(err), "band 0 has id 0 more than once") != NULL);
    if (!strstr(knowhere_error_message(err), "more than once"))
        fprintf(stderr, "  got: %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    uint64_t read = bytes_read(h);
    printf("  %llu-byte buffer rejected after reading %llu bytes\n", (unsigned long long)total,
           (unsigned long long)read);
    CHECK(read <= 2 * CHUNK);

    /* Only the head of a 64 GiB input: truncated, nothing read past it. */
    hostile_head(((uint64_t)1 << 32) - 2, 2, head, trailer, &total, &trailer_at);
    CHECK_EQ(knowhere_minhash_lsh_deserialize_with_interrupt(t.index, head, head_len, h, &err),
             KNOWHERE_ERR_CORRUPT);
    CHECK(strstr(knowhere_error_message(err), "truncated") != NULL);
    knowhere_error_free(err);
    CHECK(bytes_read(h) <= head_len);
    CHECK(target_unchanged(&t));
    knowhere_interrupt_free(h);
    free_target(&t);
    free(buf);
}

/* ---- files -------------------------------------------------------------------------- */

static void test_file_errors(void) {
    target t = make_target();
    knowhere_error *err = NULL;
    char path[256], sub[256];

    path_in_dir(path, sizeof path, "missing.bin");
    CHECK_EQ(knowhere_minhash_lsh_load(t.index, path, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), path) != NULL);
    CHECK(strstr(knowhere_error_message(err), strerror(ENOENT)) != NULL);
    knowhere_error_free(err);

    path_in_dir(sub, sizeof sub, "a_directory");
    REQUIRE(mkdir(sub, 0755) == 0);
    CHECK_EQ(knowhere_minhash_lsh_load(t.index, sub, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), sub) != NULL);
    knowhere_error_free(err);

    path_in_dir(path, sizeof path, "empty.bin");
    write_file(path, NULL, 0);
    CHECK_EQ(knowhere_minhash_lsh_load(t.index, path, &err), KNOWHERE_ERR_CORRUPT);
    CHECK(strstr(knowhere_error_message(err), "truncated") != NULL);
    knowhere_error_free(err);

    const char *text = "# not an index\nThis is a text file, long enough to hold a header: "
                       "0123456789012345678901234567890123456789\n";
    path_in_dir(path, sizeof path, "other.txt");
    write_file(path, (const uint8_t *)text, strlen(text));
    CHECK_EQ(knowhere_minhash_lsh_load(t.index, path, &err), KNOWHERE_ERR_CORRUPT);
    CHECK(strstr(knowhere_error_message(err), "bad magic") != NULL);
    knowhere_error_free(err);
    CHECK_EQ(knowhere_minhash_lsh_deserialize(t.index, (const uint8_t *)text, 5, &err),
             KNOWHERE_ERR_CORRUPT);
    knowhere_error_free(err);

    if (geteuid() != 0) { /* root reads anything */
        size_t len = 0;
        uint8_t *buf = small_serialized(&len, NULL);
        path_in_dir(path, sizeof path, "unreadable.bin");
        write_file(path, buf, len);
        chmod(path, 0);
        CHECK_EQ(knowhere_minhash_lsh_load(t.index, path, &err), KNOWHERE_ERR_FILE);
        knowhere_error_free(err);
        knowhere_buffer_free(buf);
    }
    CHECK(target_unchanged(&t));

    /* Save: into a missing directory, over a directory. */
    snprintf(path, sizeof path, "%s/no/such/dir/x.bin", dir);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, path, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), path) != NULL);
    knowhere_error_free(err);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, sub, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), sub) != NULL);
    knowhere_error_free(err);
    rmdir(sub);

    /* Arguments and never-built indexes. */
    knowhere_minhash_lsh *empty = knowhere_minhash_lsh_create();
    REQUIRE(empty != NULL);
    path_in_dir(path, sizeof path, "never.bin");
    CHECK_EQ(knowhere_minhash_lsh_save(empty, path, &err), KNOWHERE_ERR_EMPTY_INDEX);
    CHECK(err != NULL);
    knowhere_error_free(err);
    CHECK(!file_exists(path));
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 7;
    CHECK_EQ(knowhere_minhash_lsh_serialize(empty, &out, &out_len, NULL), KNOWHERE_ERR_EMPTY_INDEX);
    CHECK(out == NULL && out_len == 0);
    CHECK_EQ(knowhere_minhash_lsh_save(NULL, path, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, NULL, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_load(NULL, path, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_load(t.index, NULL, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_serialize(t.index, NULL, &out_len, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_deserialize(t.index, NULL, 10, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_minhash_lsh_deserialize(NULL, (const uint8_t *)text, 10, NULL),
             KNOWHERE_ERR_INVALID_ARG);
    knowhere_buffer_free(NULL);
    CHECK(target_unchanged(&t));

    /* Saving over an existing file replaces it. */
    path_in_dir(path, sizeof path, "over.bin");
    write_file(path, (const uint8_t *)text, strlen(text));
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, path, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_load(empty, path, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(empty), 30);
    knowhere_minhash_lsh_free(empty);

    empty_dir();
    CHECK_EQ(stray_files(NULL), 0);
    free_target(&t);
}

/* Save replaces a regular file or creates one, and nothing else: it used to
 * rename its temporary file over whatever was at the path, so a FIFO (or,
 * for root, a device node) became a regular file. A symbolic link is
 * followed: the file it points to is replaced and the link stays. */
static void test_save_replaces_only_regular_files(void) {
    target t = make_target();
    knowhere_error *err = NULL;
    char fifo[256], link[256], real[256], dangling[256], link_to_fifo[256];
    path_in_dir(fifo, sizeof fifo, "a_fifo");
    path_in_dir(real, sizeof real, "real.bin");
    path_in_dir(link, sizeof link, "link.bin");
    path_in_dir(dangling, sizeof dangling, "dangling.bin");
    path_in_dir(link_to_fifo, sizeof link_to_fifo, "link_to_fifo");
    struct stat st;

    REQUIRE(mkfifo(fifo, 0644) == 0);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, fifo, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), fifo) != NULL);
    CHECK(strstr(knowhere_error_message(err), "FIFO") != NULL);
    printf("  %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));

    REQUIRE(symlink("a_fifo", link_to_fifo) == 0);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, link_to_fifo, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), link_to_fifo) != NULL);
    printf("  %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    CHECK(lstat(link_to_fifo, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));

    /* A link to a regular file: the file is replaced, the link stays. */
    const uint8_t old[] = "the previous contents";
    write_file(real, old, sizeof old);
    REQUIRE(symlink("real.bin", link) == 0);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, link, &err), KNOWHERE_OK);
    knowhere_error_free(err);
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
    REQUIRE(loaded != NULL);
    CHECK_EQ(knowhere_minhash_lsh_load(loaded, real, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(loaded), 30);
    knowhere_minhash_lsh_free(loaded);

    /* A link to nothing: refused (where would the file go?), nothing made. */
    REQUIRE(symlink("missing.bin", dangling) == 0);
    CHECK_EQ(knowhere_minhash_lsh_save(t.index, dangling, &err), KNOWHERE_ERR_FILE);
    CHECK(strstr(knowhere_error_message(err), dangling) != NULL);
    printf("  %s\n", knowhere_error_message(err));
    knowhere_error_free(err);
    CHECK(lstat(dangling, &st) == 0 && S_ISLNK(st.st_mode));

    CHECK_EQ(temporary_files(), 0);
    CHECK(target_unchanged(&t));
    empty_dir();
    free_target(&t);
}

/* ---- interrupts, deadlines, progress ------------------------------------------------ */

/* Big enough that save and load take well over the 50 ms callback interval. */
static knowhere_minhash_lsh *big;
static size_t big_rows;

static void make_big(size_t rows) {
    knowhere_minhash_lsh_free(big);
    test_rng rng = {77};
    uint8_t *data = random_signatures(&rng, rows, 512);
    REQUIRE(data != NULL);
    big = knowhere_minhash_lsh_create();
    REQUIRE(big != NULL);
    REQUIRE(knowhere_minhash_lsh_build(big, data, rows * 512, 128, 4, 16, true, NULL) ==
            KNOWHERE_OK);
    big_rows = rows;
    free(data);
}

static void test_progress_is_monotonic_and_complete(void) {
    char path[256];
    path_in_dir(path, sizeof path, "big.bin");
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    recorder r = recorder_new(0);
    knowhere_interrupt_set_progress(h, record, &r);
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(knowhere_minhash_lsh_save_with_interrupt(big, path, h, NULL), KNOWHERE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    uint64_t size = (uint64_t)st.st_size;
    CHECK(r.calls >= 1 && r.monotonic && r.total_stable);
    CHECK_EQ(r.total, size);
    CHECK_EQ(r.last_done, size);
    uint64_t done, total;
    int phase;
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(done == size && total == size && phase == KNOWHERE_PHASE_SAVE);
    int save_calls = r.calls;

    r = recorder_new(0);
    knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
    REQUIRE(loaded != NULL);
    CHECK_EQ(knowhere_minhash_lsh_load_with_interrupt(loaded, path, h, NULL), KNOWHERE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    CHECK(r.calls >= 1 && r.monotonic && r.total_stable);
    CHECK_EQ(r.total, size);
    CHECK_EQ(r.last_done, size);
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(done == size && total == size && phase == KNOWHERE_PHASE_LOAD);
    CHECK_EQ(knowhere_minhash_lsh_count(loaded), big_rows);
    printf("  %llu bytes: save %.0f ms (%d callbacks), load %.0f ms (%d callbacks)\n",
           (unsigned long long)size,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           save_calls,
           (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6,
           r.calls);

    /* serialize and deserialize report the same phases and units. */
    uint8_t *buf = NULL;
    size_t len = 0;
    r = recorder_new(0);
    CHECK_EQ(knowhere_minhash_lsh_serialize_with_interrupt(big, &buf, &len, h, NULL), KNOWHERE_OK);
    CHECK(len == size && r.last_done == size && r.monotonic);
    r = recorder_new(0);
    CHECK_EQ(knowhere_minhash_lsh_deserialize_with_interrupt(loaded, buf, len, h, NULL),
             KNOWHERE_OK);
    CHECK(r.last_done == size && r.monotonic);
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(done == size && phase == KNOWHERE_PHASE_LOAD);
    knowhere_buffer_free(buf);

    knowhere_minhash_lsh_free(loaded);
    knowhere_interrupt_free(h);
    unlink(path);
}

static void test_interrupted_save_leaves_no_file(void) {
    char path[256];
    path_in_dir(path, sizeof path, "interrupted.bin");
    knowhere_error *err = NULL;

    /* Interrupted before it starts. */
    CInterrupt h = knowhere_interrupt_create_with_state(true);
    REQUIRE(h != NULL);
    CHECK_EQ(knowhere_minhash_lsh_save_with_interrupt(big, path, h, &err), KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && strstr(knowhere_error_message(err), "interrupted"));
    knowhere_error_free(err);
    uint8_t *buf = (uint8_t *)1;
    size_t len = 1;
    CHECK_EQ(knowhere_minhash_lsh_serialize_with_interrupt(big, &buf, &len, h, NULL),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(buf == NULL && len == 0);
    knowhere_interrupt_free(h);
    CHECK(!file_exists(path));
    CHECK_EQ(stray_files(NULL), 0);

    /* An existing file at the path stays as it was. */
    const uint8_t old[] = "the previous contents";
    write_file(path, old, sizeof old);

    /* Stopped by the progress callback, partway. */
    for (int attempt = 0; attempt < 4; ++attempt) {
        h = knowhere_interrupt_create();
        REQUIRE(h != NULL);
        recorder r = recorder_new(1);
        knowhere_interrupt_set_progress(h, record, &r);
        int status = knowhere_minhash_lsh_save_with_interrupt(big, path, h, &err);
        knowhere_error_free(err);
        knowhere_interrupt_free(h);
        if (!r.stopped_partway) { /* too fast for a callback before the end: grow */
            CHECK_EQ(status, KNOWHERE_OK);
            write_file(path, old, sizeof old);
            printf("  save too fast for a partway callback at %zu rows; doubling\n", big_rows);
            make_big(big_rows * 2);
            continue;
        }
        CHECK_EQ(status, KNOWHERE_ERR_INTERRUPTED);
        CHECK_EQ(r.calls, 1);
        size_t got_len = 0;
        uint8_t *got = read_file(path, &got_len);
        CHECK(got_len == sizeof old && memcmp(got, old, sizeof old) == 0);
        free(got);
        CHECK_EQ(stray_files("interrupted.bin"), 0);

        /* The same for serialize. */
        h = knowhere_interrupt_create();
        r = recorder_new(1);
        knowhere_interrupt_set_progress(h, record, &r);
        status = knowhere_minhash_lsh_serialize_with_interrupt(big, &buf, &len, h, NULL);
        if (r.stopped_partway) CHECK(status == KNOWHERE_ERR_INTERRUPTED && buf == NULL);
        else knowhere_buffer_free(buf);
        knowhere_interrupt_free(h);
        break;
    }

    /* A deadline. */
    h = knowhere_interrupt_create_with_timeout(1);
    REQUIRE(h != NULL);
    CHECK_EQ(knowhere_minhash_lsh_save_with_interrupt(big, path, h, &err), KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strstr(knowhere_error_message(err), "timed out"));
    knowhere_error_free(err);
    knowhere_interrupt_free(h);
    h = knowhere_interrupt_create_with_timeout(1);
    CHECK_EQ(knowhere_minhash_lsh_serialize_with_interrupt(big, &buf, &len, h, NULL),
             KNOWHERE_ERR_TIMEOUT);
    knowhere_interrupt_free(h);
    CHECK_EQ(stray_files("interrupted.bin"), 0);
    unlink(path);
    CHECK_EQ(stray_files(NULL), 0);
}

static void test_interrupted_load_leaves_index_unchanged(void) {
    char path[256];
    path_in_dir(path, sizeof path, "big.bin");
    REQUIRE(knowhere_minhash_lsh_save(big, path, NULL) == KNOWHERE_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    REQUIRE(knowhere_minhash_lsh_serialize(big, &buf, &len, NULL) == KNOWHERE_OK);
    target t = make_target();
    knowhere_error *err = NULL;

    CInterrupt h = knowhere_interrupt_create_with_state(true);
    CHECK_EQ(knowhere_minhash_lsh_load_with_interrupt(t.index, path, h, &err),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && strstr(knowhere_error_message(err), "load interrupted"));
    knowhere_error_free(err);
    CHECK_EQ(knowhere_minhash_lsh_deserialize_with_interrupt(t.index, buf, len, h, NULL),
             KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_free(h);
    CHECK(target_unchanged(&t));

    for (int from_file = 0; from_file < 2; ++from_file) {
        h = knowhere_interrupt_create();
        recorder r = recorder_new(1);
        knowhere_interrupt_set_progress(h, record, &r);
        int status = from_file
                         ? knowhere_minhash_lsh_load_with_interrupt(t.index, path, h, NULL)
                         : knowhere_minhash_lsh_deserialize_with_interrupt(t.index, buf, len, h,
                                                                           NULL);
        knowhere_interrupt_free(h);
        if (r.stopped_partway) {
            CHECK_EQ(status, KNOWHERE_ERR_INTERRUPTED);
            CHECK(target_unchanged(&t));
        } else { /* too fast for a partway callback: it loaded; put the target back */
            printf("  %s too fast for a partway callback\n", from_file ? "load" : "deserialize");
            CHECK_EQ(status, KNOWHERE_OK);
            free_target(&t);
            t = make_target();
        }
    }

    h = knowhere_interrupt_create_with_timeout(1);
    CHECK_EQ(knowhere_minhash_lsh_load_with_interrupt(t.index, path, h, &err),
             KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strstr(knowhere_error_message(err), "load timed out"));
    knowhere_error_free(err);
    knowhere_interrupt_free(h);
    h = knowhere_interrupt_create_with_timeout(1);
    CHECK_EQ(knowhere_minhash_lsh_deserialize_with_interrupt(t.index, buf, len, h, NULL),
             KNOWHERE_ERR_TIMEOUT);
    knowhere_interrupt_free(h);
    CHECK(target_unchanged(&t));

    /* A loaded big index answers as the original. */
    CHECK_EQ(knowhere_minhash_lsh_load(t.index, path, NULL), KNOWHERE_OK);
    test_rng rng = {3};
    uint8_t *queries = malloc(64 * 512);
    REQUIRE(queries != NULL);
    int64_t id = 0;
    for (size_t i = 0; i < 64; ++i, id = (int64_t)(rng_next(&rng) % big_rows))
        CHECK_EQ(knowhere_minhash_lsh_get_vector_by_ids(big, &id, 1, queries + i * 512, 512, NULL),
                 KNOWHERE_OK);
    check_same_answers(big, t.index, queries, 64);
    free(queries);

    knowhere_buffer_free(buf);
    free_target(&t);
    unlink(path);
}

/* ---- the guard ------------------------------------------------------------------------ */

typedef struct {
    knowhere_minhash_lsh *index;
    const char *path, *other_path;
    int load_status, deserialize_status, save_status, add_status, remove_status;
    const uint8_t *bytes, *row;
    size_t len, row_len;
} guard_probe;

/* Runs at the end of a batch search, inside its reader guard. (The header
 * asks callbacks not to call back into the index; the guard makes it safe,
 * and it is the one deterministic way to meet a running search.) */
static int probe_during_search(void *user, uint64_t done, uint64_t total) {
    guard_probe *g = user;
    if (done == total) {
        int64_t id = 0;
        g->load_status = knowhere_minhash_lsh_load(g->index, g->path, NULL);
        g->add_status = knowhere_minhash_lsh_add(g->index, g->row, g->row_len, NULL);
        g->remove_status = knowhere_minhash_lsh_remove(g->index, &id, 1, NULL, NULL);
        g->save_status = knowhere_minhash_lsh_save(g->index, g->other_path, NULL);
        g->deserialize_status = knowhere_minhash_lsh_deserialize(g->index, g->bytes, g->len, NULL);
    }
    return 0;
}

/* Runs at the end of a load, inside its writer guard (the state it loaded
 * is not yet swapped in). */
static int probe_during_load(void *user, uint64_t done, uint64_t total) {
    guard_probe *g = user;
    if (done == total) {
        int64_t id = 0;
        g->save_status = knowhere_minhash_lsh_save(g->index, g->other_path, NULL);
        g->load_status = knowhere_minhash_lsh_load(g->index, g->path, NULL);
        g->add_status = knowhere_minhash_lsh_add(g->index, g->row, g->row_len, NULL);
        g->remove_status = knowhere_minhash_lsh_remove(g->index, &id, 1, NULL, NULL);
    }
    return 0;
}

/* A build, load or deserialize replaces the index while searches and saves
 * go on with the state they started with (freed by the last of them); add
 * and remove, which change that state, are BUSY against them, and writers
 * are BUSY against each other. */
static void test_guard(void) {
    target t = make_target();
    char path[256], other[256];
    path_in_dir(path, sizeof path, "guard.bin");
    path_in_dir(other, sizeof other, "guard-other.bin");
    REQUIRE(knowhere_minhash_lsh_save(t.index, path, NULL) == KNOWHERE_OK);
    size_t len = 0;
    uint8_t *bytes = small_serialized(&len, NULL);

    guard_probe g = {.index = t.index, .path = path, .other_path = other, .bytes = bytes,
                     .len = len, .row = t.data, .row_len = 24};
    CInterrupt h = knowhere_interrupt_create();
    knowhere_interrupt_set_progress(h, probe_during_search, &g);
    int64_t ids[5 * 5];
    float distances[5 * 5];
    CHECK_EQ(knowhere_minhash_lsh_batch_search_with_interrupt(t.index, t.data, 5 * 24, 5, 5, NULL,
                                                              0, ids, distances, h, NULL),
             KNOWHERE_OK);
    CHECK_EQ(g.load_status, KNOWHERE_OK);
    CHECK_EQ(g.add_status, KNOWHERE_ERR_BUSY);
    CHECK_EQ(g.remove_status, KNOWHERE_ERR_BUSY);
    CHECK_EQ(g.save_status, KNOWHERE_OK);
    CHECK_EQ(g.deserialize_status, KNOWHERE_OK);
    /* the search answered from the state it started with */
    CHECK(memcmp(ids, t.ids, sizeof ids) == 0 && memcmp(distances, t.distances, sizeof distances) == 0);
    CHECK_EQ(knowhere_minhash_lsh_count(t.index), 20); /* the deserialized small index */
    knowhere_minhash_lsh *saved = knowhere_minhash_lsh_create(); /* what the save saw: the load's */
    REQUIRE(saved && knowhere_minhash_lsh_load(saved, other, NULL) == KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(saved), 30);
    knowhere_minhash_lsh_free(saved);

    g = (guard_probe){.index = t.index, .path = path, .other_path = other, .row = bytes,
                      .row_len = 16};
    knowhere_interrupt_set_progress(h, probe_during_load, &g);
    CHECK_EQ(knowhere_minhash_lsh_load_with_interrupt(t.index, path, h, NULL), KNOWHERE_OK);
    CHECK_EQ(g.save_status, KNOWHERE_OK); /* saved the state before the load: the small one */
    CHECK_EQ(g.load_status, KNOWHERE_ERR_BUSY);
    CHECK_EQ(g.add_status, KNOWHERE_ERR_BUSY);
    CHECK_EQ(g.remove_status, KNOWHERE_ERR_BUSY);
    CHECK(target_unchanged(&t)); /* the loaded target */
    saved = knowhere_minhash_lsh_create();
    REQUIRE(saved && knowhere_minhash_lsh_load(saved, other, NULL) == KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_count(saved), 20);
    knowhere_minhash_lsh_free(saved);
    knowhere_interrupt_free(h);

    knowhere_buffer_free(bytes);
    unlink(path);
    unlink(other);
    free_target(&t);
}

/* Application data: saved and loaded with the index, copied out with the
 * size protocol, kept by add and remove, cleared by build; an index without
 * it serializes exactly as before; damage to it is caught. */
static void test_app_data(void) {
    size_t plain_len = 0;
    uint8_t *data = NULL;
    uint8_t *plain = small_serialized(&plain_len, &data);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    size_t len = 99;
    CHECK_EQ(knowhere_minhash_lsh_set_app_data(index, (const uint8_t *)"x", 1, NULL),
             KNOWHERE_ERR_EMPTY_INDEX);
    REQUIRE(knowhere_minhash_lsh_deserialize(index, plain, plain_len, NULL) == KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_get_app_data(index, NULL, 0, &len, NULL), KNOWHERE_OK);
    CHECK_EQ(len, 0);

    uint8_t app[1000];
    for (size_t i = 0; i < sizeof app; ++i) app[i] = (uint8_t)(i * 7 + 3);
    CHECK_EQ(knowhere_minhash_lsh_set_app_data(index, app, sizeof app, NULL), KNOWHERE_OK);
    uint8_t *with = NULL;
    size_t with_len = 0;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &with, &with_len, NULL) == KNOWHERE_OK);
    CHECK_EQ(with_len, plain_len + sizeof app + 16); /* the section, its length and checksum */

    knowhere_minhash_lsh *loaded = knowhere_minhash_lsh_create();
    REQUIRE(loaded != NULL);
    CHECK_EQ(knowhere_minhash_lsh_deserialize(loaded, with, with_len, NULL), KNOWHERE_OK);
    uint8_t back[1000];
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_get_app_data(loaded, back, 10, &len, &err), KNOWHERE_ERR_OVERFLOW);
    CHECK(err && strstr(knowhere_error_message(err), "1000 bytes") != NULL);
    knowhere_error_free(err);
    CHECK_EQ(len, sizeof app);
    CHECK_EQ(knowhere_minhash_lsh_get_app_data(loaded, back, sizeof back, &len, NULL), KNOWHERE_OK);
    CHECK(len == sizeof app && memcmp(back, app, sizeof app) == 0);

    /* add and remove keep it; the file round trip too */
    const int64_t gone[] = {3};
    CHECK_EQ(knowhere_minhash_lsh_add(loaded, data, 16, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_remove(loaded, gone, 1, NULL, NULL), KNOWHERE_OK);
    char path[256];
    path_in_dir(path, sizeof path, "app.bin");
    CHECK_EQ(knowhere_minhash_lsh_save(loaded, path, NULL), KNOWHERE_OK);
    knowhere_minhash_lsh *from_file = knowhere_minhash_lsh_create();
    REQUIRE(from_file != NULL);
    CHECK_EQ(knowhere_minhash_lsh_load(from_file, path, NULL), KNOWHERE_OK);
    memset(back, 0, sizeof back);
    CHECK_EQ(knowhere_minhash_lsh_get_app_data(from_file, back, sizeof back, &len, NULL), KNOWHERE_OK);
    CHECK(len == sizeof app && memcmp(back, app, sizeof app) == 0);
    unlink(path);

    /* Every byte of the section, and of its length, is covered by the checksums. */
    size_t rejected = 0, tried = 0;
    for (size_t at = plain_len - 8; at < with_len; at += 37, ++tried) {
        uint8_t *copy = malloc(with_len);
        REQUIRE(copy != NULL);
        memcpy(copy, with, with_len);
        copy[at] ^= 0x10;
        knowhere_minhash_lsh *victim = knowhere_minhash_lsh_create();
        REQUIRE(victim != NULL);
        rejected += knowhere_minhash_lsh_deserialize(victim, copy, with_len, NULL) ==
                    KNOWHERE_ERR_CORRUPT;
        knowhere_minhash_lsh_free(victim);
        free(copy);
    }
    CHECK_EQ(rejected, tried);

    /* Removing it gives the plain bytes back; a build clears it. */
    CHECK_EQ(knowhere_minhash_lsh_set_app_data(index, NULL, 0, NULL), KNOWHERE_OK);
    uint8_t *again = NULL;
    size_t again_len = 0;
    REQUIRE(knowhere_minhash_lsh_serialize(index, &again, &again_len, NULL) == KNOWHERE_OK);
    CHECK(again_len == plain_len && memcmp(again, plain, plain_len) == 0);
    CHECK_EQ(knowhere_minhash_lsh_build(from_file, data, 20 * 16, 8, 2, 2, true, NULL), KNOWHERE_OK);
    CHECK_EQ(knowhere_minhash_lsh_get_app_data(from_file, NULL, 0, &len, NULL), KNOWHERE_OK);
    CHECK_EQ(len, 0);

    knowhere_buffer_free(again);
    knowhere_buffer_free(with);
    knowhere_buffer_free(plain);
    knowhere_minhash_lsh_free(from_file);
    knowhere_minhash_lsh_free(loaded);
    knowhere_minhash_lsh_free(index);
    free(data);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/kh-serialize-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    RUN(test_round_trips);
    RUN(test_app_data);
    RUN(test_every_byte_flip_is_rejected);
    RUN(test_every_truncation_is_rejected);
    RUN(test_messages_name_the_damage);
    RUN(test_hostile_contents_with_valid_checksums);
    RUN(test_random_sealed_edits);
    RUN(test_sparse_file_declaring_64_gib);
    RUN(test_buffer_declaring_more_than_it_holds);
    RUN(test_file_errors);
    RUN(test_save_replaces_only_regular_files);
    make_big(300000);
    RUN(test_progress_is_monotonic_and_complete);
    RUN(test_interrupted_save_leaves_no_file);
    RUN(test_interrupted_load_leaves_index_unchanged);
    RUN(test_guard);
    knowhere_minhash_lsh_free(big);
    CHECK_EQ(stray_files(NULL), 0);
    empty_dir();
    rmdir(dir);
    return CHECK_DONE();
}
