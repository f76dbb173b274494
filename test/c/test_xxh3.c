/* kh_xxh3_64 (native/xxh3.c) against reference values of `xxhsum -H3`
 * (test/c/xxh3_vectors.h, made by scripts/gen-xxh3-vectors.sh).
 *
 * With XXHSUM=/path/to/xxhsum in the environment, random inputs are also
 * cross-checked live against that program; without it that part is skipped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "xxh3.h"
#include "xxh3_vectors.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_MISALIGN 7

static unsigned char *seq;   /* the vector byte sequence */
static size_t seq_len;

static void fill_sequence(unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((uint32_t)(i * 2654435761u) >> 13);
}

/* CHECK(got == want), printing both in hex on a mismatch. */
static void check_hash(const char *what, size_t len, size_t offset,
                       uint64_t got, uint64_t want) {
    if (got != want)
        fprintf(stderr, "%s: len %zu offset %zu: got %016" PRIx64
                        ", want %016" PRIx64 "\n",
                what, len, offset, got, want);
    CHECK(got == want);
}

static void setup(void) {
    for (size_t i = 0; i < COUNT(xxh3_seq_vectors); i++)
        if (xxh3_seq_vectors[i].len > seq_len)
            seq_len = xxh3_seq_vectors[i].len;
    seq = malloc(seq_len + 1);
    REQUIRE(seq != NULL);
    fill_sequence(seq, seq_len);
}

static void test_sequence_covers_all_bytes(void) {
    /* The generator's promise: the first 1024 bytes take every value. */
    int seen[256] = {0};
    REQUIRE(seq_len >= 1024);
    for (size_t i = 0; i < 1024; i++)
        seen[seq[i]] = 1;
    for (int v = 0; v < 256; v++)
        CHECK(seen[v]);
}

static void test_vectors(void) {
    CHECK(COUNT(xxh3_seq_vectors) >= 1025);
    for (size_t i = 0; i < COUNT(xxh3_seq_vectors); i++) {
        size_t len = xxh3_seq_vectors[i].len;
        check_hash("sequence", len, 0, kh_xxh3_64(seq, len),
                   xxh3_seq_vectors[i].hash);
    }
}

/* kh_xxh3_64_many (which sorts each block of 64 by length class) against
 * the reference values: inputs of every vector length in a scrambled order,
 * at different offsets, in calls of 0, 1, 5, 64, 65, 130 and all inputs. */
static void test_many(void) {
    size_t n = COUNT(xxh3_seq_vectors);
    const unsigned char **inputs = malloc(n * sizeof *inputs);
    size_t *lens = malloc(n * sizeof *lens), *which = malloc(n * sizeof *which);
    uint64_t *out = malloc((n + 1) * sizeof *out);
    unsigned char *copies = malloc(n * (seq_len + 8));
    REQUIRE(inputs && lens && which && out && copies);
    for (size_t i = 0; i < n; i++) {
        which[i] = (i * 7919u) % n; /* a permutation: 7919 is a prime above n */
        size_t len = xxh3_seq_vectors[which[i]].len, offset = i % MAX_MISALIGN;
        unsigned char *copy = copies + i * (seq_len + 8);
        memcpy(copy + offset, seq, len);
        inputs[i] = copy + offset;
        lens[i] = len;
    }
    const size_t sizes[] = {0, 1, 5, 64, 65, 130, n};
    for (size_t s = 0; s < COUNT(sizes); s++) {
        size_t m = sizes[s] < n ? sizes[s] : n;
        out[m] = 0xABCDEF; /* nothing written beyond */
        kh_xxh3_64_many(inputs, lens, m, out);
        for (size_t i = 0; i < m; i++)
            check_hash("many", lens[i], i % MAX_MISALIGN, out[i], xxh3_seq_vectors[which[i]].hash);
        CHECK(out[m] == 0xABCDEF);
    }
    free(inputs);
    free(lens);
    free(which);
    free(out);
    free(copies);
}

/* kh_xxh3_64_strided against the reference values: n rows holding the
 * vector's bytes at a stride of len (packed, as a signature's bands) and
 * of len + 3 (misaligned rows), then rows of different bytes against one
 * kh_xxh3_64 call each, for every length of the vectors. */
static void test_strided(void) {
    enum { ROWS = 9 };
    for (size_t v = 0; v < COUNT(xxh3_seq_vectors); v++) {
        size_t len = xxh3_seq_vectors[v].len;
        for (size_t pad = 0; pad <= 3; pad += 3) {
            size_t stride = len + pad;
            unsigned char *rows = malloc(ROWS * stride + 1);
            uint64_t out[ROWS + 1];
            REQUIRE(rows);
            for (size_t r = 0; r < ROWS; r++) memcpy(rows + 1 + r * stride, seq, len);
            out[ROWS] = 0xABCDEF;
            kh_xxh3_64_strided(rows + 1, stride, len, ROWS, out);
            for (size_t r = 0; r < ROWS; r++) check_hash("strided", len, 1, out[r], xxh3_seq_vectors[v].hash);
            CHECK(out[ROWS] == 0xABCDEF);
            for (size_t i = 0; i < ROWS * stride + 1; i++) rows[i] = (unsigned char)(i * 131 + v);
            kh_xxh3_64_strided(rows + 1, stride, len, ROWS, out);
            for (size_t r = 0; r < ROWS; r++)
                check_hash("strided, different rows", len, 1, out[r], kh_xxh3_64(rows + 1 + r * stride, len));
            free(rows);
        }
    }
}

static void test_empty_input_may_be_null(void) {
    check_hash("NULL", 0, 0, kh_xxh3_64(NULL, 0), UINT64_C(0x2d06800538d394c2));
}

