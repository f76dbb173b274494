/* Signatures (knowhere_rs.h, "Signatures"; docs/signatures.md):
 *
 *  - test vectors: fixed texts in several scripts and invalid UTF-8 under
 *    four configurations, and from_hashes corner cases, against values an
 *    independent Python implementation (scripts/signature_reference.py)
 *    computed from the document;
 *  - the documented identities: text == from_hashes of the XXH3-64 of its
 *    shingles; 4-byte values are the low halves of the 8-byte ones;
 *  - unbiasedness: over many pairs with a known Jaccard J the mean estimate
 *    is within a 99.9 % bound of J and the mean squared error is within a
 *    factor 1.5 of J(1-J)/K, from hashes and from text;
 *  - normalisation (case, whitespace), empty documents, batch == single on
 *    1, 2 and 7 threads, every invalid argument, interrupts, deadlines,
 *    progress, and signatures feeding an index that finds a near-duplicate. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"
#include "progress_recorder.h"
#include "test_data.h"
#include "xxh3.h"

static const double Z_999 = 3.2905; /* two-sided 99.9 % normal quantile */

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static uint64_t value_at(const uint8_t *sig, size_t i, size_t vb) {
    uint64_t v = 0;
    for (size_t b = 0; b < vb; ++b) v |= (uint64_t)sig[i * vb + b] << (8 * b);
    return v;
}

static knowhere_signature_options opts(uint32_t k, uint32_t kind, uint32_t n, uint32_t vb,
                                       uint32_t flags, uint64_t seed) {
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    o.num_hashes = k;
    o.shingle_kind = kind;
    o.shingle_size = n;
    o.value_bytes = vb;
    o.flags = flags;
    o.seed = seed;
    return o;
}

/* from_text with a buffer of exactly the signature size; returns the count. */
static size_t sign(const knowhere_signature_options *o, const char *text, size_t len,
                   uint8_t *out) {
    size_t count = 12345;
    knowhere_error *err = NULL;
    int st = knowhere_signature_from_text(o, text, len, out,
                                          (size_t)o->num_hashes * o->value_bytes, &count, &err);
    if (st != KNOWHERE_OK) fprintf(stderr, "from_text: %s\n", knowhere_error_message(err));
    REQUIRE(st == KNOWHERE_OK);
    CHECK(err == NULL);
    return count;
}

static size_t sign_str(const knowhere_signature_options *o, const char *text, uint8_t *out) {
    return sign(o, text, strlen(text), out);
}

/* ---- test vectors ------------------------------------------------------------- */

typedef struct {
    const char *name, *text;
    size_t len;
} vector_text;

static const vector_text vector_texts[] = {
    {"ascii", "The quick brown fox jumps over the lazy dog", 43},
    {"ascii_long", "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness.", 229},
    {"spacing", "  Hello \x09\x0d\x0a  WORLD\xc2\xa0" "and\xe3\x80\x80" "all   of\xe2\x80\xa8you  ", 42},
    {"latin", "\xc3\x87\xc3\xa0 et l\xc3\xa0, l'\xc3\x89T\xc3\x89 D\xc3\x89J\xc3\x80 br\xc3\xbbl\xc3\xa9: \xc3\x86r\xc3\xb8sk\xc3\xb8" "bing, Stra\xc3\x9f" "e, \xc4\xb0stanbul", 70},
    {"greek", "\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3 \xce\xba\xce\xb1\xce\xb9 \xce\xa0\xce\xb7\xce\xbd\xce\xb5\xce\xbb\xcf\x8c\xcf\x80\xce\xb7 \xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91 \xce\x9a\xce\x91\xce\x99 \xce\x9b\xce\x9f\xce\x93\xce\x9f\xce\xa3", 69},
    {"cyrillic", "\xd0\xa1\xd1\x8a\xd0\xb5\xd1\x88\xd1\x8c \xd0\xb6\xd0\xb5 \xd0\xb5\xd1\x89\xd1\x91 \xd1\x8d\xd1\x82\xd0\xb8\xd1\x85 \xd0\xbc\xd1\x8f\xd0\xb3\xd0\xba\xd0\xb8\xd1\x85 \xd1\x84\xd1\x80\xd0\xb0\xd0\xbd\xd1\x86\xd1\x83\xd0\xb7\xd1\x81\xd0\xba\xd0\xb8\xd1\x85 \xd0\xb1\xd1\x83\xd0\xbb\xd0\xbe\xd0\xba, \xd0\xb4\xd0\xb0 \xd0\xb2\xd1\x8b\xd0\xbf\xd0\xb5\xd0\xb9 \xd0\xa7\xd0\x90\xd0\xae", 102},
    {"cjk", "\xe6\x9d\xb1\xe4\xba\xac\xe9\x83\xbd\xe3\x81\xaf\xe6\x97\xa5\xe6\x9c\xac\xe3\x81\xae\xe9\xa6\x96\xe9\x83\xbd\xe3\x81\xa7\xe3\x81\x99 \xe5\x8c\x97\xe4\xba\xac\xe6\x98\xaf\xe4\xb8\xad\xe5\x9b\xbd\xe7\x9a\x84\xe9\xa6\x96\xe9\x83\xbd", 58},
    {"emoji", "Party \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89 time \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 OK \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 done", 55},
    {"invalid", "ok \xff\xfe bad \xe2\x82 cut \xf0\x9f\x98 \xed\xa0\x80 surrogate \xc0\xaf over \x80" "end", 47},
    {"one_word", "Word", 4},
    {"whitespace", " \x09\x0a\x0d\x0b\x0c \xc2\x85\xe2\x80\x83 ", 13},
    {"empty", "", 0},
};

typedef struct {
    const char *config, *text;
    size_t shingles;
    uint64_t digest;
    uint64_t first[8];
} text_vector;

typedef struct {
    uint32_t k, m;
    uint64_t seed, digest;
} hash_vector;

/* Generated once by scripts/signature_reference.py (Unicode 14.0.0), an
 * independent Python implementation of docs/signatures.md: per configuration
 * and text, the distinct shingle count, FNV-1a 64 of the whole signature, and
 * its first 8 values. */
