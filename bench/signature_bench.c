/* Signature speed (part of `npm run bench`), K = 128, word 3-shingles, one
 * core unless said otherwise.
 *
 * Text: real English by default, documents of 100 and 1000 consecutive
 * words cut at random word positions from plain-text files (by default the
 * licence texts every Debian-like system has in /usr/share/common-licenses;
 * `--corpus FILE` replaces them), with their bytes as they are (case,
 * punctuation, line breaks, indentation); and, for comparison with earlier
 * runs, synthetic documents of `w%04u` words.
 *
 * Measured, per document (medians of several repetitions over DOCS
 * different documents, so the branch predictor cannot learn them):
 *   from text, from pre-split tokens (knowhere_signature_from_tokens), from
 *   pre-made shingle strings (from_tokens with shingle_size 1), from token
 *   hashes, a batch from text on every core, and the exact shingle
 *   similarity of neighbouring documents (the pairs call, one core).
 *
 * Next to each figure: the target, and a lower bound from the
 * machine's own speed measured here in the same process first: memory read
 * bandwidth, XXH3-64 of a 17-byte shingle (the definition hashes every
 * shingle's bytes), and one pass of a min over K = 128 values. The bound of
 * a signature from text is bytes / bandwidth + shingles x hash + one pass.
 *
 * `--docs-out PREFIX` writes each real-English document set to
 * PREFIX-<words>.bin (u64 count, count + 1 u64 offsets, the texts; host
 * order), so that the TypeScript benchmark times the binding on the very
 * documents timed here.
 *
 * `--baseline LIB` loads another build of the library (dlopen) and runs
 * its calls interleaved with this one's (ABBA), reporting both medians and
 * the median of the paired ratios: a before/after that the shared machine's
 * load affects alike. `--json FILE` writes every number. */
#define _GNU_SOURCE /* RTLD_DEEPBIND */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knowhere_rs.h"
#include "xxh3.h"

enum { K = 128, SIGNATURE_BYTES = K * 4, MAX_CORPUS_FILES = 64 };

static int reps = 9;
static size_t docs = 2000;

/* ---- small tools ---------------------------------------------------------------- */

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The calling thread's CPU time: on a shared machine, the time this thread
 * was descheduled does not count (cache disturbance still does). The
 * one-core figures use it; batches on every core use now_us. */
static double cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *values, size_t n) {
    double *v = malloc(n * sizeof *v);
    if (v == NULL) exit(1);
    memcpy(v, values, n * sizeof *v);
    qsort(v, n, sizeof *v, by_value);
    double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return m;
}

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s ^ (*s >> 29);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D); }

/* ---- the machine's bounds ------------------------------------------------------- */

typedef struct {
    double read_gb_s;        /* memory read bandwidth, one core */
    double xxh3_17_ns;       /* XXH3-64 of a 17-byte input, independent inputs */
    double xxh3_17_chain_ns; /* the same, each input depending on the last hash */
    double min_pass_ns;      /* min of K = 128 values into K minima */
} bounds;

static volatile uint64_t sink_u64;

/* Reads 256 MiB (far beyond the caches) summing 64-bit words: GB/s. */
static double measure_read_bandwidth(void) {
    const size_t words = (size_t)32 << 20;
    uint64_t *buffer = xmalloc(words * sizeof *buffer);
    for (size_t i = 0; i < words; ++i) buffer[i] = i * 0x9E3779B97F4A7C15ull;
    double runs[5];
    for (int r = 0; r < 5; ++r) {
        double t = cpu_us();
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (size_t i = 0; i < words; i += 4) {
            a += buffer[i];
            b += buffer[i + 1];
            c += buffer[i + 2];
            d += buffer[i + 3];
        }
        sink_u64 = a + b + c + d;
        runs[r] = (double)(words * sizeof *buffer) / ((cpu_us() - t) * 1e3);
    }
    free(buffer);
    return median(runs, 5);
}

/* XXH3-64 of 17-byte windows of English text, 64 at a time through the
 * library's own many-input loop (independent hashes overlap in the CPU),
 * and one at a time with each window chosen by the last hash (latency). */