/* The same bytes at offsets 1..7 of a buffer (every alignment), with a
 * distinct byte around them that must not take part in the hash. */
static void test_misaligned(void) {
    unsigned char *buf = malloc(seq_len + 2 * MAX_MISALIGN + 1);
    REQUIRE(buf != NULL);
    for (size_t off = 1; off <= MAX_MISALIGN; off++) {
        memset(buf, 0xA5, seq_len + 2 * MAX_MISALIGN + 1);
        memcpy(buf + off, seq, seq_len);
        for (size_t i = 0; i < COUNT(xxh3_seq_vectors); i++) {
            size_t len = xxh3_seq_vectors[i].len;
            unsigned char saved = buf[off + len];
            buf[off + len] = (unsigned char)~buf[off + len]; /* past the end */
            check_hash("misaligned", len, off, kh_xxh3_64(buf + off, len),
                       xxh3_seq_vectors[i].hash);
            buf[off + len] = saved;
        }
    }
    free(buf);
}

static void check_fill(const char *what, const struct xxh3_vector *v,
                       size_t n, unsigned char byte) {
    for (size_t i = 0; i < n; i++) {
        size_t len = v[i].len;
        unsigned char *buf = malloc(len + MAX_MISALIGN + 1);
        REQUIRE(buf != NULL);
        for (size_t off = 0; off <= MAX_MISALIGN; off += 3) {
            memset(buf, byte ^ 0x5A, len + MAX_MISALIGN + 1);
            memset(buf + off, byte, len);
            check_hash(what, len, off, kh_xxh3_64(buf + off, len), v[i].hash);
        }
        free(buf);
    }
}

static void test_all_zero_and_all_ff(void) {
    check_fill("all-0x00", xxh3_zero_vectors, COUNT(xxh3_zero_vectors), 0x00);
    check_fill("all-0xFF", xxh3_ff_vectors, COUNT(xxh3_ff_vectors), 0xFF);
}

/* A single changed byte anywhere changes the hash (for these inputs). */
static void test_every_byte_counts(void) {
    static const size_t lens[] = {1, 3, 4, 8, 9, 16, 17, 100, 128, 129, 240,
                                  241, 512, 1024, 1025, 2048};
    for (size_t k = 0; k < COUNT(lens); k++) {
        size_t len = lens[k];
        unsigned char *buf = malloc(len);
        REQUIRE(buf != NULL);
        memcpy(buf, seq, len);
        uint64_t base = kh_xxh3_64(buf, len);
        for (size_t i = 0; i < len; i++) {
            buf[i] ^= 0x01;
            if (kh_xxh3_64(buf, len) == base) {
                fprintf(stderr, "len %zu: flipping byte %zu keeps the hash\n",
                        len, i);
                CHECK(0);
            }
            buf[i] ^= 0x01;
        }
        free(buf);
    }
}

/* ---- optional live cross-check against $XXHSUM ---------------------------- */

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The 16 hex digits in xxhsum's output line (any output style). */
static int parse_hash(const char *line, uint64_t *out) {
    for (const char *p = line; *p; p++) {
        size_t n = strspn(p, "0123456789abcdefABCDEF");
        if (n == 16) {
            char hex[17];
            memcpy(hex, p, 16);
            hex[16] = '\0';
            *out = (uint64_t)strtoull(hex, NULL, 16);
            return 1;
        }
        if (n > 0)
            p += n - 1;
    }
    return 0;
}

static int live_hash(const char *xxhsum, const unsigned char *data, size_t len,
                     uint64_t *out) {
    char path[] = "/tmp/knowhere_xxh3_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    int ok = 0;
    if (done == len) {
        char cmd[4096];
        int n = snprintf(cmd, sizeof cmd, "'%s' -H3 - < '%s'", xxhsum, path);
        if (n > 0 && (size_t)n < sizeof cmd) {
            FILE *f = popen(cmd, "r");
            if (f) {
                char line[512];
                if (fgets(line, sizeof line, f))
                    ok = parse_hash(line, out);
                if (pclose(f) != 0)
                    ok = 0;
            }
        }
    }
    unlink(path);
    return ok;
}

static void test_live_xxhsum(void) {
    const char *xxhsum = getenv("XXHSUM");
    if (!xxhsum || !*xxhsum)
        return; /* optional: skipped silently */
    REQUIRE(strchr(xxhsum, '\'') == NULL);
    enum { ROUNDS = 50, MAX_LEN = 5000 };
    unsigned char *buf = malloc(MAX_LEN);
    REQUIRE(buf != NULL);
    for (int r = 0; r < ROUNDS; r++) {
        /* Mostly the short and medium ranges, sometimes long inputs. */
        size_t len = (size_t)(rng_next() % (r % 4 == 3 ? MAX_LEN : 300));
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rng_next();
        uint64_t want = 0;
        int ok = live_hash(xxhsum, buf, len, &want);
        if (!ok)
            fprintf(stderr, "cannot run or parse '%s -H3'\n", xxhsum);
        CHECK(ok);
        if (ok)
            check_hash("live xxhsum", len, 0, kh_xxh3_64(buf, len), want);
    }
    free(buf);
}

int main(void) {
    setup();
    RUN(test_sequence_covers_all_bytes);
    RUN(test_vectors);
    RUN(test_many);
    RUN(test_strided);
    RUN(test_empty_input_may_be_null);
    RUN(test_misaligned);
    RUN(test_all_zero_and_all_ff);
    RUN(test_every_byte_counts);
    RUN(test_live_xxhsum);
    free(seq);
    return CHECK_DONE();
}