static const text_vector text_vectors[] = {
    {"default", "ascii", 7, 0x303A10C642CC6F41u, {0xE339C451, 0xA354E12B, 0x6B477DD1, 0xCE3993C9, 0xA354E12B, 0xA354E12B, 0x6B477DD1, 0xC3BCB3FF}},
    {"default", "ascii_long", 31, 0x1E8FF330DA46010Eu, {0xD4D47C77, 0x9E8655AB, 0xFFA62C8A, 0x7DD0B459, 0xF0B83E6D, 0xC6CF2519, 0xAD058E5E, 0x5422E1DF}},
    {"default", "spacing", 4, 0xB1608F346B9E35B9u, {0x481A61D1, 0x6A76DCFB, 0x2777DE9F, 0x481A61D1, 0x87D73FF4, 0x2777DE9F, 0x481A61D1, 0x87D73FF4}},
    {"default", "latin", 7, 0x44D4243E8DCA7D4Cu, {0x47ED1B6C, 0x035F74C4, 0x70F8CBAF, 0xDAD1DCAB, 0x47ED1B6C, 0x70F8CBAF, 0x84A0F4B0, 0x47ED1B6C}},
    {"default", "greek", 4, 0xDADF3D72601C3E97u, {0x73AFDF89, 0x73AFDF89, 0x73AFDF89, 0x73AFDF89, 0x629DD34B, 0x73AFDF89, 0x32D3FF7B, 0x19CF92A9}},
    {"default", "cyrillic", 8, 0xCCA59FD126EBD73Du, {0xDFE6FB95, 0x897638B2, 0xDFE6FB95, 0x7E9ED7F8, 0xDFE6FB95, 0x6648105E, 0x6648105E, 0x897638B2}},
    {"default", "cjk", 1, 0x266B02AA1163A125u, {0x016757A1, 0x016757A1, 0x016757A1, 0x016757A1, 0x016757A1, 0x016757A1, 0x016757A1, 0x016757A1}},
    {"default", "emoji", 5, 0x0133B166ED64DEC2u, {0xB01F32DF, 0xB01F32DF, 0xCC16B64A, 0xCC16B64A, 0xB01F32DF, 0xA15B2980, 0x12CF6DAC, 0x12CF6DAC}},
    {"default", "invalid", 9, 0xA6D3782CF585DC61u, {0xC10402F3, 0x67775575, 0x53032959, 0x53032959, 0x53032959, 0xC48A6B49, 0xDA7FBEE5, 0x42EA170A}},
    {"default", "one_word", 1, 0x60668699EB577225u, {0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC}},
    {"default", "whitespace", 0, 0xBE78BCDBD952DD25u, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}},
    {"default", "empty", 0, 0xBE78BCDBD952DD25u, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}},
    {"chars5", "ascii", 39, 0x2C12E842759D1DD7u, {0x67A44FB1, 0xD3449CB1, 0x211FD65A, 0x6847E078, 0xBE4A6A35, 0x492D85F8, 0x4182000E, 0xD3449CB1}},
    {"chars5", "ascii_long", 126, 0x3261B8ECB6177DC8u, {0x27EDD59F, 0x31D55ECF, 0x1781026B, 0x4840497F, 0x2CF551D9, 0xBCB2E723, 0xC987463B, 0x2CFA1110}},
    {"chars5", "spacing", 22, 0x828277BC779FB9A1u, {0x0B209FA5, 0x085E5450, 0x88882DB3, 0x3EEA08E3, 0x107F63E3, 0x1C79B4FE, 0x085E5450, 0x085E5450}},
    {"chars5", "latin", 52, 0x7BBE35A5BD8C4BCBu, {0x73D014BA, 0xF3BAD277, 0xB4775232, 0xF0DA7276, 0xAD1D3FE4, 0xDD2C195A, 0x60517941, 0x1AA762FB}},
    {"chars5", "greek", 32, 0x20FD0D6BBBE61ABEu, {0x17CC7A95, 0x9071FFDF, 0x9E922F53, 0xCFCD22C2, 0xCAFAC36F, 0x6DA4210F, 0xB2AA6D54, 0x1C6F93C7}},
    {"chars5", "cyrillic", 52, 0x6A86982FA1219E0Fu, {0x8AA94FDA, 0x16A8D1BD, 0x8A7851EB, 0xB8D2B2A7, 0xCABA79A9, 0x45796C26, 0x63D50C68, 0x2BFA53A4}},
    {"chars5", "cjk", 16, 0x7F6D139855426732u, {0xF7D66FFA, 0xC49F983B, 0xB31B0F38, 0xABA80C2C, 0xEE1818EA, 0xD74901C0, 0xD74901C0, 0x35C47954}},
    {"chars5", "emoji", 26, 0xDB6EAA31B99DBBD4u, {0x3064CB51, 0x247DC5CA, 0x127AEA47, 0x018BE16F, 0x41836DC9, 0x018BE16F, 0x6DC70F39, 0x5F174C5A}},
    {"chars5", "invalid", 40, 0x44D1CE3E1506B373u, {0x50D44193, 0xC03524D8, 0x15F5E8A1, 0x65C4F90A, 0x02094D29, 0x0A1D4320, 0xCE91DD9A, 0x524EB935}},
    {"chars5", "one_word", 1, 0x60668699EB577225u, {0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC, 0xCA7AADCC}},
    {"chars5", "whitespace", 0, 0xBE78BCDBD952DD25u, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}},
    {"chars5", "empty", 0, 0xBE78BCDBD952DD25u, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}},
    {"bytes8_seed42", "ascii", 7, 0xDDC83075FC64AAEEu, {0x2AE3D6DF654AA6E1, 0x58FA969B6681FD0E, 0xBDF713807AE61A13, 0x42AF1C1C00A3C5B0, 0xACC370848AA1035E, 0x36484716A5B8C12A, 0xF6B5872A9E9E2863, 0xACC370848AA1035E}},
    {"bytes8_seed42", "ascii_long", 31, 0x37F4DEFA2C1D0E7Fu, {0xCD870CF22B70CD15, 0xF2C4B4128A7571C8, 0xE01A4ABB241231C6, 0x100667CAE121789E, 0xFA63EED55010300D, 0x6C2B0B49AD05C734, 0x3CE3CDCE151E1477, 0x0FDF2A329DDF5898}},
    {"bytes8_seed42", "spacing", 4, 0xE41E8ADCB5BD21B9u, {0xCB40641FAF2B0D98, 0x0B7D9568E01F4CE3, 0xCB40641FAF2B0D98, 0xCB40641FAF2B0D98, 0xCB40641FAF2B0D98, 0x0B7D9568E01F4CE3, 0xFDF94FE9C3E23607, 0x0B7D9568E01F4CE3}},
    {"bytes8_seed42", "latin", 7, 0xA37DB4F611B18EF6u, {0x00377595A8893D37, 0xB7EBFF520942DE57, 0xB7EBFF520942DE57, 0x5FEF438DD5C4FA05, 0xAEADBEE9929B39CE, 0xED32EAD387483D70, 0xED32EAD387483D70, 0x0E4B1BDD681B8689}},
    {"bytes8_seed42", "greek", 4, 0xAD66EF08E91D3616u, {0x4D8FED0D042D3103, 0x1B922761749A2196, 0x1B922761749A2196, 0x4D8FED0D042D3103, 0x4D8FED0D042D3103, 0xD97C896A8BF6189A, 0x98E10F670D302D87, 0xD97C896A8BF6189A}},
    {"bytes8_seed42", "cyrillic", 8, 0xA19E1E5FCFFE0BF2u, {0x78A87E95DA476721, 0x82515A2C75724F02, 0xBA3B0A6272348681, 0xCED36E69C85CD7F4, 0x32B421537B58490C, 0xBA3B0A6272348681, 0x32B421537B58490C, 0xDFD156DEBEEF9D15}},
    {"bytes8_seed42", "cjk", 1, 0x74D7B327DD4BAA25u, {0x37F32593F4ABD040, 0x37F32593F4ABD040, 0x37F32593F4ABD040, 0x37F32593F4ABD040, 0x37F32593F4ABD040, 0x37F32593F4ABD040, 0x37F32593F4ABD040, 0x37F32593F4ABD040}},
    {"bytes8_seed42", "emoji", 5, 0x8C1B6C632E1AA887u, {0xF4C6A0776E906ED1, 0xF364ACF98951BE6B, 0x59F2E99A16F7DE68, 0xF364ACF98951BE6B, 0xCFB8698B9602C380, 0xC5F37330B4350340, 0xF4C6A0776E906ED1, 0xF4C6A0776E906ED1}},
    {"bytes8_seed42", "invalid", 9, 0x06E87918057ACD49u, {0xF1DD74D365A05A9A, 0xB3726072A2510479, 0x08777787871EAE00, 0x08777787871EAE00, 0x08777787871EAE00, 0x1E4A53C67433CC36, 0xA3C1EC6ED927F692, 0x1730ABB46F9A1206}},
    {"bytes8_seed42", "one_word", 1, 0x8BB59DEAC498EF25u, {0x61724AD1E81918E3, 0x61724AD1E81918E3, 0x61724AD1E81918E3, 0x61724AD1E81918E3, 0x61724AD1E81918E3, 0x61724AD1E81918E3, 0x61724AD1E81918E3, 0x61724AD1E81918E3}},
    {"bytes8_seed42", "whitespace", 0, 0x89BFA3A928539725u, {0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF}},
    {"bytes8_seed42", "empty", 0, 0x89BFA3A928539725u, {0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF}},
    {"keepcase_chars3_k200", "ascii", 40, 0x0FB8F234C45B745Bu, {0xB7CCFF1D, 0x3900B854, 0xB19C9651, 0xD43E2952, 0xB19C9651, 0x5120FE55, 0x760F3857, 0x731D5BDB}},
    {"keepcase_chars3_k200", "ascii_long", 106, 0xA7D2F9EF86DA9ECEu, {0x06D7976C, 0x543D92E8, 0x33144918, 0x5EA08B1F, 0x8F1686B2, 0xFD3FFA21, 0xC065C361, 0xD7A642E0}},
    {"keepcase_chars3_k200", "spacing", 24, 0x0B2B934B452C6381u, {0xCD68AFC1, 0xFA801522, 0xCD68AFC1, 0x627F83E5, 0x2C292670, 0x4745457C, 0x14714E73, 0xC8041251}},
    {"keepcase_chars3_k200", "latin", 54, 0x7E280F2513872C4Fu, {0x09FDD11D, 0xFDD3A8CF, 0xEFF5813F, 0xE335B70F, 0x8219E164, 0x57C103EB, 0xC4134640, 0x7D11F1FC}},
    {"keepcase_chars3_k200", "greek", 35, 0x8C0F1C7CD325A5D1u, {0x61F816B9, 0x61F816B9, 0x6C89A275, 0xBA3A85C3, 0x17F32E5D, 0xC55C0D15, 0x5E99D46B, 0x1E9830A4}},
    {"keepcase_chars3_k200", "cyrillic", 51, 0x1E6CEE5B3BF1B6BEu, {0x610075AA, 0xD021A35D, 0x610075AA, 0x0DFD3766, 0x533CF26A, 0x8B9A37D7, 0x91E0F139, 0x86816F43}},
    {"keepcase_chars3_k200", "cjk", 18, 0x9DE7A6A480DD6F92u, {0x1A07C59B, 0xA417AF26, 0xC095CD22, 0xC675B460, 0x1A07C59B, 0xBDEEB685, 0x8EF086B4, 0x7630A022}},
    {"keepcase_chars3_k200", "emoji", 28, 0xFC8ECDA47A0936ECu, {0x06D7976C, 0x027CE310, 0xEAEA3B4F, 0x0249FAE1, 0x027CE310, 0x416C84B2, 0x946C67EB, 0x027CE310}},
    {"keepcase_chars3_k200", "invalid", 37, 0x9CD1077609981EA4u, {0xB16AC6E2, 0x9FD63B01, 0xB16AC6E2, 0x56AE3497, 0x545AB936, 0xDC08FD0E, 0x545AB936, 0xBF282CC6}},
    {"keepcase_chars3_k200", "one_word", 2, 0x769B229B3EA5DA5Du, {0x1BA4E822, 0x22B18234, 0x22B18234, 0x22B18234, 0x22B18234, 0x22B18234, 0x22B18234, 0x22B18234}},
    {"keepcase_chars3_k200", "whitespace", 0, 0xCEA8DD2C0ABFD685u, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}},
    {"keepcase_chars3_k200", "empty", 0, 0xCEA8DD2C0ABFD685u, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}},
};