static void measure_xxh3(const char *text, size_t len, bounds *b) {
    enum { BLOCK = 64, ROUNDS = 20000 };
    const unsigned char *inputs[BLOCK];
    size_t lens[BLOCK];
    uint64_t out[BLOCK];
    size_t span = len > 4096 + 17 ? 4096 : len - 17;
    double many[5], chain[5];
    for (int r = 0; r < 5; ++r) {
        uint64_t acc = 0, seed = 3;
        double t = cpu_us();
        for (size_t round = 0; round < ROUNDS; ++round) {
            for (size_t i = 0; i < BLOCK; ++i) {
                inputs[i] = (const unsigned char *)text + (next(&seed) % span);
                lens[i] = 17;
            }
            kh_xxh3_64_many(inputs, lens, BLOCK, out);
            for (size_t i = 0; i < BLOCK; ++i) acc ^= out[i];
        }
        double with_setup = cpu_us() - t;
        /* the same loop without the hashing: what choosing the inputs costs */
        t = cpu_us();
        for (size_t round = 0; round < ROUNDS; ++round) {
            for (size_t i = 0; i < BLOCK; ++i) {
                inputs[i] = (const unsigned char *)text + (next(&seed) % span);
                lens[i] = 17;
            }
            acc ^= (uint64_t)(uintptr_t)inputs[round % BLOCK];
        }
        double setup = cpu_us() - t;
        many[r] = (with_setup - setup) * 1e3 / (ROUNDS * BLOCK);
        uint64_t h = 0;
        t = cpu_us();
        for (size_t i = 0; i < ROUNDS * BLOCK / 4; ++i) h = kh_xxh3_64(text + (h % span), 17);
        chain[r] = (cpu_us() - t) * 1e3 / (ROUNDS * BLOCK / 4);
        sink_u64 = acc ^ h;
    }
    b->xxh3_17_ns = median(many, 5);
    b->xxh3_17_chain_ns = median(chain, 5);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MIN_PASS_TARGET __attribute__((target("avx2")))
#else
#define MIN_PASS_TARGET
#endif

MIN_PASS_TARGET static void min_pass(uint32_t *mins, const uint32_t *values) {
    for (size_t i = 0; i < K; ++i) mins[i] = values[i] < mins[i] ? values[i] : mins[i];
}

/* Passes of mins[i] = min(mins[i], v[i]) over K = 128 32-bit values (the
 * classic scheme's per-token work, and about what a signature's own pass
 * over its K bins costs), cycling through 64 arrays of values. */
static double measure_min_pass(void) {
    enum { ARRAYS = 64, PASSES = 200000 };
    uint32_t *values = xmalloc(ARRAYS * K * sizeof *values), mins[K];
    uint64_t seed = 5;
    for (size_t i = 0; i < ARRAYS * K; ++i) values[i] = (uint32_t)next(&seed);
    double runs[5];
    int avx2 = 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2");
#endif
    for (int r = 0; r < 5; ++r) {
        memset(mins, 0xFF, sizeof mins);
        double t = cpu_us();
        for (size_t p = 0; p < PASSES; ++p) {
            const uint32_t *v = values + (p % ARRAYS) * K;
            if (avx2) {
                min_pass(mins, v);
            } else {
                for (size_t i = 0; i < K; ++i) mins[i] = v[i] < mins[i] ? v[i] : mins[i];
            }
        }
        runs[r] = (cpu_us() - t) * 1e3 / PASSES;
        sink_u64 = mins[r];
    }
    free(values);
    return median(runs, 5);
}

/* ---- documents ------------------------------------------------------------------ */

typedef struct {
    const char *name;  /* "real English" or "synthetic" */
    size_t words;      /* per document */
    char *texts;       /* the documents end to end */
    uint64_t *offsets; /* docs + 1 */
    /* pre-split: each document's normalised words, and its 3-word shingle
     * strings, as (pointer, length) lists and packed for the batch form */
    char *token_bytes, *shingle_bytes;
    const char **tokens, **shingles;
    size_t *token_lens, *shingle_lens;
    uint64_t *token_offsets, *shingle_offsets; /* packed: token t's bytes */
    size_t *doc_tokens, *doc_shingles;         /* docs + 1: first token of doc d */
    uint64_t *hashes;                          /* random 64-bit tokens, `words` per doc */
    double mean_bytes, mean_shingles;
} doc_set;

typedef struct {
    char *text;
    size_t len;
    size_t *starts, *ends; /* words */
    size_t words;
    char description[1024];
} corpus;

static void corpus_add_file(corpus *c, const char *path, size_t *cap) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        while (c->len + n + 1 > *cap) {
            *cap = *cap ? 2 * *cap : 1 << 20;
            char *grown = realloc(c->text, *cap);
            if (grown == NULL) exit(1);
            c->text = grown;
        }
        memcpy(c->text + c->len, chunk, n);
        c->len += n;
    }
    fclose(f);
    c->text[c->len++] = '\n';
}

static void corpus_split(corpus *c) {
    size_t cap = c->len / 2 + 1;
    c->starts = xmalloc(cap * sizeof *c->starts);
    c->ends = xmalloc(cap * sizeof *c->ends);
    for (size_t i = 0; i < c->len;) {
        while (i < c->len && is_space((unsigned char)c->text[i])) i++;
        if (i == c->len) break;
        c->starts[c->words] = i;
        while (i < c->len && !is_space((unsigned char)c->text[i])) i++;
        c->ends[c->words++] = i;
    }
}

/* The licence texts of /usr/share/common-licenses (plain files, not the
 * symbolic links to them), or the files given. */
