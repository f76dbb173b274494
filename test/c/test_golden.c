/* Golden signatures: the library gives, for every text and scheme of
 * test/golden/signatures.txt (written by scripts/gen-golden.py from the
 * independent Python implementation of docs/signatures.md), exactly the
 * recorded signature bytes, shingle count and band keys, one document at a
 * time and in batches on 1 and 3 threads; the file's scheme version is the
 * library's. ctest runs it at every SIMD level (KNOWHERE_SIMD). A change of
 * the hashing fails here until the file is regenerated and
 * KNOWHERE_SIGNATURE_SCHEME_VERSION bumped. */
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"

enum { MAX_DOCS = 64, MAX_SCHEMES = 8, MAX_LINE = 8192, MAX_SIG = 512, MAX_BANDS = 64 };

typedef struct {
    uint8_t bytes[MAX_LINE / 2];
    size_t len;
} golden_doc;

typedef struct {
    char name[64];
    knowhere_signature_options options;
    size_t bands;
    size_t count[MAX_DOCS];
    uint8_t sig[MAX_DOCS][MAX_SIG];
    uint64_t keys[MAX_DOCS][MAX_BANDS];
    bool seen_sig[MAX_DOCS], seen_keys[MAX_DOCS];
} golden_scheme;

static golden_doc docs[MAX_DOCS];
static size_t ndocs;
static golden_scheme schemes[MAX_SCHEMES];
static size_t nschemes;
static unsigned file_version;

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
    if (strcmp(hex, "-") == 0) return 0;
    size_t n = strlen(hex) / 2;
    REQUIRE(n <= cap && strlen(hex) % 2 == 0);
    for (size_t i = 0; i < n; ++i) {
        unsigned v = 0;
        REQUIRE(sscanf(hex + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static golden_scheme *scheme_named(const char *name) {
    for (size_t i = 0; i < nschemes; ++i)
        if (strcmp(schemes[i].name, name) == 0) return &schemes[i];
    REQUIRE(!"a sig or keys line names an unknown scheme");
    return NULL;
}

static void parse_line(char *line) {
    char word[16], name[64], hex[MAX_LINE];
    if (line[0] == '#' || line[0] == '\n') return;
    REQUIRE(sscanf(line, "%15s", word) == 1);
    if (strcmp(word, "version") == 0) {
        REQUIRE(sscanf(line, "version %u", &file_version) == 1);
    } else if (strcmp(word, "doc") == 0) {
        size_t i;
        REQUIRE(sscanf(line, "doc %zu %8191s", &i, hex) == 2 && i == ndocs && i < MAX_DOCS);
        docs[ndocs].len = unhex(hex, docs[ndocs].bytes, sizeof docs[ndocs].bytes);
        ndocs++;
    } else if (strcmp(word, "scheme") == 0) {
        REQUIRE(nschemes < MAX_SCHEMES);
        golden_scheme *s = &schemes[nschemes++];
        char kind[16];
        unsigned size, k, vb, keep;
        unsigned long long seed;
        REQUIRE(sscanf(line, "scheme %63s %15s %u %u %u %llu %u %zu", s->name, kind, &size, &k, &vb,
                       &seed, &keep, &s->bands) == 8);
        knowhere_signature_options_init(&s->options);
        s->options.shingle_kind = strcmp(kind, "chars") == 0 ? KNOWHERE_SHINGLE_CHARS
                                                             : KNOWHERE_SHINGLE_WORDS;
        s->options.shingle_size = size;
        s->options.num_hashes = k;
        s->options.value_bytes = vb;
        s->options.seed = seed;
        s->options.flags = keep ? KNOWHERE_SIGNATURE_KEEP_CASE : 0;
        REQUIRE(k * vb <= MAX_SIG && s->bands <= MAX_BANDS);
    } else if (strcmp(word, "sig") == 0) {
        size_t i, count;
        REQUIRE(sscanf(line, "sig %63s %zu %zu %8191s", name, &i, &count, hex) == 4 && i < ndocs);
        golden_scheme *s = scheme_named(name);
        REQUIRE(unhex(hex, s->sig[i], MAX_SIG) == s->options.num_hashes * s->options.value_bytes);
        s->count[i] = count;
        s->seen_sig[i] = true;
    } else if (strcmp(word, "keys") == 0) {
        size_t i;
        int used = 0;
        REQUIRE(sscanf(line, "keys %63s %zu %n", name, &i, &used) == 2 && i < ndocs);
        golden_scheme *s = scheme_named(name);
        const char *p = line + used;
        for (size_t b = 0; b < s->bands; ++b) {
            unsigned long long key;
            int n = 0;
            REQUIRE(sscanf(p, "%llx%n", &key, &n) == 1);
            s->keys[i][b] = key;
            p += n;
        }
        s->seen_keys[i] = true;
    } else {
        REQUIRE(!"an unknown line in the golden file");
    }
}

static void load_golden(void) {
    FILE *f = fopen(GOLDEN_FILE, "r");
    if (f == NULL) fprintf(stderr, "cannot open %s\n", GOLDEN_FILE);
    REQUIRE(f != NULL);
    static char line[MAX_LINE + 256];
    while (fgets(line, sizeof line, f)) parse_line(line);
    fclose(f);
    REQUIRE(ndocs >= 10 && nschemes >= 2);
    for (size_t s = 0; s < nschemes; ++s)
        for (size_t i = 0; i < ndocs; ++i)
            REQUIRE(schemes[s].seen_sig[i] && schemes[s].seen_keys[i]);
}

static void test_version(void) { CHECK_EQ(file_version, KNOWHERE_SIGNATURE_SCHEME_VERSION); }

static void test_one_at_a_time(void) {
    for (size_t s = 0; s < nschemes; ++s) {
        const golden_scheme *g = &schemes[s];
        size_t sig_bytes = g->options.num_hashes * g->options.value_bytes;
        for (size_t i = 0; i < ndocs; ++i) {
            uint8_t out[MAX_SIG];
            size_t shingles = 0;
            CHECK_EQ(knowhere_signature_from_text(&g->options, (const char *)docs[i].bytes,
                                                  docs[i].len, out, sizeof out, &shingles, NULL),
                     KNOWHERE_OK);
            CHECK_EQ(shingles, g->count[i]);
            if (memcmp(out, g->sig[i], sig_bytes) != 0) {
                fprintf(stderr, "scheme %s, document %zu: the signature differs\n", g->name, i);
                check_failures++;
            }
            uint64_t keys[MAX_BANDS];
            CHECK_EQ(knowhere_lsh_band_keys(g->sig[i], sig_bytes, g->options.num_hashes,
                                            g->options.value_bytes, g->bands, keys, MAX_BANDS, NULL),
                     KNOWHERE_OK);
            for (size_t b = 0; b < g->bands; ++b) {
                if (keys[b] == g->keys[i][b]) continue;
                fprintf(stderr, "scheme %s, document %zu: band key %zu differs\n", g->name, i, b);
                check_failures++;
            }
        }
    }
}

static void test_batches(void) {
    static char texts[MAX_DOCS * (MAX_LINE / 2)];
    uint64_t offsets[MAX_DOCS + 1] = {0};
    for (size_t i = 0; i < ndocs; ++i) {
        memcpy(texts + offsets[i], docs[i].bytes, docs[i].len);
        offsets[i + 1] = offsets[i] + docs[i].len;
    }
    static uint8_t out[MAX_DOCS * MAX_SIG];
    uint32_t counts[MAX_DOCS];
    for (size_t s = 0; s < nschemes; ++s) {
        const golden_scheme *g = &schemes[s];
        size_t sig_bytes = g->options.num_hashes * g->options.value_bytes;
        for (size_t threads = 1; threads <= 3; threads += 2) {
            memset(out, 0, sizeof out);
            CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(
                         &g->options, texts, offsets[ndocs], offsets, ndocs, out, ndocs * sig_bytes,
                         counts, threads, NULL, NULL),
                     KNOWHERE_OK);
            for (size_t i = 0; i < ndocs; ++i) {
                CHECK_EQ(counts[i], g->count[i]);
                if (memcmp(out + i * sig_bytes, g->sig[i], sig_bytes) == 0) continue;
                fprintf(stderr, "scheme %s, document %zu, batch on %zu threads: differs\n", g->name,
                        i, threads);
                check_failures++;
            }
        }
    }
}

int main(void) {
    load_golden();
    printf("  %zu documents, %zu schemes from %s\n", ndocs, nschemes, GOLDEN_FILE);
    RUN(test_version);
    RUN(test_one_at_a_time);
    RUN(test_batches);
    return CHECK_DONE();
}