/* from_hashes of the tokens 1..m (value_bytes 8): FNV-1a 64 of the signature;
 * first few non-empty bins among many, so densification pushes, and with
 * seeds 2 (K = 1024) and 14 (K = 64) a bin reaches the cyclic fallback. */
static const hash_vector hash_vectors[] = {
    {1024, 2, 3, 0xA17AAB5EEF5AEAC1u}, /* fallback bins 0 */
    {1024, 2, 2, 0x88A1D3D0A5A4010Du}, /* fallback bins 1 */
    {64, 2, 14, 0xA7FC09F073D95E25u}, /* fallback bins 2 */
    {1024, 3, 11, 0x3AA4147A8395058Bu}, /* fallback bins 0 */
    {4096, 40, 5, 0xFF9434D58F8C7813u}, /* fallback bins 0 */
    {1, 5, 0, 0x42B3B83AAE52D96Du}, /* fallback bins 0 */
    {2, 1, 0, 0x0F2B0C0DCC5C7495u}, /* fallback bins 0 */
    {3, 2, 9, 0xDFDAE3860D106588u}, /* fallback bins 0 */
    {16384, 2000, 1, 0x138F8052663B163Bu}, /* fallback bins 0 */
    /* many tokens: pull rounds (the vector kernels take K <= 128), K a
     * power of two and not (cycle walking) */
    {128, 100, 0, 0xE850E830CD1CE254u},
    {128, 300, 9, 0x0E0D8D401E3A6E82u},
    {96, 60, 4, 0x708AC11C6E22435Fu},
    {100, 150, 8, 0x5A6C4B8F6D4C270Eu},
    {127, 80, 6, 0x97FB240ACF11397Du},
    {33, 30, 2, 0xAE7B2B13932B11E4u},
    {64, 40, 12, 0x87CD73F81EEE5F16u},
    {5, 4, 3, 0x2103F5B586D91738u},
    {65, 50, 1, 0x649AC6CBBFED9487u},
    {200, 150, 3, 0xBF7BF3B0981E2052u},
};

/* The token x whose h is 2^64 - 1 (the value that also marks an empty bin)
 * among the tokens 1..m, x in the middle: bin K - 1 holds a token and
 * must not be densified (for K = 128 x is its only token). */
typedef struct {
    uint32_t k, m;
    uint64_t seed, x, digest;
} max_token_vector;

static const max_token_vector max_token_vectors[] = {
    {128, 20, 0, 0x2DBAAC968176606Fu, 0x2505D9943E598D5Du},
    {100, 300, 5, 0xAC993FA359E26E9Au, 0x76CDD5C8AD8CA11Bu},
};

static knowhere_signature_options config(const char *name) {
    if (strcmp(name, "default") == 0) return opts(128, KNOWHERE_SHINGLE_WORDS, 3, 4, 0, 0);
    if (strcmp(name, "chars5") == 0) return opts(128, KNOWHERE_SHINGLE_CHARS, 5, 4, 0, 0);
    if (strcmp(name, "bytes8_seed42") == 0) return opts(128, KNOWHERE_SHINGLE_WORDS, 3, 8, 0, 42);
    REQUIRE(strcmp(name, "keepcase_chars3_k200") == 0);
    return opts(200, KNOWHERE_SHINGLE_CHARS, 3, 4, KNOWHERE_SIGNATURE_KEEP_CASE, 7);
}

static const vector_text *find_text(const char *name) {
    for (size_t i = 0; i < sizeof vector_texts / sizeof vector_texts[0]; ++i)
        if (strcmp(vector_texts[i].name, name) == 0) return &vector_texts[i];
    REQUIRE(false);
    return NULL;
}

static void test_text_vectors(void) {
    static uint8_t out[200 * 8];
    for (size_t i = 0; i < sizeof text_vectors / sizeof text_vectors[0]; ++i) {
        const text_vector *v = &text_vectors[i];
        knowhere_signature_options o = config(v->config);
        const vector_text *t = find_text(v->text);
        size_t count = sign(&o, t->text, t->len, out);
        size_t bytes = (size_t)o.num_hashes * o.value_bytes;
        bool ok = count == v->shingles && fnv1a64(out, bytes) == v->digest;
        for (size_t j = 0; j < 8; ++j) ok &= value_at(out, j, o.value_bytes) == v->first[j];
        if (!ok) fprintf(stderr, "  vector %s / %s differs\n", v->config, v->text);
        CHECK(ok);
    }
}

