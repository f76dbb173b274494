/* Save and load of the MinHash-LSH index, in the format of docs/format.md.
 *
 * Writing. The header, then every section cut into CHUNK-byte chunks (each
 * one hashed, written and counted as progress, with an interrupt check
 * between chunks), then the trailer of checksums. Save writes a new file
 * next to `path`, syncs it and renames it over `path` only once complete;
 * on any failure the new file is removed and `path` is untouched.
 *
 * Reading. Nothing read is trusted before it is checked: the fixed header
 * (magic, version, flags, section count) and the section lengths must add
 * up to the input's size exactly; then the trailer's file checksum must
 * match the header and the list of section checksums; then the parameters
 * must be in range and every section length must be the one they imply.
 * Sections are then read chunk by chunk straight into their final arrays,
 * which grow with what has been read (a sparse file may declare gigabytes
 * it does not hold), hashed while in cache, and validated structurally
 * (directories non-decreasing from 0 to count, buckets sorted by
 * (fingerprint, id), every id below count and once per band), so that
 * input whose checksums are valid but whose contents are hostile still
 * cannot make a search read out of bounds. The first structural error
 * stops the load: nothing after it is read. The new state replaces the
 * old one only when everything passed. */
/* realpath (following a symbolic link at a save's path) is XSI. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"
#include "progress.h"
#include "raw_codes.h"
#include "xxh3.h"

/* The unit of hashing (see "Checksums" in docs/format.md), of I/O, of
 * progress and of interrupt checks. */
#define CHUNK ((size_t)256 << 10)

enum {
    FORMAT_VERSION = 1,
    FLAG_RAW = 1u,
    FLAG_REMOVED = 2u, /* a bitset of removed rows follows the raw data */
    FLAG_SCHEME = 4u,  /* the signature scheme follows (docs/format.md) */
    FLAG_APP_DATA = 8u, /* the application's bytes come last */
    /* The raw section holds b-bit codes (raw_codes.h) instead of values;
     * at most one of FLAG_RAW and these. */
    FLAG_CODES8 = 16u,
    FLAG_CODES16 = 32u,
    FLAGS_ANY_RAW = FLAG_RAW | FLAG_CODES8 | FLAG_CODES16,
    KNOWN_FLAGS = FLAGS_ANY_RAW | FLAG_REMOVED | FLAG_SCHEME | FLAG_APP_DATA,
    SCHEME_BYTES = 32, /* version, num_hashes, kind, size, value bytes, flags (u32), seed (u64) */
    FIXED_HEADER = 64, /* bytes before the section lengths */
    MAX_PREFIX_BITS = 28,
};

static const uint8_t MAGIC[8] = {'K', 'H', 'M', 'H', 'L', 'S', 'H', '\0'};

_Static_assert(sizeof(kh_lsh_entry) == 8, "kh_lsh_entry must be {u32, u32}, unpadded");

/* ---- byte order ----------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Constant-folded: on a little-endian host the arrays are already in file
 * order and no conversion pass runs. */
static bool host_is_little_endian(void) {
    const uint32_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Converts n bytes of u32 values between host and file (little-endian)
 * order, from src to dst (which may be the same). */
static void u32_to_file(uint8_t *dst, const uint8_t *src, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v;
        memcpy(&v, src + i, 4);
        put_u32(dst + i, v);
    }
}

static void u32_from_file(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = get_u32(p + i);
        memcpy(p + i, &v, 4);
    }
}

/* ---- checked arithmetic ---------------------------------------------------- */

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return false;
    *out = a * b;
    return true;
}

static bool add_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return false;
    *out = a + b;
    return true;
}

static size_t min_size(uint64_t a, size_t b) { return a < b ? (size_t)a : b; }

/* ---- layout ----------------------------------------------------------------- */

/* Everything the header says, and the sizes it implies. Sections are
 * numbered 0..sections-1: 2b is band b's directory, 2b + 1 its entries,
 * then the raw signatures, the removed rows' bitset and the application
 * data when present. */
typedef struct {
    uint64_t count, length, element_size, bands, rows_per_band;
    uint32_t flags, prefix_bits, key_bits, sections;
    uint64_t dir_bytes, entries_bytes, raw_bytes, removed_bytes, scheme_bytes; /* lengths */
    uint64_t app_bytes; /* the one length the parameters do not imply */
    uint64_t header_bytes;                        /* FIXED_HEADER + 8 * sections */
    uint64_t body_bytes;                          /* all sections */
    uint64_t trailer_bytes;                       /* 8 * sections + 8 */
    uint64_t file_bytes;
} layout;

/* The sections after the band tables, in file order, each present when
 * its flag is set. */
typedef enum {
    SECTION_TABLE, SECTION_RAW, SECTION_REMOVED, SECTION_SCHEME, SECTION_APP_DATA
} section_kind;

static section_kind kind_of(const layout *L, size_t i) {
    if (i < 2 * L->bands) return SECTION_TABLE;
    static const struct { uint32_t flag; section_kind kind; } optional[] = {
        {FLAGS_ANY_RAW, SECTION_RAW}, {FLAG_REMOVED, SECTION_REMOVED}, {FLAG_SCHEME, SECTION_SCHEME},
        {FLAG_APP_DATA, SECTION_APP_DATA}};
    size_t k = i - 2 * L->bands;
    for (size_t j = 0; j < sizeof optional / sizeof optional[0]; ++j)
        if ((L->flags & optional[j].flag) && k-- == 0) return optional[j].kind;
    return SECTION_APP_DATA; /* not reached: i < sections */
}

/* 2 * bands, plus one for each flag. */
static uint64_t sections_for(uint64_t bands, uint32_t flags) {
    return 2 * (bands < UINT32_MAX ? bands : UINT32_MAX) + (flags & FLAG_RAW ? 1 : 0) +
           (flags & FLAG_REMOVED ? 1 : 0) + (flags & FLAG_SCHEME ? 1 : 0) +
           (flags & FLAG_APP_DATA ? 1 : 0) + (flags & FLAG_CODES8 ? 1 : 0) +
           (flags & FLAG_CODES16 ? 1 : 0);
}

/* The code bits the flags give the raw section (0: full values). */
static uint32_t raw_bits_of(uint32_t flags) {
    return flags & FLAG_CODES8 ? 8 : flags & FLAG_CODES16 ? 16 : 0;
}

static uint64_t section_bytes_of(const layout *L, size_t i) {
    switch (kind_of(L, i)) {
    case SECTION_TABLE: return i % 2 ? L->entries_bytes : L->dir_bytes;
    case SECTION_RAW: return L->raw_bytes;
    case SECTION_REMOVED: return L->removed_bytes;
    case SECTION_SCHEME: return L->scheme_bytes;
    default: return L->app_bytes;
    }
}

static void section_name(const layout *L, size_t i, char *buf, size_t cap) {
    switch (kind_of(L, i)) {
    case SECTION_TABLE:
        snprintf(buf, cap, "band %zu %s", i / 2, i % 2 ? "entries" : "directory");
        break;
    case SECTION_RAW: snprintf(buf, cap, raw_bits_of(L->flags) ? "raw codes" : "raw data"); break;
    case SECTION_REMOVED: snprintf(buf, cap, "removed rows"); break;
    case SECTION_SCHEME: snprintf(buf, cap, "signature scheme"); break;
    default: snprintf(buf, cap, "application data"); break;
    }
}