static corpus load_corpus(const char *const *files, size_t nfiles) {
    static const char *const licences[] = {
        "Apache-2.0", "Artistic", "BSD",      "CC0-1.0", "GFDL-1.2", "GFDL-1.3", "GPL-1",
        "GPL-2",      "GPL-3",    "LGPL-2",   "LGPL-2.1", "LGPL-3",  "MPL-1.1",  "MPL-2.0"};
    corpus c;
    memset(&c, 0, sizeof c);
    size_t cap = 0, loaded = 0;
    char path[4096];
    if (nfiles == 0) {
        for (size_t i = 0; i < sizeof licences / sizeof *licences; ++i) {
            snprintf(path, sizeof path, "/usr/share/common-licenses/%s", licences[i]);
            size_t before = c.len;
            corpus_add_file(&c, path, &cap);
            loaded += c.len != before;
        }
        snprintf(c.description, sizeof c.description,
                 "%zu licence texts of /usr/share/common-licenses", loaded);
    } else {
        for (size_t i = 0; i < nfiles; ++i) {
            size_t before = c.len;
            corpus_add_file(&c, files[i], &cap);
            if (c.len == before) fprintf(stderr, "cannot read %s\n", files[i]);
            loaded += c.len != before;
        }
        snprintf(c.description, sizeof c.description, "%zu files given with --corpus", loaded);
    }
    if (c.text != NULL) corpus_split(&c);
    size_t used = strlen(c.description);
    snprintf(c.description + used, sizeof c.description - used, " (%zu words, %zu bytes)", c.words,
             c.len);
    return c;
}

static void corpus_free(corpus *c) {
    free(c->text);
    free(c->starts);
    free(c->ends);
}

/* Appends the words of text[0..len-1], split at ASCII whitespace and
 * lower-cased (the library's normalisation of ASCII text), to the packed
 * tokens; then its 3-word shingles. */
static void pre_split(doc_set *s, size_t d, size_t *tok_at, size_t *tok_n, size_t *sh_at,
                      size_t *sh_n) {
    const char *text = s->texts + s->offsets[d];
    size_t len = (size_t)(s->offsets[d + 1] - s->offsets[d]);
    size_t first = *tok_n;
    s->doc_tokens[d] = first;
    s->doc_shingles[d] = *sh_n;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space((unsigned char)text[i])) i++;
        if (i == len) break;
        size_t start = *tok_at;
        while (i < len && !is_space((unsigned char)text[i])) {
            char ch = text[i++];
            s->token_bytes[(*tok_at)++] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
        }
        s->token_offsets[*tok_n] = start;
        s->tokens[*tok_n] = s->token_bytes + start;
        s->token_lens[(*tok_n)++] = *tok_at - start;
    }
    size_t ntok = *tok_n - first;
    for (size_t t = first; ntok >= 3 && t + 3 <= *tok_n; ++t) {
        size_t start = *sh_at;
        for (size_t j = t; j < t + 3; ++j) {
            if (j > t) s->shingle_bytes[(*sh_at)++] = ' ';
            memcpy(s->shingle_bytes + *sh_at, s->tokens[j], s->token_lens[j]);
            *sh_at += s->token_lens[j];
        }
        s->shingle_offsets[*sh_n] = start;
        s->shingles[*sh_n] = s->shingle_bytes + start;
        s->shingle_lens[(*sh_n)++] = *sh_at - start;
    }
    s->token_offsets[*tok_n] = *tok_at;
    s->shingle_offsets[*sh_n] = *sh_at;
}