static void test_hash_vectors(void) {
    static uint8_t out[16384 * 8];
    for (size_t i = 0; i < sizeof hash_vectors / sizeof hash_vectors[0]; ++i) {
        const hash_vector *v = &hash_vectors[i];
        knowhere_signature_options o = opts(v->k, 0, 3, 8, 0, v->seed);
        uint64_t *h = malloc(v->m * sizeof *h);
        REQUIRE(h != NULL);
        for (uint32_t j = 0; j < v->m; ++j) h[j] = j + 1;
        CHECK_EQ(knowhere_signature_from_hashes(&o, h, v->m, out, sizeof out, NULL), KNOWHERE_OK);
        if (fnv1a64(out, (size_t)v->k * 8) != v->digest)
            fprintf(stderr, "  hash vector k=%u m=%u seed=%llu differs\n", v->k, v->m,
                    (unsigned long long)v->seed);
        CHECK(fnv1a64(out, (size_t)v->k * 8) == v->digest);
        /* Order and duplicates do not matter. */
        uint64_t *h2 = malloc(2 * v->m * sizeof *h2);
        REQUIRE(h2 != NULL);
        for (uint32_t j = 0; j < v->m; ++j) h2[j] = h2[v->m + j] = v->m - j;
        static uint8_t out2[16384 * 8];
        CHECK_EQ(knowhere_signature_from_hashes(&o, h2, 2 * (size_t)v->m, out2, sizeof out2, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(out, out2, (size_t)v->k * 8) == 0);
        free(h);
        free(h2);
    }
}

static void test_token_with_max_hash(void) {
    for (size_t i = 0; i < sizeof max_token_vectors / sizeof max_token_vectors[0]; ++i) {
        const max_token_vector *v = &max_token_vectors[i];
        knowhere_signature_options o = opts(v->k, 0, 3, 8, 0, v->seed);
        uint64_t h[301];
        REQUIRE(v->m + 1 <= sizeof h / sizeof h[0]);
        for (uint32_t j = 0; j < v->m; ++j) h[j] = j + 1;
        h[v->m] = h[v->m / 2];
        h[v->m / 2] = v->x;
        uint8_t out[128 * 8];
        CHECK_EQ(knowhere_signature_from_hashes(&o, h, v->m + 1, out, sizeof out, NULL),
                 KNOWHERE_OK);
        CHECK(fnv1a64(out, (size_t)v->k * 8) == v->digest);
        if (v->k == 128) CHECK(value_at(out, 127, 8) == UINT64_MAX); /* x's bin, x's h */
        size_t below_max = 0; /* the other tokens' values: not the empty signature */
        for (uint32_t b = 0; b < v->k; ++b) below_max += value_at(out, b, 8) != UINT64_MAX;
        CHECK(below_max > 0);
    }
}

/* ---- documented identities ----------------------------------------------------- */

/* The text path is from_hashes of XXH3-64 (seed 0) of each shingle's bytes. */
static void check_text_is_hashes(const knowhere_signature_options *o, const char *text,
                                 const char *const *shingles, size_t nshingles,
                                 size_t distinct) {
    uint8_t a[256 * 8], b[256 * 8];
    uint64_t h[64];
    REQUIRE(nshingles <= 64);
    for (size_t i = 0; i < nshingles; ++i) h[i] = kh_xxh3_64(shingles[i], strlen(shingles[i]));
    CHECK_EQ(sign_str(o, text, a), distinct);
    CHECK_EQ(knowhere_signature_from_hashes(o, h, nshingles, b, sizeof b, NULL), KNOWHERE_OK);
    CHECK(memcmp(a, b, (size_t)o->num_hashes * o->value_bytes) == 0);
}

static void test_text_is_hashes_of_shingles(void) {
    knowhere_signature_options w3 = opts(128, KNOWHERE_SHINGLE_WORDS, 3, 4, 0, 0);
    const char *s1[] = {"the quick brown", "quick brown fox", "brown fox jumps",
                        "fox jumps over"};
    check_text_is_hashes(&w3, "The  quick\tbrown FOX jumps\n over ", s1, 4, 4);
    knowhere_signature_options w2 = opts(256, KNOWHERE_SHINGLE_WORDS, 2, 8, 0, 99);
    const char *s2[] = {"a b", "b a", "a b", "b a", "a b"};
    check_text_is_hashes(&w2, "a b a b a b", s2, 5, 2);
    knowhere_signature_options c4 = opts(64, KNOWHERE_SHINGLE_CHARS, 4, 4, 0, 5);
    const char *s3[] = {"ab c", "b c ", " c d", "c d\xc3\xa9", " d\xc3\xa9" "f"};
    check_text_is_hashes(&c4, " AB   C\xc2\xa0" "D\xc3\x89" "F ", s3, 5, 5);
    /* Shorter than n: one shingle, the whole normalised text. */
    knowhere_signature_options w5 = opts(128, KNOWHERE_SHINGLE_WORDS, 5, 4, 0, 0);
    const char *s5[] = {"only three words"};
    check_text_is_hashes(&w5, "Only Three\u3000Words", s5, 1, 1);
    knowhere_signature_options c9 = opts(128, KNOWHERE_SHINGLE_CHARS, 9, 4, 0, 0);
    const char *s6[] = {"x y"};
    check_text_is_hashes(&c9, "\tX \n Y\t", s6, 1, 1);
    /* Invalid bytes are U+FFFD (EF BF BD), one per maximal subpart. */
    knowhere_signature_options w1 = opts(128, KNOWHERE_SHINGLE_WORDS, 1, 4, 0, 0);
    const char *s7[] = {"a\xef\xbf\xbd\xef\xbf\xbd" "b", "\xef\xbf\xbd"};
    check_text_is_hashes(&w1, "a\xe2\x82\xff" "b \xf0\x9f\x98", s7, 2, 2);
}

static void test_four_bytes_are_low_halves(void) {
    knowhere_signature_options o4 = opts(300, KNOWHERE_SHINGLE_CHARS, 4, 4, 0, 3);
    knowhere_signature_options o8 = o4;
    o8.value_bytes = 8;
    uint8_t a[300 * 4], b[300 * 8];
    const char *text = "Signatures feed the index directly; values are little-endian.";
    CHECK_EQ(sign_str(&o4, text, a), sign_str(&o8, text, b));
    bool ok = true;
    for (size_t i = 0; i < 300; ++i) ok &= value_at(a, i, 4) == (value_at(b, i, 8) & 0xFFFFFFFFu);
    CHECK(ok);
}

/* ---- normalisation ---------------------------------------------------------------- */

static bool same_text_signature(const knowhere_signature_options *o, const char *x,
                                const char *y) {
    uint8_t a[128 * 8], b[128 * 8];
    size_t ca = sign_str(o, x, a), cb = sign_str(o, y, b);
    return ca == cb && memcmp(a, b, (size_t)o->num_hashes * o->value_bytes) == 0;
}

static void test_case_and_whitespace(void) {
    for (uint32_t n = 1; n <= 3; ++n) {
        knowhere_signature_options w = opts(128, KNOWHERE_SHINGLE_WORDS, n, 4, 0, 0);
        knowhere_signature_options c = opts(128, KNOWHERE_SHINGLE_CHARS, n + 2, 4, 0, 0);
        CHECK(same_text_signature(&w, "Hello  World", "hello world"));
        CHECK(same_text_signature(&c, "Hello  World", "hello world"));
        CHECK(same_text_signature(&w, " \t Hello\r\n\xe3\x80\x80WORLD\xc2\x85 ", "hello world"));
        CHECK(same_text_signature(&c, " \t Hello\r\n\xe3\x80\x80WORLD\xc2\x85 ", "hello world"));
        CHECK(!same_text_signature(&w, "hello world", "hello there"));
        w.flags = c.flags = KNOWHERE_SIGNATURE_KEEP_CASE;
        CHECK(!same_text_signature(&w, "Hello  World", "hello world"));
        CHECK(!same_text_signature(&c, "Hello  World", "hello world"));
        CHECK(same_text_signature(&w, "Hello \n World", "Hello World"));
        CHECK(same_text_signature(&c, "Hello \n World", "Hello World"));
    }
    knowhere_signature_options w1 = opts(128, KNOWHERE_SHINGLE_WORDS, 1, 4, 0, 0);
    /* Simple mappings: capital sigma is always small sigma (no final form),
     * dotted capital I is i, the Kelvin sign is k. */
    CHECK(same_text_signature(&w1, "\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x83"));
    CHECK(!same_text_signature(&w1, "\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82"));
    CHECK(same_text_signature(&w1, "\xc4\xb0stanbul", "istanbul"));
    CHECK(same_text_signature(&w1, "\xe2\x84\xaa", "k"));
    CHECK(same_text_signature(&w1, "\xd0\x9c\xd0\x98\xd0\xa0", "\xd0\xbc\xd0\xb8\xd1\x80"));
    /* Not White_Space: U+001C, NUL, zero-width space U+200B. */
    uint8_t a[512];
    CHECK_EQ(sign_str(&w1, "a\x1c" "b", a), 1);
    CHECK_EQ(sign_str(&w1, "a\xe2\x80\x8b" "b", a), 1);
    CHECK_EQ(sign(&w1, "a\0b", 3, a), 1);
    CHECK_EQ(sign_str(&w1, "a b", a), 2);
    /* Identical documents in different buffers. */
    char x[] = "Near-duplicate detection with MinHash and LSH", y[sizeof x];
    memcpy(y, x, sizeof x);
    knowhere_signature_options d;
    knowhere_signature_options_init(&d);
    CHECK(same_text_signature(&d, x, y));
    /* options NULL means the defaults. */
    uint8_t b[512];
    sign_str(&d, x, a);
    size_t count = 0;
    CHECK_EQ(knowhere_signature_from_text(NULL, x, strlen(x), b, sizeof b, &count, NULL),
             KNOWHERE_OK);
    CHECK(memcmp(a, b, 512) == 0);
    CHECK_EQ(count, 4); /* six words, four 3-word shingles */
    /* The seed changes every value's ordering. */
    knowhere_signature_options s1 = d;
    s1.seed = 1;
    CHECK(!same_text_signature(&s1, x, "") && !same_text_signature(&d, x, ""));
    uint8_t c[512];
    sign_str(&s1, x, c);
    size_t equal = 0;
    for (size_t i = 0; i < 128; ++i) equal += value_at(a, i, 4) == value_at(c, i, 4);
    CHECK(equal < 16);
}

/* Random word texts: the canonical form (lowercase, single spaces) and a
 * variant with random case and whitespace runs sign the same; long enough
 * for the 16-byte ASCII fast path, with breaks that send it to the slow one. */
static void test_normalisation_paths_agree(void) {
    test_rng rng = {77};
    static const char *const spaces[] = {" ", "  ", "\t", "\n ", "\xc2\xa0", "\xe3\x80\x80",
                                         " \r\n", "\xe2\x80\x83"};
    static char canon[4096], variant[16384];
    for (int round = 0; round < 300; ++round) {
        size_t cn = 0, vn = 0, words = 1 + rng_next(&rng) % 120;
        if (rng_next(&rng) % 3 == 0) variant[vn++] = ' ';
        for (size_t w = 0; w < words; ++w) {
            if (w) {
                canon[cn++] = ' ';
                const char *s = rng_next(&rng) % 2 ? " " : spaces[rng_next(&rng) % 8];
                memcpy(variant + vn, s, strlen(s));
                vn += strlen(s);
            }
            size_t len = 1 + rng_next(&rng) % 12;
            for (size_t i = 0; i < len; ++i) {
                uint64_t r = rng_next(&rng);
                if (r % 17 == 0) { /* a two-byte letter: e-acute, capital or not */
                    memcpy(canon + cn, "\xc3\xa9", 2);
                    memcpy(variant + vn, r % 2 ? "\xc3\xa9" : "\xc3\x89", 2);
                    cn += 2;
                    vn += 2;
                    continue;
                }
                char ch = (char)('a' + r % 26);
                canon[cn++] = ch;
                variant[vn++] = (r >> 20) % 3 == 0 ? (char)(ch - 32) : ch;
            }
        }
        if (rng_next(&rng) % 3 == 0) variant[vn++] = '\n';
        canon[cn] = variant[vn] = 0;
        knowhere_signature_options w = opts(128, KNOWHERE_SHINGLE_WORDS, 1 + round % 4, 4, 0, 0);
        knowhere_signature_options c = opts(128, KNOWHERE_SHINGLE_CHARS, 1 + round % 6, 4, 0, 0);
        bool ok = same_text_signature(&w, canon, variant) && same_text_signature(&c, canon, variant);
        if (!ok) fprintf(stderr, "  differs: \"%s\" vs \"%s\"\n", canon, variant);
        CHECK(ok);
    }
}

static bool all_ff(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i] != 0xFF) return false;
    return true;
}