/* The number of chunk hashes the largest hashed range needs. */
static size_t max_chunks(const layout *L) {
    uint64_t largest = L->header_bytes + 8 * (uint64_t)L->sections; /* the file checksum */
    if (L->dir_bytes > largest) largest = L->dir_bytes;
    if (L->entries_bytes > largest) largest = L->entries_bytes;
    if (L->raw_bytes > largest) largest = L->raw_bytes;
    if (L->removed_bytes > largest) largest = L->removed_bytes;
    if (L->app_bytes > largest) largest = L->app_bytes;
    return (size_t)(largest / CHUNK + 1);
}

/* Fills the sizes of L from its parameters; false on overflow. */
static bool layout_sizes(layout *L, uint64_t signature_bytes) {
    uint64_t band_bytes, trailer;
    L->dir_bytes = (((uint64_t)1 << L->prefix_bits) + 1) * 4;
    L->entries_bytes = L->count * 8; /* count < 2^32 */
    L->raw_bytes = 0;
    uint64_t raw_row_bytes = signature_bytes; /* codes: length * b / 8 */
    if (raw_bits_of(L->flags) && !mul_ok(L->length, raw_bits_of(L->flags) / 8, &raw_row_bytes))
        return false;
    if ((L->flags & FLAGS_ANY_RAW) && !mul_ok(L->count, raw_row_bytes, &L->raw_bytes))
        return false;
    L->removed_bytes = L->flags & FLAG_REMOVED ? (L->count + 7) / 8 : 0;
    L->scheme_bytes = L->flags & FLAG_SCHEME ? SCHEME_BYTES : 0;
    L->header_bytes = FIXED_HEADER + 8 * (uint64_t)L->sections;
    L->trailer_bytes = 8 * (uint64_t)L->sections + 8;
    return add_ok(L->dir_bytes, L->entries_bytes, &band_bytes) &&
           mul_ok(band_bytes, L->bands, &L->body_bytes) &&
           add_ok(L->body_bytes, L->raw_bytes, &L->body_bytes) &&
           add_ok(L->body_bytes, L->removed_bytes, &L->body_bytes) &&
           add_ok(L->body_bytes, L->scheme_bytes, &L->body_bytes) &&
           add_ok(L->body_bytes, L->app_bytes, &L->body_bytes) &&
           add_ok(L->header_bytes, L->trailer_bytes, &trailer) &&
           add_ok(trailer, L->body_bytes, &L->file_bytes);
}

/* ---- the checksum rule ------------------------------------------------------- */

/* The checksum of docs/format.md over `len` bytes at p: XXH3-64 of the
 * little-endian XXH3-64s of its CHUNK-byte chunks. `hashes` has room for
 * the chunk hashes. KNOWHERE_ERR_INTERRUPTED if the interrupt is set. */
static int chunked_hash(const uint8_t *p, uint64_t len, uint8_t *hashes, CInterrupt interrupt,
                        uint64_t *out) {
    size_t chunks = 0;
    for (uint64_t off = 0; off < len; off += CHUNK) {
        if (knowhere_interrupt_is_interrupted(interrupt)) return KNOWHERE_ERR_INTERRUPTED;
        put_u64(hashes + 8 * chunks++, kh_xxh3_64(p + off, min_size(len - off, CHUNK)));
    }
    *out = kh_xxh3_64(hashes, 8 * chunks);
    return KNOWHERE_OK;
}

/* The status an operation stopped by its interrupt returns, with its
 * message: KNOWHERE_ERR_TIMEOUT when a deadline set the flag. */
static int stopped(CInterrupt interrupt, knowhere_error **err, const char *what) {
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status == KNOWHERE_OK) status = KNOWHERE_ERR_INTERRUPTED; /* reset since */
    return kh_stopped_error(err, status, what, "");
}