static doc_set make_docs(const char *name, size_t words, const corpus *real) {
    doc_set s;
    memset(&s, 0, sizeof s);
    s.name = name;
    s.words = words;
    s.offsets = xmalloc((docs + 1) * sizeof *s.offsets);
    uint64_t seed = 7 + words;
    size_t at = 0;
    if (real != NULL) {
        size_t cap = 0;
        for (size_t d = 0; d < docs; ++d) {
            size_t w = (size_t)(next(&seed) % (real->words - words + 1));
            cap += real->ends[w + words - 1] - real->starts[w];
        }
        s.texts = xmalloc(cap);
        seed = 7 + words;
        for (size_t d = 0; d < docs; ++d) {
            size_t w = (size_t)(next(&seed) % (real->words - words + 1));
            size_t from = real->starts[w], to = real->ends[w + words - 1];
            s.offsets[d] = at;
            memcpy(s.texts + at, real->text + from, to - from);
            at += to - from;
        }
    } else {
        s.texts = xmalloc(docs * words * 6 + 1);
        for (size_t d = 0; d < docs; ++d) {
            s.offsets[d] = at;
            for (size_t w = 0; w < words; ++w)
                at += (size_t)sprintf(s.texts + at, "w%04u ", (unsigned)(next(&seed) % 5000));
        }
    }
    s.offsets[docs] = at;
    s.mean_bytes = (double)at / (double)docs;

    size_t ntokens = docs * words, nshingles = docs * words;
    s.token_bytes = xmalloc(at);
    s.shingle_bytes = xmalloc(3 * at + 16);
    s.tokens = xmalloc(ntokens * sizeof *s.tokens);
    s.shingles = xmalloc(nshingles * sizeof *s.shingles);
    s.token_lens = xmalloc(ntokens * sizeof *s.token_lens);
    s.shingle_lens = xmalloc(nshingles * sizeof *s.shingle_lens);
    s.token_offsets = xmalloc((ntokens + 1) * sizeof *s.token_offsets);
    s.shingle_offsets = xmalloc((nshingles + 1) * sizeof *s.shingle_offsets);
    s.doc_tokens = xmalloc((docs + 1) * sizeof *s.doc_tokens);
    s.doc_shingles = xmalloc((docs + 1) * sizeof *s.doc_shingles);
    size_t tok_at = 0, tok_n = 0, sh_at = 0, sh_n = 0;
    for (size_t d = 0; d < docs; ++d) pre_split(&s, d, &tok_at, &tok_n, &sh_at, &sh_n);
    s.doc_tokens[docs] = tok_n;
    s.doc_shingles[docs] = sh_n;
    s.mean_shingles = (double)sh_n / (double)docs;

    s.hashes = xmalloc(docs * words * sizeof *s.hashes);
    for (size_t i = 0; i < docs * words; ++i) s.hashes[i] = next(&seed);
    return s;
}

static void free_docs(doc_set *s) {
    free(s->texts);
    free(s->offsets);
    free(s->token_bytes);
    free(s->shingle_bytes);
    free(s->tokens);
    free(s->shingles);
    free(s->token_lens);
    free(s->shingle_lens);
    free(s->token_offsets);
    free(s->shingle_offsets);
    free(s->doc_tokens);
    free(s->doc_shingles);
    free(s->hashes);
}

/* ---- the calls measured --------------------------------------------------------- */

/* The entry points of one build of the library: this one, or --baseline's
 * (NULL where that build lacks the function). */
typedef struct {
    const char *name;
    int (*from_text)(const knowhere_signature_options *, const char *, size_t, uint8_t *, size_t,
                     size_t *, knowhere_error **);
    int (*from_hashes)(const knowhere_signature_options *, const uint64_t *, size_t, uint8_t *,
                       size_t, knowhere_error **);
    int (*from_tokens)(const knowhere_signature_options *, const char *const *, const size_t *,
                       size_t, uint8_t *, size_t, size_t *, knowhere_error **);
    int (*batch)(const knowhere_signature_options *, const char *, size_t, const uint64_t *, size_t,
                 uint8_t *, size_t, uint32_t *, size_t, CInterrupt, knowhere_error **);
    int (*batch_tokens)(const knowhere_signature_options *, const char *, size_t, const uint64_t *,
                        size_t, const uint64_t *, size_t, uint8_t *, size_t, uint32_t *, size_t,
                        CInterrupt, knowhere_error **);
    int (*pairs)(const knowhere_signature_options *, const char *, size_t, const uint64_t *, size_t,
                 const int64_t *, const int64_t *, size_t, double *, size_t, CInterrupt,
                 knowhere_error **);
} library;

static library this_library(void) {
    library l = {"this build",
                 knowhere_signature_from_text,
                 knowhere_signature_from_hashes,
                 knowhere_signature_from_tokens,
                 knowhere_signature_batch_from_text_with_interrupt,
                 knowhere_signature_batch_from_tokens_with_interrupt,
                 knowhere_shingle_jaccard_pairs_with_interrupt};
    return l;
}

/* dlsym's object pointer to a function pointer (POSIX guarantees it works). */
#define LOOKUP(handle, field, symbol) memcpy(&(field), &(void *){dlsym(handle, symbol)}, sizeof(field))

static library load_library(const char *path) {
    library l;
    memset(&l, 0, sizeof l);
    /* DEEPBIND: the baseline's own calls between its exported functions
     * (from_text -> from_hashes) must go to the baseline, not to this build's
     * functions, which the executable exports first. */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle == NULL) {
        fprintf(stderr, "--baseline: %s\n", dlerror());
        exit(2);
    }
    l.name = path;
    LOOKUP(handle, l.from_text, "knowhere_signature_from_text");
    LOOKUP(handle, l.from_hashes, "knowhere_signature_from_hashes");
    LOOKUP(handle, l.from_tokens, "knowhere_signature_from_tokens");
    LOOKUP(handle, l.batch, "knowhere_signature_batch_from_text_with_interrupt");
    LOOKUP(handle, l.batch_tokens, "knowhere_signature_batch_from_tokens_with_interrupt");
    LOOKUP(handle, l.pairs, "knowhere_shingle_jaccard_pairs_with_interrupt");
    return l; /* never closed: the process ends soon */
}