static void test_empty_documents(void) {
    const char *empties[] = {"", " ", " \t\r\n\v\f ", "\xc2\xa0\xe3\x80\x80\xe2\x80\xa9"};
    for (uint32_t kind = 0; kind < 2; ++kind)
        for (uint32_t vb = 4; vb <= 8; vb += 4)
            for (size_t i = 0; i < 4; ++i) {
                knowhere_signature_options o = opts(96, kind, 2, vb, 0, 5);
                uint8_t out[96 * 8 + 4];
                memset(out, 0x11, sizeof out);
                CHECK_EQ(sign_str(&o, empties[i], out), 0);
                CHECK(all_ff(out, 96 * vb));
                CHECK_EQ(out[96 * vb], 0x11); /* nothing written past the signature */
            }
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    uint8_t out[512];
    size_t count = 7;
    CHECK_EQ(knowhere_signature_from_text(&o, NULL, 0, out, sizeof out, &count, NULL),
             KNOWHERE_OK);
    CHECK(count == 0 && all_ff(out, 512));
    memset(out, 0, sizeof out);
    CHECK_EQ(knowhere_signature_from_hashes(&o, NULL, 0, out, sizeof out, NULL), KNOWHERE_OK);
    CHECK(all_ff(out, 512));
    /* A non-empty document is never all 0xFF. */
    CHECK_EQ(sign_str(&o, "x", out), 1);
    CHECK(!all_ff(out, 512));
}

/* ---- unbiasedness --------------------------------------------------------------------- */

/* Pairs of sets of `size` tokens sharing `common`: J = common / (2 size -
 * common). Returns the estimates' mean error and MSE * K / (J (1 - J)). */
typedef struct {
    double mean_error, bound, mse_ratio, j;
} accuracy;

static void token_word(char *out, uint64_t token, bool upper) {
    static const char hex[] = "0123456789abcdef";
    out[0] = upper ? 'T' : 't';
    for (int i = 0; i < 12; ++i) {
        char c = hex[(token >> (4 * i)) & 15];
        out[1 + i] = upper && c >= 'a' ? (char)(c - 32) : c;
    }
    out[13] = ' ';
}

static accuracy measure(size_t size, double target_j, uint32_t k, bool via_text, size_t pairs,
                        uint64_t seed) {
    test_rng rng = {seed};
    size_t common = (size_t)llround(2.0 * (double)size * target_j / (1.0 + target_j));
    double j = (double)common / (double)(2 * size - common);
    knowhere_signature_options o = opts(k, KNOWHERE_SHINGLE_WORDS, 1, 4, 0, rng_next(&rng));
    uint64_t *a = malloc(size * sizeof *a), *b = malloc(size * sizeof *b);
    char *ta = malloc(size * 14), *tb = malloc(size * 14);
    uint8_t *sa = malloc((size_t)k * 4), *sb = malloc((size_t)k * 4);
    REQUIRE(a && b && ta && tb && sa && sb);
    double sum = 0, sum_sq = 0, sq_err = 0;
    for (size_t p = 0; p < pairs; ++p) {
        for (size_t i = 0; i < size; ++i) {
            a[i] = rng_next(&rng) & 0xFFFFFFFFFFFFull; /* 48 bits: 12 hex digits */
            b[i] = i < common ? a[i] : rng_next(&rng) & 0xFFFFFFFFFFFFull;
        }
        if (via_text) {
            /* B lists its tokens in another order, upper-cased. */
            for (size_t i = 0; i < size; ++i) {
                token_word(ta + 14 * i, a[i], false);
                token_word(tb + 14 * i, b[size - 1 - i], true);
            }
            CHECK_EQ(sign(&o, ta, 14 * size, sa), size);
            CHECK_EQ(sign(&o, tb, 14 * size, sb), size);
        } else {
            CHECK_EQ(knowhere_signature_from_hashes(&o, a, size, sa, (size_t)k * 4, NULL), 0);
            CHECK_EQ(knowhere_signature_from_hashes(&o, b, size, sb, (size_t)k * 4, NULL), 0);
        }
        size_t equal = 0;
        for (size_t i = 0; i < k; ++i) equal += memcmp(sa + 4 * i, sb + 4 * i, 4) == 0;
        double e = (double)equal / k;
        sum += e;
        sum_sq += e * e;
        sq_err += (e - j) * (e - j);
    }
    double mean = sum / (double)pairs;
    double var = (sum_sq - (double)pairs * mean * mean) / (double)(pairs - 1);
    accuracy r = {mean - j, Z_999 * sqrt(var / (double)pairs) + 0.5 / ((double)k * pairs),
                  sq_err / (double)pairs * k / (j * (1 - j)), j};
    free(a);
    free(b);
    free(ta);
    free(tb);
    free(sa);
    free(sb);
    return r;
}

/* The MSE to expect, relative to J(1-J)/K. With many more tokens than bins
 * (U >= 4K for the union), one-permutation hashing samples K distinct
 * elements of the union, without replacement, so its variance is J(1-J)/K
 * times (U - K) / (U - 1) (Li, Owen & Zhang 2012); with fewer, empty bins
 * are filled by copies and the variance is about J(1-J)/K. */
static double expected_mse_ratio(size_t size, double j, uint32_t k) {
    double u = 2.0 * (double)size / (1.0 + j);
    return u >= 4.0 * k ? (u - k) / (u - 1) : 1.0;
}