static void describe_errno(int errnum, char *buf, size_t cap) {
    if (strerror_r(errnum, buf, cap) != 0) snprintf(buf, cap, "error %d", errnum);
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct {
    const kh_lsh_state *s;
    layout L;
    uint8_t scheme[SCHEME_BYTES]; /* the scheme section, when flag bit 2 */
    uint8_t *meta;    /* header, then the trailer (section checksums, file checksum) */
    uint8_t *hashes;  /* chunk hashes of one range */
    uint8_t *staging; /* CHUNK bytes: converted or gathered chunks */
    CInterrupt interrupt;
    kh_progress progress;
    /* Where the bytes go: fd >= 0, else mem. */
    int fd;
    uint8_t *mem;
    uint64_t pos;
    const char *path, *tmp_path; /* for messages */
} writer;

/* The scheme section: u32 version, num_hashes, shingle_kind, shingle_size,
 * value_bytes, flags, then u64 seed. */
static void encode_scheme(uint8_t *p, const kh_signature_scheme *scheme) {
    const knowhere_signature_options *o = &scheme->options;
    const uint32_t fields[] = {scheme->version, o->num_hashes, o->shingle_kind, o->shingle_size,
                               o->value_bytes, o->flags};
    for (size_t k = 0; k < 6; ++k) put_u32(p + 4 * k, fields[k]);
    put_u64(p + 24, o->seed);
}

static void decode_scheme(const uint8_t *p, kh_signature_scheme *scheme) {
    knowhere_signature_options_init(&scheme->options);
    knowhere_signature_options *o = &scheme->options;
    scheme->version = get_u32(p);
    o->num_hashes = get_u32(p + 4);
    o->shingle_kind = get_u32(p + 8);
    o->shingle_size = get_u32(p + 12);
    o->value_bytes = get_u32(p + 16);
    o->flags = get_u32(p + 20);
    o->seed = get_u64(p + 24);
}

static int writer_init(writer *w, const kh_lsh_state *s, const kh_signature_scheme *scheme,
                       CInterrupt interrupt, knowhere_error **err) {
    memset(w, 0, sizeof *w);
    w->s = s;
    w->interrupt = interrupt;
    w->fd = -1;
    layout *L = &w->L;
    if (s->bands > (UINT32_MAX - 1) / 2)
        return kh_errorf(err, KNOWHERE_ERR_OVERFLOW, "cannot save %zu bands (the format "
                         "allows %u)", s->bands, (UINT32_MAX - 1) / 2);
    *L = (layout){
        .count = s->count, .length = s->length, .element_size = s->element_size,
        .bands = s->bands, .rows_per_band = s->rows_per_band,
        .flags = (kh_has_full_raw(s) ? FLAG_RAW : 0) |
                 (kh_has_codes(s) ? (s->raw_bits == 8 ? FLAG_CODES8 : FLAG_CODES16) : 0) |
                 (s->removed_count ? FLAG_REMOVED : 0) |
                 (scheme ? FLAG_SCHEME : 0) | (s->app_bytes ? FLAG_APP_DATA : 0),
        .app_bytes = s->app_bytes,
        /* A flat state (begin_save): every band has this layout. */
        .prefix_bits = s->tables[0].layout.prefix_bits, .key_bits = s->tables[0].layout.key_bits,
    };
    if (scheme) encode_scheme(w->scheme, scheme);
    L->sections = (uint32_t)sections_for(s->bands, L->flags);
    if (!layout_sizes(L, s->signature_bytes) || L->file_bytes > SIZE_MAX)
        return kh_errorf(err, KNOWHERE_ERR_OVERFLOW, "the serialized size overflows");
    w->meta = malloc((size_t)(L->header_bytes + L->trailer_bytes));
    w->hashes = malloc(max_chunks(L) * 8);
    w->staging = malloc(CHUNK);
    if (w->meta == NULL || w->hashes == NULL || w->staging == NULL)
        return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory during save");

    uint8_t *h = w->meta;
    memcpy(h, MAGIC, 8);
    put_u32(h + 8, FORMAT_VERSION);
    put_u32(h + 12, L->flags);
    put_u64(h + 16, L->count);
    put_u64(h + 24, L->length);
    put_u64(h + 32, L->element_size);
    put_u64(h + 40, L->bands);
    put_u64(h + 48, L->rows_per_band);
    put_u32(h + 56, L->prefix_bits | (L->prefix_bits - L->key_bits) << 16);
    put_u32(h + 60, L->sections);
    for (size_t i = 0; i < L->sections; ++i) {
        if ((i & 0x7fff) == 0 && knowhere_interrupt_is_interrupted(interrupt))
            return KNOWHERE_ERR_INTERRUPTED;
        put_u64(h + FIXED_HEADER + 8 * i, section_bytes_of(L, i));
    }
    return KNOWHERE_OK;
}

static void writer_free(writer *w) {
    free(w->meta);
    free(w->hashes);
    free(w->staging);
}

static int temp_error(const writer *w, const char *doing, int errnum, knowhere_error **err) {
    char reason[128];
    describe_errno(errnum, reason, sizeof reason);
    return kh_errorf(err, KNOWHERE_ERR_FILE, "cannot save to '%s': %s '%s' failed: %s", w->path,
                     doing, w->tmp_path, reason);
}

static int put_bytes(writer *w, const uint8_t *p, size_t n, knowhere_error **err) {
    if (w->fd < 0) {
        memcpy(w->mem + w->pos, p, n);
        w->pos += n;
    } else {
        for (size_t left = n; left > 0;) {
            ssize_t wrote = write(w->fd, p, left);
            if (wrote <= 0) {
                if (wrote < 0 && errno == EINTR) continue;
                return temp_error(w, "writing", wrote < 0 ? errno : EIO, err);
            }
            p += wrote;
            left -= (size_t)wrote;
            w->pos += (size_t)wrote;
        }
    }
    kh_progress_advance(&w->progress, n);
    return KNOWHERE_OK;
}

static int put_range(writer *w, const uint8_t *p, uint64_t len, knowhere_error **err) {
    for (uint64_t off = 0; off < len; off += CHUNK) {
        if (knowhere_interrupt_is_interrupted(w->interrupt)) return KNOWHERE_ERR_INTERRUPTED;
        int status = put_bytes(w, p + off, min_size(len - off, CHUNK), err);
        if (status != KNOWHERE_OK) return status;
    }
    return KNOWHERE_OK;
}

/* The raw signatures [off, off + n) of the section (the concatenation of
 * every segment): a pointer into one segment, or gathered in `staging`. */
static const uint8_t *raw_range(const kh_lsh_state *s, size_t off, size_t n, uint8_t *staging) {
    size_t sig = s->raw_row_bytes;
    for (size_t done = 0; done < n;) {
        size_t at = off + done, row = at / sig, lo = 0, hi = s->raw_segments;
        while (hi - lo > 1) { /* last segment with first_id <= row */
            size_t mid = lo + (hi - lo) / 2;
            if (s->raw[mid].first_id <= row) lo = mid;
            else hi = mid;
        }
        const kh_raw_segment *seg = &s->raw[lo];
        size_t begin = seg->first_id * sig, end = (seg->first_id + seg->rows) * sig;
        size_t take = end - at < n - done ? end - at : n - done;
        if (done == 0 && take == n) return seg->data + (at - begin);
        memcpy(staging + done, seg->data + (at - begin), take);
        done += take;
    }
    return staging;
}

/* Bytes [off, off + n) of section i as the file holds them. */
static const uint8_t *section_range(const writer *w, size_t i, uint64_t off, size_t n) {
    const kh_lsh_state *s = w->s;
    switch (kind_of(&w->L, i)) {
    case SECTION_RAW: return raw_range(s, (size_t)off, n, w->staging);
    case SECTION_REMOVED: return s->removed + off;
    case SECTION_SCHEME: return w->scheme + off;
    case SECTION_APP_DATA: return s->app_data + off;
    case SECTION_TABLE: break;
    }
    const kh_lsh_table *t = &s->tables[i / 2];
    const uint8_t *p = (i % 2 ? (const uint8_t *)t->entries : (const uint8_t *)t->dir) + off;
    if (host_is_little_endian()) return p;
    u32_to_file(w->staging, p, n); /* entries are pairs of u32 too */
    return w->staging;
}

/* Writes the whole format. Statuses: OK, INTERRUPTED (no message), or an
 * error with its message. */
static int emit(writer *w, knowhere_error **err) {
    const layout *L = &w->L;
    uint8_t *sums = w->meta + L->header_bytes;
    int status = put_range(w, w->meta, L->header_bytes, err);
    for (size_t i = 0; status == KNOWHERE_OK && i < L->sections; ++i) {
        uint64_t len = section_bytes_of(L, i);
        size_t chunks = 0;
        for (uint64_t off = 0; off < len && status == KNOWHERE_OK; off += CHUNK) {
            if (knowhere_interrupt_is_interrupted(w->interrupt)) return KNOWHERE_ERR_INTERRUPTED;
            size_t n = min_size(len - off, CHUNK);
            const uint8_t *p = section_range(w, i, off, n);
            put_u64(w->hashes + 8 * chunks++, kh_xxh3_64(p, n));
            status = put_bytes(w, p, n, err);
        }
        put_u64(sums + 8 * i, kh_xxh3_64(w->hashes, 8 * chunks));
    }
    uint64_t file_sum = 0;
    if (status == KNOWHERE_OK)
        status = chunked_hash(w->meta, L->header_bytes + 8 * (uint64_t)L->sections, w->hashes,
                              w->interrupt, &file_sum);
    if (status != KNOWHERE_OK) return status;
    put_u64(sums + 8 * (uint64_t)L->sections, file_sum);
    return put_range(w, sums, L->trailer_bytes, err);
}

/* Enters the search guard and checks that there is something to save.
 * *flat is the state to write: the state itself, or, when it has rows in
 * deltas, a copy whose tables hold every row (the file has no deltas). */
static int begin_save(const knowhere_minhash_lsh *const_index, CInterrupt interrupt,
                      const kh_lsh_state **state, const kh_lsh_state **flat,
                      knowhere_error **err) {
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return stopped(interrupt, err, "save");
    /* The guard counters are the only thing a save writes in the index. */
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index;
    status = kh_minhash_lsh_enter_reader(index, state, err);
    if (status != KNOWHERE_OK) return status;
    if (*state == NULL) {
        kh_minhash_lsh_leave_reader(index, NULL);
        return kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX,
                         "cannot save an index that has not been built");
    }
    status = kh_lsh_flat_state(*state, kh_minhash_lsh_threads(index), interrupt, flat);
    if (status != KNOWHERE_OK) {
        kh_minhash_lsh_leave_reader(index, *state);
        if (status == KNOWHERE_ERR_NO_MEMORY)
            return kh_errorf(err, status, "out of memory during save");
        return stopped(interrupt, err, "save");
    }
    return KNOWHERE_OK;
}

static void end_save(const knowhere_minhash_lsh *index, const kh_lsh_state *state,
                     const kh_lsh_state *flat) {
    kh_lsh_flat_state_free(state, flat);
    kh_minhash_lsh_leave_reader((knowhere_minhash_lsh *)index, state);
}