typedef enum {
    FROM_TEXT,
    FROM_TOKENS,
    FROM_SHINGLES,
    FROM_HASHES,
    BATCH_TEXT,
    BATCH_TOKENS,
    EXACT_PAIRS,
    MEASURES
} measure;

static const char *const measure_names[MEASURES] = {
    "from text",
    "from pre-split words (from_tokens)",
    "from shingle strings (from_tokens, n = 1)",
    "from token hashes",
    "batch from text, all cores",
    "batch from pre-split words, all cores",
    "exact similarity per pair (pairs call)"};
static const char *const measure_keys[MEASURES] = {
    "from_text", "from_tokens", "from_shingles", "from_hashes", "batch_text", "batch_tokens",
    "exact_pairs"};

static void fail(const char *what, knowhere_error *err) {
    fprintf(stderr, "%s failed: %s\n", what, err ? knowhere_error_message(err) : "(no message)");
    exit(1);
}

static bool available(const library *l, measure m) {
    switch (m) {
    case FROM_TEXT: return l->from_text != NULL;
    case FROM_TOKENS:
    case FROM_SHINGLES: return l->from_tokens != NULL;
    case FROM_HASHES: return l->from_hashes != NULL;
    case BATCH_TEXT: return l->batch != NULL;
    case BATCH_TOKENS: return l->batch_tokens != NULL;
    case EXACT_PAIRS: return l->pairs != NULL;
    default: return false;
    }
}

/* One repetition of measure m over the documents: microseconds per document
 * (per pair for EXACT_PAIRS). */
static double run_once(const library *l, measure m, const doc_set *s, uint8_t *out,
                       const int64_t *left, const int64_t *right, double *similarity) {
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    if (m == FROM_SHINGLES) o.shingle_size = 1;
    knowhere_error *err = NULL;
    double (*clock_us)(void) = m == BATCH_TEXT || m == BATCH_TOKENS ? now_us : cpu_us;
    double t = clock_us();
    switch (m) {
    case FROM_TEXT:
        for (size_t d = 0; d < docs; ++d)
            if (l->from_text(&o, s->texts + s->offsets[d], s->offsets[d + 1] - s->offsets[d], out,
                             SIGNATURE_BYTES, NULL, &err) != KNOWHERE_OK)
                fail("from_text", err);
        break;
    case FROM_TOKENS:
    case FROM_SHINGLES: {
        const char *const *items = m == FROM_TOKENS ? s->tokens : s->shingles;
        const size_t *lens = m == FROM_TOKENS ? s->token_lens : s->shingle_lens;
        const size_t *first = m == FROM_TOKENS ? s->doc_tokens : s->doc_shingles;
        for (size_t d = 0; d < docs; ++d)
            if (l->from_tokens(&o, items + first[d], lens + first[d], first[d + 1] - first[d], out,
                               SIGNATURE_BYTES, NULL, &err) != KNOWHERE_OK)
                fail("from_tokens", err);
        break;
    }
    case FROM_HASHES:
        for (size_t d = 0; d < docs; ++d)
            if (l->from_hashes(&o, s->hashes + d * s->words, s->words, out, SIGNATURE_BYTES,
                               &err) != KNOWHERE_OK)
                fail("from_hashes", err);
        break;
    case BATCH_TEXT:
        if (l->batch(&o, s->texts, s->offsets[docs], s->offsets, docs, out, docs * SIGNATURE_BYTES,
                     NULL, 0, NULL, &err) != KNOWHERE_OK)
            fail("batch", err);
        break;
    case BATCH_TOKENS: {
        uint64_t *doc_offsets = xmalloc((docs + 1) * sizeof *doc_offsets);
        for (size_t d = 0; d <= docs; ++d) doc_offsets[d] = s->doc_tokens[d];
        t = clock_us(); /* the caller would have these already */
        if (l->batch_tokens(&o, s->token_bytes, s->token_offsets[s->doc_tokens[docs]],
                            s->token_offsets, s->doc_tokens[docs], doc_offsets, docs, out,
                            docs * SIGNATURE_BYTES, NULL, 0, NULL, &err) != KNOWHERE_OK)
            fail("batch_tokens", err);
        double us = clock_us() - t;
        free(doc_offsets);
        return us / (double)docs;
    }
    case EXACT_PAIRS:
        if (l->pairs(&o, s->texts, s->offsets[docs], s->offsets, docs, left, right, docs - 1,
                     similarity, 1, NULL, &err) != KNOWHERE_OK)
            fail("pairs", err);
        return (clock_us() - t) / (double)(docs - 1);
    default: break;
    }
    return (clock_us() - t) / (double)docs;
}