static void test_estimates_are_unbiased(void) {
    const double js[] = {0.2, 0.5, 0.8, 0.95};
    const size_t sizes[] = {100, 1000};
    const uint32_t ks[] = {128, 256};
    uint64_t seed = 1;
    for (int via_text = 0; via_text < 2; ++via_text)
        for (size_t si = 0; si < 2; ++si)
            for (size_t ki = 0; ki < 2; ++ki)
                for (size_t ji = 0; ji < 4; ++ji) {
                    accuracy r = measure(sizes[si], js[ji], ks[ki], via_text, 1000, seed++);
                    double want = expected_mse_ratio(sizes[si], r.j, ks[ki]);
                    printf("  %-6s n=%4zu K=%3u J=%.3f: mean error %+.4f (bound %.4f), "
                           "MSE / (J(1-J)/K) = %.3f (expected %.3f)\n",
                           via_text ? "text" : "hashes", sizes[si], ks[ki], r.j, r.mean_error,
                           r.bound, r.mse_ratio, want);
                    CHECK(fabs(r.mean_error) <= r.bound);
                    CHECK(r.mse_ratio <= 1.5 * want && r.mse_ratio >= want / 1.5);
                }
}

/* Tokens 0, 1, 2, ...: the mixing, not the caller, makes them random. */
static void test_sequential_tokens(void) {
    enum { SIZE = 1000, COMMON = 667, PAIRS = 500, K = 128 };
    static uint64_t a[SIZE], b[SIZE];
    uint8_t sa[K * 4], sb[K * 4];
    double j = (double)COMMON / (2 * SIZE - COMMON), sum = 0, sq = 0;
    knowhere_signature_options o = opts(K, 0, 3, 4, 0, 0);
    for (size_t p = 0; p < PAIRS; ++p) {
        for (size_t i = 0; i < SIZE; ++i) {
            a[i] = p * 4096 + i;
            b[i] = i < COMMON ? a[i] : p * 4096 + 2048 + i;
        }
        CHECK_EQ(knowhere_signature_from_hashes(&o, a, SIZE, sa, sizeof sa, NULL), 0);
        CHECK_EQ(knowhere_signature_from_hashes(&o, b, SIZE, sb, sizeof sb, NULL), 0);
        size_t equal = 0;
        for (size_t i = 0; i < K; ++i) equal += memcmp(sa + 4 * i, sb + 4 * i, 4) == 0;
        double e = (double)equal / K;
        sum += e - j;
        sq += (e - j) * (e - j);
    }
    double ratio = sq / PAIRS * K / (j * (1 - j)), want = expected_mse_ratio(SIZE, j, K);
    printf("  sequential tokens J=%.3f: mean error %+.4f, MSE / (J(1-J)/K) = %.3f "
           "(expected %.3f)\n", j, sum / PAIRS, ratio, want);
    CHECK(fabs(sum / PAIRS) <= Z_999 * sqrt(want * j * (1 - j) / K / PAIRS) * 1.2);
    CHECK(ratio <= 1.5 * want && ratio >= want / 1.5);
}

/* ---- batch ---------------------------------------------------------------------------- */

typedef struct {
    char *texts;
    uint64_t *offsets;
    size_t ndocs, len;
} corpus;

static void corpus_free(corpus *c) {
    free(c->texts);
    free(c->offsets);
}

/* Documents of random words, with empty, blank, non-ASCII and long ones. */
static corpus make_corpus(size_t ndocs, size_t max_words, uint64_t seed) {
    test_rng rng = {seed};
    size_t cap = ndocs * (max_words * 12 + 64) + 64;
    corpus c = {malloc(cap), malloc((ndocs + 1) * sizeof(uint64_t)), ndocs, 0};
    REQUIRE(c.texts && c.offsets);
    static const char *const extras[] = {"\xce\x9b\xcf\x8c\xce\xb3\xce\xbf\xcf\x82",
                                         "\xe6\x9d\xb1\xe4\xba\xac", "\xf0\x9f\x8e\x89",
                                         "\xff", "\t\n", "\xe3\x80\x80"};
    for (size_t d = 0; d < ndocs; ++d) {
        c.offsets[d] = c.len;
        uint64_t kind = rng_next(&rng) % 10;
        size_t words = kind == 0 ? 0 : kind == 1 ? 1 : 1 + rng_next(&rng) % max_words;
        if (kind == 0 && d % 2) { /* blank */
            memcpy(c.texts + c.len, " \t ", 3);
            c.len += 3;
        }
        for (size_t w = 0; w < words; ++w) {
            uint64_t r = rng_next(&rng);
            if (r % 7 == 0) {
                const char *e = extras[(r >> 8) % 6];
                memcpy(c.texts + c.len, e, strlen(e));
                c.len += strlen(e);
            } else {
                size_t l = 1 + (r >> 8) % 9;
                for (size_t i = 0; i < l; ++i)
                    c.texts[c.len++] = (char)((r >> (20 + i)) % 5 == 0 ? 'A' : 'a') +
                                       (char)((r >> (3 * i)) % 26);
            }
            c.texts[c.len++] = ' ';
        }
    }
    c.offsets[ndocs] = c.len;
    return c;
}

static void test_batch_equals_single(void) {
    corpus c = make_corpus(700, 400, 5);
    const knowhere_signature_options configs[] = {
        opts(128, KNOWHERE_SHINGLE_WORDS, 3, 4, 0, 0),
        opts(64, KNOWHERE_SHINGLE_CHARS, 5, 8, KNOWHERE_SIGNATURE_KEEP_CASE, 9),
    };
    for (size_t ci = 0; ci < 2; ++ci) {
        const knowhere_signature_options *o = &configs[ci];
        size_t sig = (size_t)o->num_hashes * o->value_bytes;
        uint8_t *single = malloc(c.ndocs * sig), *batch = malloc(c.ndocs * sig);
        uint32_t *counts = malloc(c.ndocs * sizeof *counts);
        size_t *single_counts = malloc(c.ndocs * sizeof *single_counts);
        REQUIRE(single && batch && counts && single_counts);
        for (size_t d = 0; d < c.ndocs; ++d)
            single_counts[d] = sign(o, c.texts + c.offsets[d],
                                    (size_t)(c.offsets[d + 1] - c.offsets[d]), single + d * sig);
        const size_t threads[] = {1, 2, 7, 0};
        for (size_t t = 0; t < 4; ++t) {
            memset(batch, 0, c.ndocs * sig);
            memset(counts, 0xAB, c.ndocs * sizeof *counts);
            knowhere_error *err = NULL;
            CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(
                         o, c.texts, c.len, c.offsets, c.ndocs, batch, c.ndocs * sig, counts,
                         threads[t], NULL, &err),
                     KNOWHERE_OK);
            CHECK(err == NULL);
            CHECK(memcmp(single, batch, c.ndocs * sig) == 0);
            bool same = true;
            for (size_t d = 0; d < c.ndocs; ++d) same &= counts[d] == single_counts[d];
            CHECK(same);
        }
        /* shingle_counts may be NULL; a sub-range of the texts works too. */
        CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(
                     o, c.texts, c.len, c.offsets + 100, 50, batch, 50 * sig, NULL, 3, NULL, NULL),
                 KNOWHERE_OK);
        CHECK(memcmp(single + 100 * sig, batch, 50 * sig) == 0);
        free(single);
        free(batch);
        free(counts);
        free(single_counts);
    }
    /* No documents: nothing to do. */
    uint64_t zero = 0;
    CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(NULL, NULL, 0, &zero, 0, NULL, 0,
                                                               NULL, 0, NULL, NULL),
             KNOWHERE_OK);
    corpus_free(&c);
}

/* Documents of a few tokens at K that is not a multiple of 64: the
 * densification pushes first (more empty bins than full ones), then
 * pulls. The batch's scratch is on the heap, sized for K: the pending bins
 * beyond K once leaked into the vector pull rounds, which then wrote past
 * the K minima (found by ASan through the TypeScript tests). Checked
 * against the single calls (their scratch is on the stack), under ASan and
 * valgrind by ctest. */