/* Creates `path`.tmp.XXXXXX exclusively (mode 0666 less the umask, as a
 * plain fopen would give). Returns the descriptor, or -1 with errno. */
static int create_temp(const char *path, char *tmp, size_t len) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t seed[3] = {kh_monotonic_ns(), (uint64_t)getpid(), (uint64_t)(uintptr_t)tmp};
    for (int attempt = 0; attempt < 100; ++attempt) {
        seed[0] += 0x9E3779B97F4A7C15ull;
        uint64_t r = kh_xxh3_64(seed, sizeof seed);
        memcpy(tmp, path, len);
        memcpy(tmp + len, ".tmp.", 5);
        for (int i = 0; i < 6; ++i, r /= 62) tmp[len + 5 + i] = alphabet[r % 62];
        tmp[len + 11] = '\0';
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Makes the rename durable; best effort (some file systems refuse to sync
 * a directory, and the save has succeeded anyway). */
static void sync_parent_directory(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash == NULL) {
        dir = malloc(2);
        if (dir) memcpy(dir, ".", 2);
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        dir = malloc(n + 1);
        if (dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
        }
    }
    if (dir == NULL) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

static int file_error(knowhere_error **err, const char *what, const char *path, int errnum) {
    char reason[128];
    describe_errno(errnum, reason, sizeof reason);
    return kh_errorf(err, KNOWHERE_ERR_FILE, "%s '%s': %s", what, path, reason);
}

/* What a file of this mode is, for a message. */
static const char *kind_of_file(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

/* KNOWHERE_OK if a save may rename a new file over `target` (resolved by
 * save_destination): there is nothing there, or a regular file. Anything
 * else (a FIFO, a device node, a directory) would be replaced by a regular
 * file, which is never what the caller meant. */
static int check_replaceable(const char *path, const char *target, knowhere_error **err) {
    struct stat st;
    if (lstat(target, &st) != 0)
        return errno == ENOENT ? KNOWHERE_OK : file_error(err, "cannot save to", path, errno);
    if (S_ISREG(st.st_mode)) return KNOWHERE_OK;
    if (strcmp(path, target) == 0)
        return kh_errorf(err, KNOWHERE_ERR_FILE,
                         "cannot save to '%s': it is %s, and only a regular file is replaced",
                         path, kind_of_file(st.st_mode));
    return kh_errorf(err, KNOWHERE_ERR_FILE,
                     "cannot save to '%s': it links to '%s', which is %s, and only a regular "
                     "file is replaced", path, target, kind_of_file(st.st_mode));
}

/* The file a save writes: `path` itself, or, when `path` is a symbolic
 * link, the file it leads to (so the link stays a link, as when writing
 * through it). A link to nothing is refused: nothing says where its file
 * should go. *target is path or a new string to free. */
static int save_destination(const char *path, char **target, knowhere_error **err) {
    *target = (char *)path;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) return check_replaceable(path, path, err);
    char *resolved = realpath(path, NULL);
    if (resolved == NULL) {
        char reason[128];
        describe_errno(errno, reason, sizeof reason);
        return kh_errorf(err, KNOWHERE_ERR_FILE,
                         "cannot save to '%s': cannot follow the symbolic link: %s", path,
                         reason);
    }
    *target = resolved;
    return check_replaceable(path, resolved, err);
}

/* Writes the temporary file completely, syncs and closes it, and renames it
 * over `target`; messages name `path`. On failure it is gone. */
static int write_and_rename(writer *w, const char *path, const char *target,
                            knowhere_error **err) {
    size_t len = strlen(target);
    char *tmp = malloc(len + 12);
    if (tmp == NULL) return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory during save");
    w->path = path;
    w->tmp_path = tmp;
    w->fd = create_temp(target, tmp, len);
    if (w->fd < 0) {
        char reason[128];
        describe_errno(errno, reason, sizeof reason);
        int status = kh_errorf(err, KNOWHERE_ERR_FILE,
                               "cannot save to '%s': cannot create '%s': %s", path, tmp, reason);
        free(tmp);
        return status;
    }
    kh_progress_begin(&w->progress, w->interrupt, KNOWHERE_PHASE_SAVE, w->L.file_bytes);
    int status = emit(w, err);
    /* Durable before it replaces the old file: a crash must not leave an
     * empty or partial file at `path` where a good one was. */
    if (status == KNOWHERE_OK && fsync(w->fd) != 0)
        status = temp_error(w, "syncing", errno, err);
    if (close(w->fd) != 0 && status == KNOWHERE_OK)
        status = temp_error(w, "closing", errno, err);
    w->fd = -1;
    if (status == KNOWHERE_OK && knowhere_interrupt_is_interrupted(w->interrupt))
        status = KNOWHERE_ERR_INTERRUPTED; /* the last moment to back out */
    /* Again: what is at the target may have changed while the file was
     * written. */
    if (status == KNOWHERE_OK) status = check_replaceable(path, target, err);
    if (status == KNOWHERE_OK && rename(tmp, target) != 0)
        status = file_error(err, "cannot save to", path, errno);
    if (status != KNOWHERE_OK) unlink(tmp);
    else sync_parent_directory(target);
    kh_progress_end(&w->progress, status);
    free(tmp);
    return status;
}

/* Writes a temporary file next to the target (the path, or the file a link
 * at the path leads to) completely, syncs and closes it, and renames it
 * over the target. On failure it is gone. */
static int save_file(writer *w, const char *path, knowhere_error **err) {
    char *target = NULL;
    int status = save_destination(path, &target, err);
    if (status == KNOWHERE_OK) status = write_and_rename(w, path, target, err);
    if (target != path) free(target);
    return status;
}

int knowhere_minhash_lsh_save_with_interrupt(const knowhere_minhash_lsh *index,
                                             const char *path, CInterrupt interrupt,
                                             knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (path == NULL || path[0] == '\0')
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "path is NULL or empty");
    const kh_lsh_state *s = NULL, *flat = NULL;
    int status = begin_save(index, interrupt, &s, &flat, err);
    if (status != KNOWHERE_OK) return status;
    writer w;
    kh_signature_scheme scheme;
    bool has_scheme = kh_minhash_lsh_scheme(index, &scheme);
    status = writer_init(&w, flat, has_scheme ? &scheme : NULL, interrupt, err);
    if (status == KNOWHERE_OK) status = save_file(&w, path, err);
    writer_free(&w);
    end_save(index, s, flat);
    if (status == KNOWHERE_ERR_INTERRUPTED) return stopped(interrupt, err, "save");
    return status;
}

int knowhere_minhash_lsh_save(const knowhere_minhash_lsh *index, const char *path,
                              knowhere_error **err) {
    return knowhere_minhash_lsh_save_with_interrupt(index, path, NULL, err);
}