typedef struct {
    double us[2];    /* medians: this build, the baseline (0: none) */
    double ratio;    /* median of baseline / this, per interleaved pair (0: none) */
    bool measured;
} result;

/* reps repetitions of m, interleaved ABBA with the baseline when there is one. */
static result run_measure(const library *self, const library *base, measure m, const doc_set *s) {
    result r;
    memset(&r, 0, sizeof r);
    if (!available(self, m)) return r;
    bool with_base = base != NULL && available(base, m);
    uint8_t *out = xmalloc(docs * SIGNATURE_BYTES);
    int64_t *left = xmalloc(docs * sizeof *left), *right = xmalloc(docs * sizeof *right);
    double *similarity = xmalloc(docs * sizeof *similarity);
    for (size_t i = 0; i + 1 < docs; ++i) {
        left[i] = (int64_t)i;
        right[i] = (int64_t)i + 1;
    }
    double *mine = xmalloc((size_t)reps * sizeof *mine), *theirs = xmalloc((size_t)reps * sizeof *theirs),
           *ratios = xmalloc((size_t)reps * sizeof *ratios);
    run_once(self, m, s, out, left, right, similarity); /* warm up */
    if (with_base) run_once(base, m, s, out, left, right, similarity);
    for (int i = 0; i < reps; ++i) {
        if (with_base && i % 2 == 1) theirs[i] = run_once(base, m, s, out, left, right, similarity);
        mine[i] = run_once(self, m, s, out, left, right, similarity);
        if (with_base && i % 2 == 0) theirs[i] = run_once(base, m, s, out, left, right, similarity);
        if (with_base) ratios[i] = theirs[i] / mine[i];
    }
    r.measured = true;
    r.us[0] = median(mine, (size_t)reps);
    if (with_base) {
        r.us[1] = median(theirs, (size_t)reps);
        r.ratio = median(ratios, (size_t)reps);
    }
    free(out);
    free(left);
    free(right);
    free(similarity);
    free(mine);
    free(theirs);
    free(ratios);
    return r;
}

/* The same signatures from text, from pre-split words and from shingle
 * strings: a check that the benchmark measures equal work. */
static void check_same(const doc_set *s) {
    knowhere_signature_options o, one;
    knowhere_signature_options_init(&o);
    knowhere_signature_options_init(&one);
    one.shingle_size = 1;
    uint8_t a[SIGNATURE_BYTES], b[SIGNATURE_BYTES], c[SIGNATURE_BYTES];
    for (size_t d = 0; d < docs; d += docs / 16 + 1) {
        size_t t0 = s->doc_tokens[d], h0 = s->doc_shingles[d];
        if (knowhere_signature_from_text(&o, s->texts + s->offsets[d],
                                         s->offsets[d + 1] - s->offsets[d], a, sizeof a, NULL,
                                         NULL) != KNOWHERE_OK ||
            knowhere_signature_from_tokens(&o, s->tokens + t0, s->token_lens + t0,
                                           s->doc_tokens[d + 1] - t0, b, sizeof b, NULL,
                                           NULL) != KNOWHERE_OK ||
            knowhere_signature_from_tokens(&one, s->shingles + h0, s->shingle_lens + h0,
                                           s->doc_shingles[d + 1] - h0, c, sizeof c, NULL,
                                           NULL) != KNOWHERE_OK ||
            memcmp(a, b, sizeof a) != 0 || memcmp(a, c, sizeof a) != 0) {
            fprintf(stderr, "%s, document %zu: from_text, from_tokens and from shingle strings "
                            "disagree\n", s->name, d);
            exit(1);
        }
    }
}

/* ---- report --------------------------------------------------------------------- */

/* The targets (issue 14): real English, K = 128, one core. */
static double target_us(const doc_set *s, measure m) {
    if (s->name[0] != 'r' || m != FROM_TEXT) return 0;
    return s->words == 100 ? 0.85 : s->words == 1000 ? 5.0 : 0;
}

/* input bytes / bandwidth + shingles x XXH3 + one K = 128 pass: what the
 * definition cannot avoid. The input of pre-split tokens or shingle
 * strings is their bytes and a pointer and a length (16 bytes) each. None
 * for token hashes and the rest. */
static double bound_us(const doc_set *s, measure m, const bounds *b) {
    double hashes = s->mean_shingles * b->xxh3_17_ns, pass = b->min_pass_ns, d = (double)docs;
    switch (m) {
    case FROM_TEXT: return (s->mean_bytes / b->read_gb_s + hashes + pass) / 1e3;
    case FROM_TOKENS: {
        double ntok = (double)s->doc_tokens[docs] / d,
               bytes = (double)s->token_offsets[s->doc_tokens[docs]] / d + 16 * ntok;
        return (bytes / b->read_gb_s + hashes + pass) / 1e3;
    }
    case FROM_SHINGLES: {
        double nsh = (double)s->doc_shingles[docs] / d,
               bytes = (double)s->shingle_offsets[s->doc_shingles[docs]] / d + 16 * nsh;
        return (bytes / b->read_gb_s + hashes + pass) / 1e3;
    }
    default: return 0;
    }
}