static void test_batch_few_tokens_small_k(void) {
    const char *texts = "a b c d e f g h i j k l m n o p q r s t u v w x y z";
    uint64_t offsets[14];
    for (size_t d = 0; d < 13; ++d) offsets[d] = 4 * d; /* "a b " ... : 2 words each */
    offsets[13] = strlen(texts);
    const uint32_t ks[] = {1, 3, 20, 65, 96, 100, 127, 200};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ++ki)
        for (uint32_t n = 1; n <= 2; ++n) {
            knowhere_signature_options o = opts(ks[ki], KNOWHERE_SHINGLE_WORDS, n, 8, 0, ki);
            size_t sig = (size_t)ks[ki] * 8;
            uint8_t *single = malloc(13 * sig), *batch = malloc(13 * sig);
            REQUIRE(single && batch);
            for (size_t d = 0; d < 13; ++d)
                sign(&o, texts + offsets[d], (size_t)(offsets[d + 1] - offsets[d]), single + d * sig);
            CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(
                         &o, texts, strlen(texts), offsets, 13, batch, 13 * sig, NULL, 1, NULL, NULL),
                     KNOWHERE_OK);
            CHECK(memcmp(single, batch, 13 * sig) == 0);
            free(single);
            free(batch);
        }
}

/* ---- invalid arguments ------------------------------------------------------------------ */

static void expect_invalid(int status, knowhere_error *err, const char *fragment, int line) {
    bool ok = status == KNOWHERE_ERR_INVALID_ARG && err != NULL &&
              knowhere_error_code(err) == KNOWHERE_ERR_INVALID_ARG &&
              strstr(knowhere_error_message(err), fragment) != NULL;
    if (!ok)
        fprintf(stderr, "  line %d: status %d, message \"%s\", wanted \"%s\"\n", line, status,
                knowhere_error_message(err), fragment);
    CHECK(ok);
    knowhere_error_free(err);
}

#define EXPECT_INVALID(call, fragment)                                                     \
    do {                                                                                   \
        knowhere_error *err_ = NULL;                                                       \
        int status_ = call;                                                                \
        expect_invalid(status_, err_, fragment, __LINE__);                                 \
    } while (0)

static void test_invalid_arguments(void) {
    static uint8_t out[65536 * 8];
    const char *text = "some text here";
    size_t tl = strlen(text);
    uint64_t hashes[3] = {1, 2, 3};
    uint64_t offs[4] = {0, 5, 10, 14};
    knowhere_signature_options o;
#define BAD_OPTION(stmt, fragment)                                                         \
    do {                                                                                   \
        knowhere_signature_options_init(&o);                                               \
        stmt;                                                                              \
        EXPECT_INVALID(knowhere_signature_from_text(&o, text, tl, out, sizeof out, NULL,    \
                                                    &err_),                                \
                       fragment);                                                          \
        EXPECT_INVALID(knowhere_signature_from_hashes(&o, hashes, 3, out, sizeof out, &err_), \
                       fragment);                                                          \
        EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(                   \
                           &o, text, tl, offs, 3, out, sizeof out, NULL, 1, NULL, &err_),  \
                       fragment);                                                          \
        CHECK_EQ(knowhere_signature_from_text(&o, text, tl, out, sizeof out, NULL, NULL),   \
                 KNOWHERE_ERR_INVALID_ARG);                                                \
    } while (0)
    BAD_OPTION(o.size = 0, "options->size is 0");
    BAD_OPTION(o.size = 24, "options->size is 24");
    BAD_OPTION(o.num_hashes = 0, "options->num_hashes is 0");
    BAD_OPTION(o.num_hashes = 65537, "options->num_hashes is 65537");
    BAD_OPTION(o.shingle_kind = 2, "options->shingle_kind is 2");
    BAD_OPTION(o.shingle_size = 0, "options->shingle_size is 0");
    BAD_OPTION(o.shingle_size = 65, "options->shingle_size is 65");
    BAD_OPTION(o.value_bytes = 0, "options->value_bytes is 0");
    BAD_OPTION(o.value_bytes = 16, "options->value_bytes is 16");
    BAD_OPTION(o.flags = 0x2, "options->flags is 0x2");
#undef BAD_OPTION
    /* The limits themselves are valid. */
    knowhere_signature_options_init(&o);
    o.num_hashes = 65536;
    o.shingle_size = 64;
    o.value_bytes = 8;
    CHECK_EQ(knowhere_signature_from_text(&o, text, tl, out, sizeof out, NULL, NULL), 0);
    o.num_hashes = 1;
    o.shingle_size = 1;
    CHECK_EQ(knowhere_signature_from_text(&o, text, tl, out, 8, NULL, NULL), 0);

    knowhere_signature_options_init(&o);
    EXPECT_INVALID(knowhere_signature_from_text(&o, text, tl, NULL, 512, NULL, &err_),
                   "out is NULL");
    EXPECT_INVALID(knowhere_signature_from_text(&o, text, tl, out, 511, NULL, &err_),
                   "out_len is 511, less than num_hashes * value_bytes = 128 * 4 = 512");
    EXPECT_INVALID(knowhere_signature_from_text(&o, NULL, 5, out, 512, NULL, &err_),
                   "text is NULL but text_len is 5");
    EXPECT_INVALID(knowhere_signature_from_hashes(&o, NULL, 3, out, 512, &err_),
                   "hashes is NULL but count is 3");
    EXPECT_INVALID(knowhere_signature_from_hashes(&o, hashes, 3, out, 100, &err_),
                   "out_len is 100");
    EXPECT_INVALID(knowhere_signature_from_hashes(&o, hashes, 3, NULL, 512, &err_),
                   "out is NULL");

    /* Batch. */
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, NULL, 14, offs, 3, out, sizeof out, NULL, 1, NULL, &err_),
                   "texts is NULL but texts_len is 14");
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, NULL, 3, out, sizeof out, NULL, 1, NULL, &err_),
                   "offsets is NULL");
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, offs, 3, NULL, sizeof out, NULL, 1, NULL, &err_),
                   "out is NULL");
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, offs, 3, out, 3 * 512 - 1, NULL, 1, NULL, &err_),
                   "out_len is 1535, less than ndocs * num_hashes * value_bytes = 3 * 128 * 4 "
                   "= 1536");
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, offs, SIZE_MAX / 256, out, sizeof out, NULL, 1, NULL,
                       &err_),
                   "overflows size_t");
    uint64_t down[4] = {0, 5, 3, 14};
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, down, 3, out, sizeof out, NULL, 1, NULL, &err_),
                   "offsets[2] = 3 is less than offsets[1] = 5 (document 1");
    uint64_t beyond[4] = {0, 5, 10, 15};
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, beyond, 3, out, sizeof out, NULL, 1, NULL, &err_),
                   "offsets[3] = 15 is beyond texts_len = 14 (document 2");
    uint64_t huge[2] = {0, UINT64_MAX};
    EXPECT_INVALID(knowhere_signature_batch_from_text_with_interrupt(
                       &o, text, tl, huge, 1, out, sizeof out, NULL, 1, NULL, &err_),
                   "offsets[1] = 18446744073709551615 is beyond texts_len = 14");
    /* texts may be NULL with texts_len 0 (all documents empty). */
    uint64_t zeros[3] = {0, 0, 0};
    CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(&o, NULL, 0, zeros, 2, out,
                                                               sizeof out, NULL, 1, NULL, NULL),
             KNOWHERE_OK);
    CHECK(all_ff(out, 1024));

    /* A larger (future) options struct is read for its known fields only. */
    struct {
        knowhere_signature_options o;
        uint64_t future[4];
    } big;
    memset(&big, 0x5A, sizeof big);
    knowhere_signature_options_init(&big.o);
    big.o.size = (uint32_t)sizeof big;
    uint8_t a[512], b[512];
    CHECK_EQ(knowhere_signature_from_text(&big.o, text, tl, a, sizeof a, NULL, NULL), 0);
    CHECK_EQ(knowhere_signature_from_text(NULL, text, tl, b, sizeof b, NULL, NULL), 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* options_init(NULL) is a no-op. */
    knowhere_signature_options_init(NULL);
}

/* ---- interrupts, deadlines, progress -------------------------------------------------- */

static corpus big;
static const knowhere_signature_options *big_options(void) {
    static knowhere_signature_options o;
    o = opts(128, KNOWHERE_SHINGLE_CHARS, 5, 4, 0, 0);
    return &o;
}