int knowhere_minhash_lsh_serialize_with_interrupt(const knowhere_minhash_lsh *index,
                                                  uint8_t **out, size_t *out_len,
                                                  CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (out == NULL || out_len == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "out or out_len is NULL");
    const kh_lsh_state *s = NULL, *flat = NULL;
    int status = begin_save(index, interrupt, &s, &flat, err);
    if (status != KNOWHERE_OK) return status;
    writer w;
    kh_signature_scheme scheme;
    bool has_scheme = kh_minhash_lsh_scheme(index, &scheme);
    status = writer_init(&w, flat, has_scheme ? &scheme : NULL, interrupt, err);
    if (status == KNOWHERE_OK) {
        w.mem = malloc((size_t)w.L.file_bytes);
        if (w.mem == NULL)
            status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY,
                               "out of memory for a %llu-byte serialized index",
                               (unsigned long long)w.L.file_bytes);
    }
    if (status == KNOWHERE_OK) {
        kh_progress_begin(&w.progress, interrupt, KNOWHERE_PHASE_SAVE, w.L.file_bytes);
        status = emit(&w, err);
        kh_progress_end(&w.progress, status);
    }
    if (status == KNOWHERE_OK) {
        *out = w.mem;
        *out_len = (size_t)w.L.file_bytes;
    } else {
        kh_free_deferred(w.mem, (size_t)w.pos);
    }
    writer_free(&w);
    end_save(index, s, flat);
    if (status == KNOWHERE_ERR_INTERRUPTED) return stopped(interrupt, err, "serialize");
    return status;
}

int knowhere_minhash_lsh_serialize(const knowhere_minhash_lsh *index, uint8_t **out,
                                   size_t *out_len, knowhere_error **err) {
    return knowhere_minhash_lsh_serialize_with_interrupt(index, out, out_len, NULL, err);
}

void knowhere_buffer_free(uint8_t *buffer) { free(buffer); }

/* ---- reading -------------------------------------------------------------------- */

typedef struct {
    /* Where the bytes come from: fd >= 0, else mem. */
    int fd;
    const uint8_t *mem;
    uint64_t size;
    const char *what; /* "cannot load 'path'" or "cannot deserialize" */
    const char *path; /* NULL for memory */
    CInterrupt interrupt;
    kh_progress progress;
    knowhere_error **err;
    kh_signature_scheme scheme; /* the file's, when has_scheme */
    bool has_scheme;
} reader;

#define CORRUPT(r, ...) corrupt_error((r), __VA_ARGS__)

static int corrupt_error(reader *r, const char *format, ...) KH_PRINTF(2, 3);
static int corrupt_error(reader *r, const char *format, ...) {
    char message[400];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return kh_errorf(r->err, KNOWHERE_ERR_CORRUPT, "%s: %s", r->what, message);
}

/* Reads [off, off + n) of the input, which the caller has checked lies
 * within its size. */