static void json_bounds(FILE *f, const bounds *b, const corpus *c, const char *simd) {
    fprintf(f, "{\n  \"simd\": \"%s\",\n  \"num_hashes\": %d,\n  \"docs\": %zu,\n  \"reps\": %d,\n",
            simd, K, docs, reps);
    fprintf(f, "  \"corpus\": \"%s\",\n", c->description);
    fprintf(f, "  \"bounds\": {\"read_gb_s\": %.3f, \"xxh3_17_ns\": %.3f, \"xxh3_17_chain_ns\": %.3f, "
               "\"min_pass_ns\": %.3f},\n  \"rows\": [",
            b->read_gb_s, b->xxh3_17_ns, b->xxh3_17_chain_ns, b->min_pass_ns);
}

static void report_set(FILE *json, bool *first_row, const doc_set *s, const library *self,
                       const library *base, const bounds *b) {
    printf("\n%s, %zu words per document (%.0f bytes, %.1f shingles on average):\n", s->name,
           s->words, s->mean_bytes, s->mean_shingles);
    if (base)
        printf("| input | this build | target | bound | / bound | baseline | baseline / this |\n"
               "|---|---|---|---|---|---|---|\n");
    else
        printf("| input | this build | target | bound | / bound |\n|---|---|---|---|---|\n");
    for (int m = 0; m < MEASURES; ++m) {
        result r = run_measure(self, base, (measure)m, s);
        if (!r.measured) continue;
        double target = target_us(s, (measure)m), bound = bound_us(s, (measure)m, b);
        char target_text[64] = "-", bound_text[64] = "-", ratio_text[64] = "-";
        if (target > 0)
            snprintf(target_text, sizeof target_text, "%.2f us, %s", target,
                     r.us[0] <= target ? "met" : "MISSED");
        if (bound > 0) {
            snprintf(bound_text, sizeof bound_text, "%.2f us", bound);
            snprintf(ratio_text, sizeof ratio_text, "%.2fx", r.us[0] / bound);
        }
        printf("| %s | %.3f us | %s | %s | %s |", measure_names[m], r.us[0], target_text,
               bound_text, ratio_text);
        if (base) {
            if (r.us[1] > 0)
                printf(" %.3f us | %.2fx |", r.us[1], r.ratio);
            else
                printf(" - | - |");
        }
        printf("\n");
        if (json) {
            fprintf(json, "%s\n    {\"text\": \"%s\", \"words\": %zu, \"mean_bytes\": %.1f, "
                          "\"mean_shingles\": %.1f, \"measure\": \"%s\", \"us\": %.4f, "
                          "\"target_us\": %.2f, \"bound_us\": %.4f, \"baseline_us\": %.4f, "
                          "\"baseline_ratio\": %.4f}",
                    *first_row ? "" : ",", s->name, s->words, s->mean_bytes, s->mean_shingles,
                    measure_keys[m], r.us[0], target, bound, r.us[1], r.ratio);
            *first_row = false;
        }
    }
}

/* Writes a document set for --docs-out; false (with a message) on failure. */
static bool write_docs(const char *prefix, const doc_set *s) {
    char path[4096];
    snprintf(path, sizeof path, "%s-%zu.bin", prefix, s->words);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return false;
    }
    uint64_t count = docs;
    bool ok = fwrite(&count, sizeof count, 1, f) == 1 &&
              fwrite(s->offsets, sizeof *s->offsets, docs + 1, f) == docs + 1 &&
              fwrite(s->texts, 1, (size_t)s->offsets[docs], f) == (size_t)s->offsets[docs];
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "%s: write failed\n", path);
        return false;
    }
    return true;
}

/* `--profile MEASURE[:WORDS]`: that measure alone on real English, `reps`
 * times over the documents, for callgrind or perf (no bounds, no report);
 * of the --baseline build when one is given. */
static int run_profile(const char *what, const corpus *real, const library *lib) {
    size_t words = 1000;
    const char *colon = strchr(what, ':');
    if (colon != NULL) words = (size_t)atol(colon + 1);
    size_t name_len = colon ? (size_t)(colon - what) : strlen(what);
    for (int m = 0; m < MEASURES; ++m) {
        if (strlen(measure_keys[m]) != name_len || strncmp(measure_keys[m], what, name_len) != 0)
            continue;
        if (!available(lib, (measure)m)) {
            fprintf(stderr, "--profile: %s is not in %s\n", measure_keys[m], lib->name);
            return 2;
        }
        doc_set s = make_docs("real English", words, real);
        uint8_t *out = xmalloc(docs * SIGNATURE_BYTES);
        int64_t *left = xmalloc(docs * sizeof *left), *right = xmalloc(docs * sizeof *right);
        double *similarity = xmalloc(docs * sizeof *similarity);
        for (size_t i = 0; i + 1 < docs; ++i) {
            left[i] = (int64_t)i;
            right[i] = (int64_t)i + 1;
        }
        double us = 0;
        for (int r = 0; r < reps; ++r)
            us = run_once(lib, (measure)m, &s, out, left, right, similarity);
        printf("%s, %zu words: %.3f us per document (the last of %d runs)\n", measure_keys[m],
               words, us, reps);
        free(out);
        free(left);
        free(right);
        free(similarity);
        free_docs(&s);
        return 0;
    }
    fprintf(stderr, "--profile: unknown measure %s\n", what);
    return 2;
}