static int run_big(size_t threads, CInterrupt h, uint8_t *out, knowhere_error **err) {
    return knowhere_signature_batch_from_text_with_interrupt(
        big_options(), big.texts, big.len, big.offsets, big.ndocs, out, big.ndocs * 512, NULL,
        threads, h, err);
}

static double seconds(void) { return test_now_ms() / 1e3; }

/* Another thread interrupts while the batch is running: the batch's first
 * progress callback (on a worker thread, after some documents) says it has
 * started and waits until the other thread has set the flag. Deterministic
 * under any scheduling (valgrind runs one thread at a time). */
typedef struct {
    CInterrupt h;
    atomic_bool started, interrupted, finished;
} interrupter;

static void sleep_ms(long ms) {
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static int wait_for_interrupter(void *user, uint64_t done, uint64_t total) {
    interrupter *x = user;
    (void)done;
    (void)total;
    atomic_store(&x->started, true);
    for (int i = 0; i < 30000 && !atomic_load(&x->interrupted); ++i) sleep_ms(1);
    return 0;
}

static void *interrupt_when_started(void *arg) {
    interrupter *x = arg;
    while (!atomic_load(&x->finished)) {
        if (atomic_load(&x->started)) {
            knowhere_interrupt_interrupt(x->h);
            atomic_store(&x->interrupted, true);
            break;
        }
        sleep_ms(1);
    }
    return NULL;
}

static void test_interrupts_and_deadlines(void) {
    uint8_t *out = malloc(big.ndocs * 512);
    REQUIRE(out != NULL);
    knowhere_error *err = NULL;

    /* A complete run: progress reaches the total, phase SIGN. */
    CInterrupt h = knowhere_interrupt_create();
    recorder r = recorder_new(0);
    knowhere_interrupt_set_progress(h, record, &r);
    double t0 = seconds();
    CHECK_EQ(run_big(1, h, out, &err), KNOWHERE_OK);
    double full = seconds() - t0;
    printf("  %zu documents, %.1f MB: %.0f ms on one thread\n", big.ndocs, big.len / 1e6,
           full * 1e3);
    CHECK(r.calls >= 2 && r.monotonic);
    CHECK_EQ(r.total, big.ndocs);
    CHECK_EQ(r.last_done, big.ndocs);
    uint64_t done = 0, total = 0;
    int phase = -1;
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(done == big.ndocs && total == big.ndocs && phase == KNOWHERE_PHASE_SIGN);
    knowhere_interrupt_free(h);

    /* Interrupted before it starts. */
    h = knowhere_interrupt_create_with_state(true);
    CHECK_EQ(run_big(2, h, out, &err), KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && knowhere_error_code(err) == KNOWHERE_ERR_INTERRUPTED &&
          strstr(knowhere_error_message(err), "interrupted"));
    knowhere_error_free(err);
    knowhere_interrupt_free(h);

    /* By the progress callback. */
    h = knowhere_interrupt_create();
    recorder stop = recorder_new(1);
    knowhere_interrupt_set_progress(h, record, &stop);
    t0 = seconds();
    CHECK_EQ(run_big(1, h, out, &err), KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && strstr(knowhere_error_message(err), "interrupted"));
    knowhere_error_free(err);
    CHECK_EQ(stop.calls, 1);
    CHECK(seconds() - t0 < full * 0.9);
    knowhere_interrupt_free(h);

    /* From another thread, while it runs. */
    for (size_t threads = 1; threads <= 2; ++threads) {
        interrupter x = {.h = knowhere_interrupt_create()};
        knowhere_interrupt_set_progress(x.h, wait_for_interrupter, &x);
        pthread_t thread;
        REQUIRE(pthread_create(&thread, NULL, interrupt_when_started, &x) == 0);
        int status = run_big(threads, x.h, out, NULL);
        atomic_store(&x.finished, true);
        pthread_join(thread, NULL);
        CHECK(atomic_load(&x.started) && atomic_load(&x.interrupted));
        CHECK_EQ(status, KNOWHERE_ERR_INTERRUPTED);
        knowhere_interrupt_free(x.h);
    }

    /* A 1 ms deadline. */
    h = knowhere_interrupt_create_with_timeout(1);
    t0 = seconds();
    CHECK_EQ(run_big(2, h, out, &err), KNOWHERE_ERR_TIMEOUT);
    CHECK(seconds() - t0 < full * 0.5);
    CHECK(err && knowhere_error_code(err) == KNOWHERE_ERR_TIMEOUT &&
          strstr(knowhere_error_message(err), "timed out"));
    knowhere_error_free(err);
    knowhere_interrupt_free(h);

    /* Inside one long document: polled every thousand shingles or so. */
    uint64_t one[2] = {0, big.len};
    h = knowhere_interrupt_create_with_timeout(2);
    t0 = seconds();
    CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(big_options(), big.texts, big.len,
                                                               one, 1, out, 512, NULL, 1, h,
                                                               NULL),
             KNOWHERE_ERR_TIMEOUT);
    double took = seconds() - t0;
    printf("  one %.1f MB document, 2 ms deadline: returned after %.1f ms\n", big.len / 1e6,
           took * 1e3);
    CHECK(took < full * 0.5);
    knowhere_interrupt_free(h);
    free(out);
}

/* ---- into the index ------------------------------------------------------------------------ */

static void test_signatures_find_near_duplicates(void) {
    corpus c = make_corpus(2000, 200, 11);
    knowhere_signature_options o;
    knowhere_signature_options_init(&o);
    size_t sig = 512;
    uint8_t *sigs = malloc(c.ndocs * sig);
    REQUIRE(sigs != NULL);
    CHECK_EQ(knowhere_signature_batch_from_text_with_interrupt(&o, c.texts, c.len, c.offsets,
                                                               c.ndocs, sigs, c.ndocs * sig, NULL,
                                                               2, NULL, NULL),
             KNOWHERE_OK);
    /* The longest document is the target; the query is it in upper case
     * with three letters changed. */
    size_t target = 0, best = 0;
    for (size_t d = 0; d < c.ndocs; ++d)
        if (c.offsets[d + 1] - c.offsets[d] > best) {
            best = (size_t)(c.offsets[d + 1] - c.offsets[d]);
            target = d;
        }
    char *copy = malloc(best + 1);
    REQUIRE(copy != NULL);
    memcpy(copy, c.texts + c.offsets[target], best);
    for (size_t i = 0; i < best; ++i) copy[i] = (char)(copy[i] >= 'a' && copy[i] <= 'z' ? copy[i] - 32 : copy[i]);
    size_t changed = 0;
    for (size_t i = best / 4; i < best && changed < 3; i += best / 4)
        if (copy[i] != ' ') copy[i] = copy[i] == 'Q' ? 'J' : 'Q', changed++;
    uint8_t query[512];
    sign(&o, copy, best, query);

    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    CHECK_EQ(knowhere_minhash_lsh_build(index, sigs, c.ndocs * sig, 128, 4, 32, true, NULL),
             KNOWHERE_OK);
    int64_t ids[3];
    float d[3];
    CHECK_EQ(knowhere_minhash_lsh_search(index, query, sizeof query, 3, NULL, 0, ids, d, NULL),
             KNOWHERE_OK);
    printf("  near-duplicate of document %zu (%zu bytes): found %lld, similarity %.3f\n", target,
           best, (long long)ids[0], d[0]);
    CHECK_EQ(ids[0], (int64_t)target);
    CHECK(d[0] > 0.8f && d[0] < 1.0f);
    knowhere_minhash_lsh_free(index);
    free(copy);
    free(sigs);
    corpus_free(&c);
}

int main(void) {
    RUN(test_text_vectors);
    RUN(test_hash_vectors);
    RUN(test_token_with_max_hash);
    RUN(test_text_is_hashes_of_shingles);
    RUN(test_four_bytes_are_low_halves);
    RUN(test_case_and_whitespace);
    RUN(test_normalisation_paths_agree);
    RUN(test_empty_documents);
    RUN(test_estimates_are_unbiased);
    RUN(test_sequential_tokens);
    RUN(test_batch_equals_single);
    RUN(test_batch_few_tokens_small_k);
    RUN(test_invalid_arguments);
    big = make_corpus(10000, 800, 3);
    RUN(test_interrupts_and_deadlines);
    corpus_free(&big);
    RUN(test_signatures_find_near_duplicates);
    return CHECK_DONE();
}