static int read_at(reader *r, uint64_t off, void *dst, size_t n) {
    if (r->fd < 0) {
        memcpy(dst, r->mem + off, n);
        return KNOWHERE_OK;
    }
    if (sizeof(off_t) < 8 && off + n > (uint64_t)INT32_MAX)
        return file_error(r->err, "cannot read", r->path, EOVERFLOW);
    uint8_t *p = dst;
    while (n > 0) {
        ssize_t got = pread(r->fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return file_error(r->err, "cannot read", r->path, errno);
        if (got == 0)
            return CORRUPT(r, "truncated: the file ended at byte %llu of %llu (did it change "
                           "during the load?)", (unsigned long long)off,
                           (unsigned long long)r->size);
        p += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return KNOWHERE_OK;
}

/* Reads a range in chunks, polling the interrupt and counting progress. */
static int read_range(reader *r, uint64_t off, uint8_t *dst, uint64_t len) {
    for (uint64_t done = 0; done < len; done += CHUNK) {
        if (knowhere_interrupt_is_interrupted(r->interrupt)) return KNOWHERE_ERR_INTERRUPTED;
        size_t n = min_size(len - done, CHUNK);
        int status = read_at(r, off + done, dst + done, n);
        if (status != KNOWHERE_OK) return status;
        kh_progress_advance(&r->progress, n);
    }
    return KNOWHERE_OK;
}

/* The fixed header: magic, version, flags, section count; and the sizes
 * (the section lengths are read afterwards). */
static int parse_fixed_header(reader *r, const uint8_t *h, layout *L) {
    L->count = get_u64(h + 16);
    L->length = get_u64(h + 24);
    L->element_size = get_u64(h + 32);
    L->bands = get_u64(h + 40);
    L->rows_per_band = get_u64(h + 48);
    L->flags = get_u32(h + 12);
    /* Low 16 bits: the directory width; high 16: how many of its bits come
     * from the fingerprints (0 unless adds widened it: lsh_table.h). */
    uint32_t widths = get_u32(h + 56);
    L->prefix_bits = widths & 0xffff;
    L->key_bits = L->prefix_bits - (widths >> 16); /* checked in check_parameters */
    L->sections = get_u32(h + 60);
    if (L->flags & ~(uint32_t)KNOWN_FLAGS)
        return CORRUPT(r, "unknown flags 0x%x in the header", (unsigned)L->flags);
    uint32_t raw_flags = L->flags & FLAGS_ANY_RAW;
    if (raw_flags & (raw_flags - 1))
        return CORRUPT(r, "flags 0x%x give the raw section more than one form (full values, "
                       "8-bit or 16-bit codes)", (unsigned)L->flags);
    uint64_t expected = sections_for(L->bands, L->flags);
    if (L->sections != expected)
        return CORRUPT(r, "the header lists %u sections, but %llu bands%s%s%s need %llu",
                       (unsigned)L->sections, (unsigned long long)L->bands,
                       L->flags & FLAG_RAW ? " and raw data"
                       : raw_bits_of(L->flags) ? " and raw codes" : "",
                       L->flags & FLAG_REMOVED ? " and removed rows" : "",
                       L->flags & FLAG_SCHEME ? " and a signature scheme" : "",
                       (unsigned long long)expected);
    L->header_bytes = FIXED_HEADER + 8 * (uint64_t)L->sections;
    L->trailer_bytes = 8 * (uint64_t)L->sections + 8;
    if (r->size < L->header_bytes)
        return CORRUPT(r, "truncated: %llu bytes, but the header alone is %llu",
                       (unsigned long long)r->size, (unsigned long long)L->header_bytes);
    return KNOWHERE_OK;
}

/* The parameters, once the file checksum has vouched for the header. */
static int check_parameters(reader *r, layout *L, const uint8_t *lengths) {
    if (L->count == 0 || L->count > KH_MAX_SIGNATURES)
        return CORRUPT(r, "count %llu is not in 1..%zu", (unsigned long long)L->count,
                       KH_MAX_SIGNATURES);
    if (L->length == 0) return CORRUPT(r, "mh_vec_length is 0");
    if (L->element_size < 1 || L->element_size > 32)
        return CORRUPT(r, "element size %llu is not in 1..32",
                       (unsigned long long)L->element_size);
    if (L->bands == 0 || L->bands > L->length)
        return CORRUPT(r, "bands %llu is not in 1..mh_vec_length (%llu)",
                       (unsigned long long)L->bands, (unsigned long long)L->length);
    if (L->rows_per_band != L->length / L->bands)
        return CORRUPT(r, "rows per band %llu is not mh_vec_length / bands = %llu",
                       (unsigned long long)L->rows_per_band,
                       (unsigned long long)(L->length / L->bands));
    if (L->key_bits > L->prefix_bits)
        return CORRUPT(r, "%u of the %u prefix bits come from fingerprints",
                       (unsigned)(L->prefix_bits - L->key_bits), (unsigned)L->prefix_bits);
    if (L->prefix_bits > MAX_PREFIX_BITS)
        return CORRUPT(r, "prefix bits %u is more than %d", (unsigned)L->prefix_bits,
                       MAX_PREFIX_BITS);
    if (raw_bits_of(L->flags) / 8 >= L->element_size)
        return CORRUPT(r, "%u-bit codes of %llu-byte values", (unsigned)raw_bits_of(L->flags),
                       (unsigned long long)L->element_size);
    uint64_t signature_bytes;
    if (!mul_ok(L->length, L->element_size, &signature_bytes) || signature_bytes > SIZE_MAX)
        return CORRUPT(r, "the signature size overflows: %llu values of %llu bytes",
                       (unsigned long long)L->length, (unsigned long long)L->element_size);
    if (L->flags & FLAG_APP_DATA) { /* its own length: one encoding, never empty */
        L->app_bytes = get_u64(lengths + 8 * ((size_t)L->sections - 1));
        if (L->app_bytes == 0 || L->app_bytes > SIZE_MAX)
            return CORRUPT(r, "the application data section is %llu bytes",
                           (unsigned long long)L->app_bytes);
    }
    if (!layout_sizes(L, signature_bytes))
        return CORRUPT(r, "the section sizes overflow");
    for (size_t i = 0; i < L->sections; ++i) {
        if ((i & 0x7fff) == 0 && knowhere_interrupt_is_interrupted(r->interrupt))
            return KNOWHERE_ERR_INTERRUPTED;
        uint64_t got = get_u64(lengths + 8 * i), want = section_bytes_of(L, i);
        if (got != want) {
            char name[64];
            section_name(L, i, name, sizeof name);
            return CORRUPT(r, "section '%s' is %llu bytes, the parameters give %llu", name,
                           (unsigned long long)got, (unsigned long long)want);
        }
    }
    return KNOWHERE_OK;
}

/* Reads and authenticates the header and the trailer into *meta (header
 * bytes, then section checksums, then the file checksum). */
static int read_meta(reader *r, layout *L, uint8_t **meta) {
    uint8_t fixed[FIXED_HEADER];
    if (r->size < 8)
        return CORRUPT(r, "truncated: %llu bytes, less than the 8-byte magic",
                       (unsigned long long)r->size);
    int status = read_at(r, 0, fixed, 8);
    if (status != KNOWHERE_OK) return status;
    if (memcmp(fixed, MAGIC, 8) != 0)
        return CORRUPT(r, "bad magic: not a knowhere-rs MinHash-LSH index");
    if (r->size < 12)
        return CORRUPT(r, "truncated: %llu bytes, less than the magic and version",
                       (unsigned long long)r->size);
    status = read_at(r, 8, fixed + 8, 4);
    if (status != KNOWHERE_OK) return status;
    uint32_t version = get_u32(fixed + 8);
    if (version != FORMAT_VERSION)
        return CORRUPT(r, "unsupported format version %u (this library reads version %d)",
                       (unsigned)version, FORMAT_VERSION);
    if (r->size < FIXED_HEADER)
        return CORRUPT(r, "truncated: %llu bytes, less than the %d-byte fixed header",
                       (unsigned long long)r->size, FIXED_HEADER);
    status = read_at(r, 12, fixed + 12, FIXED_HEADER - 12);
    if (status == KNOWHERE_OK) status = parse_fixed_header(r, fixed, L);
    if (status != KNOWHERE_OK) return status;

    /* header_bytes <= size (checked), and trailer_bytes < header_bytes: the
     * buffer is less than twice the input. */
    *meta = malloc((size_t)(L->header_bytes + L->trailer_bytes));
    if (*meta == NULL)
        return kh_errorf(r->err, KNOWHERE_ERR_NO_MEMORY, "%s: out of memory", r->what);
    memcpy(*meta, fixed, FIXED_HEADER);
    status = read_range(r, FIXED_HEADER, *meta + FIXED_HEADER,
                        L->header_bytes - FIXED_HEADER);
    if (status != KNOWHERE_OK) return status;

    uint64_t body = 0, total;
    bool ok = true;
    for (size_t i = 0; i < L->sections && ok; ++i) {
        if ((i & 0x7fff) == 0 && knowhere_interrupt_is_interrupted(r->interrupt))
            return KNOWHERE_ERR_INTERRUPTED;
        ok = add_ok(body, get_u64(*meta + FIXED_HEADER + 8 * i), &body);
    }
    ok = ok && add_ok(body, L->header_bytes + L->trailer_bytes, &total);
    if (!ok || total > r->size)
        return CORRUPT(r, "truncated: %llu bytes, but the header describes %s%llu",
                       (unsigned long long)r->size, ok ? "" : "more than ",
                       (unsigned long long)(ok ? total : UINT64_MAX));
    if (total < r->size)
        return CORRUPT(r, "%llu bytes, but the header describes %llu (trailing data)",
                       (unsigned long long)r->size, (unsigned long long)total);
    L->body_bytes = body;
    L->file_bytes = total;
    uint8_t *trailer = *meta + L->header_bytes;
    status = read_range(r, L->header_bytes + body, trailer, L->trailer_bytes);
    if (status != KNOWHERE_OK) return status;

    uint8_t *hashes = malloc(((L->header_bytes + 8 * (uint64_t)L->sections) / CHUNK + 1) * 8);
    if (hashes == NULL)
        return kh_errorf(r->err, KNOWHERE_ERR_NO_MEMORY, "%s: out of memory", r->what);
    uint64_t sum = 0;
    status = chunked_hash(*meta, L->header_bytes + 8 * (uint64_t)L->sections, hashes,
                          r->interrupt, &sum);
    free(hashes);
    if (status != KNOWHERE_OK) return status;
    if (sum != get_u64(trailer + 8 * (uint64_t)L->sections))
        return CORRUPT(r, "checksum mismatch in the header or the list of section checksums");
    return check_parameters(r, L, *meta + FIXED_HEADER);
}

/* ---- structural validation, chunk by chunk as the sections arrive ---- */

typedef struct {
    const layout *L;
    uint8_t *seen;  /* one bit per id: flipped by every entry of a band */
    size_t bucket;  /* the entry scan's current bucket */
    char problem[200];
} validator;

#define PROBLEM(v, ...) snprintf((v)->problem, sizeof (v)->problem, __VA_ARGS__)

/* Directory values [first, first + n) of band b, all read. */
static void check_dir(validator *v, size_t b, const uint32_t *dir, size_t first, size_t n) {
    const size_t count = (size_t)v->L->count, last = (size_t)1 << v->L->prefix_bits;
    for (size_t j = first; j < first + n; ++j) {
        uint32_t x = dir[j];
        if (j == 0 && x != 0) {
            PROBLEM(v, "band %zu directory starts at %u, not 0", b, (unsigned)x);
        } else if (j > 0 && x < dir[j - 1]) {
            PROBLEM(v, "band %zu directory decreases at bucket %zu (%u < %u)", b, j,
                    (unsigned)x, (unsigned)dir[j - 1]);
        } else if (x > count) {
            PROBLEM(v, "band %zu directory entry %zu is %u, past the count %zu", b, j,
                    (unsigned)x, count);
        } else if (j == last && x != count) {
            PROBLEM(v, "band %zu directory ends at %u, not at the count %zu", b, (unsigned)x,
                    count);
        } else {
            continue;
        }
        return;
    }
}

/* Entries [first, first + n) of band b, all read; the directory is valid. */
static int check_entries(validator *v, CInterrupt interrupt, size_t b, const kh_lsh_table *t,
                         size_t first, size_t n) {
    const size_t count = (size_t)v->L->count;
    const uint8_t expect = b & 1; /* an odd band finds every bit set by the even one */
    if (first == 0) v->bucket = 0;
    size_t steps = 0;
    for (size_t e = first; e < first + n; ++e) {
        while (t->dir[v->bucket + 1] <= e) { /* ends: dir[last] == count > e */
            v->bucket++;
            if ((++steps & 0xffff) == 0 && knowhere_interrupt_is_interrupted(interrupt))
                return KNOWHERE_ERR_INTERRUPTED;
        }
        kh_lsh_entry x = t->entries[e];
        if (x.id >= count) {
            PROBLEM(v, "band %zu entry %zu has id %u, not below the count %zu", b, e,
                    (unsigned)x.id, count);
            return KNOWHERE_OK;
        }
        uint8_t *byte = &v->seen[x.id >> 3], bit = (uint8_t)(1u << (x.id & 7));
        if (((*byte & bit) != 0) != expect) {
            PROBLEM(v, "band %zu has id %u more than once", b, (unsigned)x.id);
            return KNOWHERE_OK;
        }
        *byte ^= bit;
        if (e > t->dir[v->bucket]) {
            kh_lsh_entry p = t->entries[e - 1];
            if (!(p.fingerprint < x.fingerprint ||
                  (p.fingerprint == x.fingerprint && p.id < x.id))) {
                PROBLEM(v, "band %zu entry %zu is out of order in bucket %zu", b, e,
                        v->bucket);
                return KNOWHERE_OK;
            }
        }
    }
    return KNOWHERE_OK;
}

/* ---- decoding a whole input ---------------------------------------------------- */

/* The state's fixed parts. Its arrays come section by section as they are
 * read (read_section): a table's directory and entries, the raw data and
 * the removed rows stay NULL until then, which says "empty" to whoever
 * frees the state. */
static int alloc_state(const layout *L, kh_lsh_state **out) {
    kh_lsh_state *s = calloc(1, sizeof *s);
    *out = s;
    if (s == NULL) return KNOWHERE_ERR_NO_MEMORY;
    *s = (kh_lsh_state){
        .count = (size_t)L->count, .length = (size_t)L->length,
        .element_size = (size_t)L->element_size, .bands = (size_t)L->bands,
        .rows_per_band = (size_t)L->rows_per_band,
        .signature_bytes = (size_t)(L->length * L->element_size),
        .band_bytes = (size_t)(L->rows_per_band * L->element_size),
    };
    kh_raw_form_init(s, raw_bits_of(L->flags));
    /* 16 bytes per band: the header lists two 8-byte lengths per band. */
    s->tables = calloc(s->bands, sizeof *s->tables);
    if (s->tables == NULL) return KNOWHERE_ERR_NO_MEMORY;
    for (size_t b = 0; b < s->bands; ++b)
        s->tables[b].layout = (kh_lsh_layout){L->prefix_bits, L->key_bits};
    if (L->flags & FLAGS_ANY_RAW) {
        s->raw = calloc(1, sizeof *s->raw);
        if (s->raw == NULL) return KNOWHERE_ERR_NO_MEMORY;
        s->raw_segments = s->raw_segments_capacity = 1;
        s->raw[0] = (kh_raw_segment){NULL, 0, s->count, s->count};
    }
    return KNOWHERE_OK;
}

/* Hands a completely read section's array to the state. */
static void attach_section(kh_lsh_state *s, const layout *L, size_t i, uint8_t *array) {
    switch (kind_of(L, i)) {
    case SECTION_RAW: s->raw[0].data = array; break;
    case SECTION_SCHEME: break; /* taken by take_scheme */
    case SECTION_REMOVED:
        s->removed = array;
        s->removed_capacity = (size_t)L->removed_bytes;
        break;
    case SECTION_APP_DATA:
        s->app_data = array;
        s->app_bytes = (size_t)L->app_bytes;
        break;
    case SECTION_TABLE:
        if (i % 2) s->tables[i / 2].entries = (kh_lsh_entry *)(void *)array;
        else s->tables[i / 2].dir = (uint32_t *)(void *)array;
        break;
    }
}

/* Makes room for `need` bytes of a `len`-byte section in *array (of *cap
 * bytes), doubling: the array never holds much more than twice what has
 * been read, so an input that declares more than it holds (a sparse file)
 * is rejected at its first error having allocated in proportion to what
 * was read, and the whole section is copied at most about once on the way
 * (glibc moves large blocks with mremap, copying nothing). */
static bool grow_section(uint8_t **array, size_t *cap, size_t need, uint64_t len) {
    if (need <= *cap) return true;
    size_t want = *cap > (SIZE_MAX / 2) ? SIZE_MAX : 2 * *cap;
    want = min_size(len, want > need ? want : need);
    uint8_t *grown = realloc(*array, want);
    if (grown == NULL) return false;
    *array = grown;
    *cap = want;
    return true;
}

/* The structural checks of the chunk [done, done + n) of table section i,
 * read into `array`. */
static int check_table_chunk(reader *r, kh_lsh_state *s, size_t i, uint8_t *array,
                             uint64_t done, size_t n, validator *v) {
    size_t band = i / 2;
    if (i % 2 == 0) {
        check_dir(v, band, (const uint32_t *)(void *)array, (size_t)done / 4, n / 4);
        return KNOWHERE_OK;
    }
    kh_lsh_table view = {s->tables[band].dir, (kh_lsh_entry *)(void *)array,
                         s->tables[band].layout};
    return check_entries(v, r->interrupt, band, &view, (size_t)done / 8, n / 8);
}

/* The removed rows' bitset, once read: no bit at count or beyond, and at
 * least one set (a writer sets the flag only then). Sets removed_count. */
static int check_removed(reader *r, kh_lsh_state *s) {
    static const uint8_t ones_in_nibble[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    size_t bytes = (s->count + 7) / 8, ones = 0;
    for (size_t i = 0; i < bytes; ++i)
        ones += ones_in_nibble[s->removed[i] & 15] + ones_in_nibble[s->removed[i] >> 4];
    if (s->count % 8 && (s->removed[bytes - 1] >> (s->count % 8)) != 0)
        return CORRUPT(r, "the removed rows' bitset marks rows beyond count %zu", s->count);
    if (ones == 0) return CORRUPT(r, "the removed-rows flag is set but no row is removed");
    s->removed_count = ones;
    return KNOWHERE_OK;
}

/* The signature scheme section, once read: a version (0 is none) and
 * signatures of the index's shape. Its options are otherwise not checked:
 * a later library may record options this one does not know, and loading
 * must not fail on them (a query made with other options is refused by
 * knowhere_minhash_lsh_check_signature_scheme). */
static int take_scheme(reader *r, const layout *L, const uint8_t *bytes) {
    decode_scheme(bytes, &r->scheme);
    const knowhere_signature_options *o = &r->scheme.options;
    if (r->scheme.version == 0) return CORRUPT(r, "the signature scheme has version 0");
    if (o->num_hashes != L->length || o->value_bytes != L->element_size)
        return CORRUPT(r, "the signature scheme makes %u values of %u bytes, but the index holds "
                       "%llu values of %llu bytes", (unsigned)o->num_hashes,
                       (unsigned)o->value_bytes, (unsigned long long)L->length,
                       (unsigned long long)L->element_size);
    r->has_scheme = true;
    return KNOWHERE_OK;
}

/* Reads section i (at `off`) into a new array, hashing and validating as
 * it goes, and hands it to the state once complete. Stops at the first
 * structural error: nothing after it is read (an input declaring gigabytes
 * it does not hold costs what it holds). */
static int read_section(reader *r, kh_lsh_state *s, const layout *L, size_t i, uint64_t off,
                        uint64_t expected_sum, uint8_t *hashes, validator *v) {
    uint64_t len = section_bytes_of(L, i);
    uint8_t *array = NULL;
    size_t cap = 0, chunks = 0;
    bool is_table = kind_of(L, i) == SECTION_TABLE;
    int status = KNOWHERE_OK;
    v->problem[0] = '\0';
    for (uint64_t done = 0; status == KNOWHERE_OK && done < len; done += CHUNK) {
        if (knowhere_interrupt_is_interrupted(r->interrupt)) {
            status = KNOWHERE_ERR_INTERRUPTED;
            break;
        }
        size_t n = min_size(len - done, CHUNK);
        if (!grow_section(&array, &cap, (size_t)done + n, len)) {
            char name[64];
            section_name(L, i, name, sizeof name);
            status = kh_errorf(r->err, KNOWHERE_ERR_NO_MEMORY,
                               "%s: out of memory for section '%s' (%llu bytes)", r->what, name,
                               (unsigned long long)len);
            break;
        }
        uint8_t *p = array + done;
        status = read_at(r, off + done, p, n);
        if (status != KNOWHERE_OK) break;
        put_u64(hashes + 8 * chunks++, kh_xxh3_64(p, n));
        if (is_table && !host_is_little_endian()) u32_from_file(p, n);
        if (is_table) status = check_table_chunk(r, s, i, array, done, n, v);
        if (status == KNOWHERE_OK && v->problem[0] != '\0') status = CORRUPT(r, "%s", v->problem);
        kh_progress_advance(&r->progress, n);
    }
    if (status == KNOWHERE_OK && kh_xxh3_64(hashes, 8 * chunks) != expected_sum) {
        char name[64];
        section_name(L, i, name, sizeof name);
        status = CORRUPT(r, "checksum mismatch in section '%s'", name);
    }
    if (status != KNOWHERE_OK) {
        kh_free_deferred(array, cap);
        return status;
    }
    if (kind_of(L, i) == SECTION_SCHEME) {
        status = take_scheme(r, L, array);
        free(array);
        return status;
    }
    attach_section(s, L, i, array);
    return kind_of(L, i) == SECTION_REMOVED ? check_removed(r, s) : KNOWHERE_OK;
}

/* Reads, checks and builds the state of a whole input. On success *out is a
 * complete state; on failure nothing is left allocated (big blocks go to
 * the deferred release). Statuses: OK, INTERRUPTED (no message), or an
 * error with its message. */
static int decode(reader *r, kh_lsh_state **out) {
    *out = NULL;
    kh_progress_begin(&r->progress, r->interrupt, KNOWHERE_PHASE_LOAD, r->size);
    layout L;
    memset(&L, 0, sizeof L);
    uint8_t *meta = NULL, *hashes = NULL;
    kh_lsh_state *s = NULL;
    validator v = {.L = &L};
    int status = KNOWHERE_OK;
    if (r->size > SIZE_MAX)
        status = kh_errorf(r->err, KNOWHERE_ERR_NO_MEMORY, "%s: %llu bytes cannot be held in "
                           "memory here", r->what, (unsigned long long)r->size);
    if (status == KNOWHERE_OK) status = read_meta(r, &L, &meta);
    if (status == KNOWHERE_OK) {
        int alloc = alloc_state(&L, &s);
        hashes = malloc(max_chunks(&L) * 8);
        v.seen = calloc((size_t)(L.count + 7) / 8, 1); /* count <= entries bytes / 8 */
        if (alloc != KNOWHERE_OK || hashes == NULL || v.seen == NULL)
            status = kh_errorf(r->err, KNOWHERE_ERR_NO_MEMORY,
                               "%s: out of memory for an index of %llu bytes", r->what,
                               (unsigned long long)L.file_bytes);
    }
    uint64_t off = L.header_bytes;
    for (size_t i = 0; status == KNOWHERE_OK && i < L.sections; ++i) {
        uint64_t sum = get_u64(meta + L.header_bytes + 8 * i);
        status = read_section(r, s, &L, i, off, sum, hashes, &v);
        off += section_bytes_of(&L, i);
    }
    kh_progress_end(&r->progress, status);
    free(meta);
    free(hashes);
    kh_free_deferred(v.seen, (size_t)L.count / 8);
    if (status == KNOWHERE_OK) *out = s;
    else kh_lsh_state_release(s);
    return status;
}

/* Swaps a decoded state and its signature scheme in (on success) under the
 * writer guard the caller holds, and leaves the guard. */
static int finish_load(knowhere_minhash_lsh *index, kh_lsh_state *next, const reader *r,
                       int status, CInterrupt interrupt, const char *what, knowhere_error **err) {
    if (status == KNOWHERE_OK) {
        kh_minhash_lsh_publish(index, next);
        kh_minhash_lsh_set_scheme(index, &r->scheme, r->has_scheme);
    }
    kh_minhash_lsh_leave_writer(index);
    if (status == KNOWHERE_ERR_INTERRUPTED) return stopped(interrupt, err, what);
    return status;
}

int knowhere_minhash_lsh_load_with_interrupt(knowhere_minhash_lsh *index, const char *path,
                                             CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (path == NULL || path[0] == '\0')
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "path is NULL or empty");
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return stopped(interrupt, err, "load");
    status = kh_minhash_lsh_enter_writer(index, false, err);
    if (status != KNOWHERE_OK) return status;

    kh_lsh_state *next = NULL;
    char what[300];
    snprintf(what, sizeof what, "cannot load '%s'", path);
    reader r = {.fd = -1, .what = what, .path = path, .interrupt = interrupt, .err = err};
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        status = file_error(err, "cannot open", path, errno);
    } else if (fstat(fd, &st) != 0) {
        status = file_error(err, "cannot read", path, errno);
    } else if (S_ISDIR(st.st_mode)) {
        status = file_error(err, "cannot load", path, EISDIR);
    } else if (!S_ISREG(st.st_mode)) {
        status = kh_errorf(err, KNOWHERE_ERR_FILE, "cannot load '%s': not a regular file", path);
    } else {
        r.fd = fd;
        r.size = (uint64_t)st.st_size;
        status = decode(&r, &next);
    }
    if (fd >= 0) close(fd);
    return finish_load(index, next, &r, status, interrupt, "load", err);
}

int knowhere_minhash_lsh_load(knowhere_minhash_lsh *index, const char *path,
                              knowhere_error **err) {
    return knowhere_minhash_lsh_load_with_interrupt(index, path, NULL, err);
}

int knowhere_minhash_lsh_deserialize_with_interrupt(knowhere_minhash_lsh *index,
                                                    const uint8_t *data, size_t data_len,
                                                    CInterrupt interrupt,
                                                    knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (data == NULL && data_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "data is NULL");
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return stopped(interrupt, err, "deserialize");
    status = kh_minhash_lsh_enter_writer(index, false, err);
    if (status != KNOWHERE_OK) return status;
    kh_lsh_state *next = NULL;
    reader r = {.fd = -1, .mem = data, .size = data_len, .what = "cannot deserialize",
                .interrupt = interrupt, .err = err};
    status = decode(&r, &next);
    return finish_load(index, next, &r, status, interrupt, "deserialize", err);
}

int knowhere_minhash_lsh_deserialize(knowhere_minhash_lsh *index, const uint8_t *data,
                                     size_t data_len, knowhere_error **err) {
    return knowhere_minhash_lsh_deserialize_with_interrupt(index, data, data_len, NULL, err);
}