int main(int argc, char **argv) {
    const char *files[MAX_CORPUS_FILES];
    size_t nfiles = 0;
    const char *baseline = NULL, *json_path = NULL, *docs_out = NULL;
    bool no_synthetic = false;
    const char *profile = NULL; /* "from_text" etc.: only that, once, for a profiler */
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc && nfiles < MAX_CORPUS_FILES)
            files[nfiles++] = argv[++i];
        else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc)
            baseline = argv[++i];
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--docs-out") == 0 && i + 1 < argc)
            docs_out = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]) > 0 ? atoi(argv[i]) : reps;
        else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
            profile = argv[++i];
        else if (strcmp(argv[i], "--no-synthetic") == 0)
            no_synthetic = true;
        else if (strcmp(argv[i], "--quick") == 0) {
            reps = 5;
            docs = 500;
        } else {
            fprintf(stderr, "usage: signature_bench [--corpus FILE]... [--baseline LIB] "
                            "[--json FILE] [--docs-out PREFIX] [--reps N] [--quick] [--no-synthetic]\n");
            return 2;
        }
    }
    const char *simd = getenv("KNOWHERE_SIMD");
    simd = simd ? simd : "best";
    corpus real = load_corpus(files, nfiles);
    if (profile != NULL) { /* --baseline LIB profiles that build instead */
        library lib = baseline ? load_library(baseline) : this_library();
        return run_profile(profile, &real, &lib);
    }

    bounds b;
    b.read_gb_s = measure_read_bandwidth();
    measure_xxh3(real.len > 4200 ? real.text : "the quick brown fox jumps over the lazy dog again",
                 real.len > 4200 ? real.len : 48, &b);
    b.min_pass_ns = measure_min_pass();
    printf("signatures, K = %d, word 3-shingles, 4-byte values; per document, median of %d x %zu "
           "documents; KNOWHERE_SIMD=%s\n", K, reps, docs, simd);
    printf("machine bounds, measured here: memory read %.1f GB/s (one core); XXH3-64 of a "
           "17-byte shingle %.2f ns (independent inputs; %.2f ns each depending on the last); "
           "a min pass over K = %d values %.2f ns\n",
           b.read_gb_s, b.xxh3_17_ns, b.xxh3_17_chain_ns, K, b.min_pass_ns);
    printf("one-core figures are the calling thread's CPU time (the machine may be shared); "
           "batches on every core are wall time\n");
    printf("bound of a signature = input bytes / bandwidth + shingles x XXH3 + one pass (input: "
           "the text, or the tokens' bytes and 16 bytes of pointer and length each); real "
           "English: %s\n", real.description);

    library self = this_library(), base;
    if (baseline) base = load_library(baseline);
    FILE *json = NULL;
    if (json_path) {
        json = fopen(json_path, "w");
        if (json == NULL) {
            perror(json_path);
            return 1;
        }
        json_bounds(json, &b, &real, simd);
    }
    bool first_row = true;
    static const size_t sizes[] = {100, 1000};
    for (int synthetic = 0; synthetic < (no_synthetic ? 1 : 2); ++synthetic) {
        for (size_t i = 0; i < 2; ++i) {
            if (!synthetic && real.words < sizes[i] * 2) {
                printf("\nreal English: the corpus has %zu words, too few for %zu-word "
                       "documents; skipped\n", real.words, sizes[i]);
                continue;
            }
            doc_set s = make_docs(synthetic ? "synthetic w%04u words" : "real English", sizes[i],
                                  synthetic ? NULL : &real);
            check_same(&s);
            if (!synthetic && docs_out != NULL && !write_docs(docs_out, &s)) return 1;
            report_set(json, &first_row, &s, &self, baseline ? &base : NULL, &b);
            free_docs(&s);
        }
    }
    if (baseline)
        printf("\nbaseline: %s, run interleaved with this build (ABBA); its ratio is the median "
               "of the paired ratios\n", baseline);
    if (json) {
        fprintf(json, "\n  ]\n}\n");
        fclose(json);
    }
    corpus_free(&real);
    return 0;
}
