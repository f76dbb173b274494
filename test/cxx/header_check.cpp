// Compiled for C++11, 14, 17 and 20 with -Wall -Wextra -Werror -pedantic:
// the public headers must be clean in each, and the program must link and
// run against the shared library.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "knowhere_rs.h"
#include "knowhere_rs.hpp"

static int failures = 0;
#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);    \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

static int cancellable(const knowhere_rs::Interrupt &stop) {
    KNOWHERE_CHECK_INTERRUPT(stop.get());
    return KNOWHERE_OK;
}

template <typename F> static int status_of(F f) {
    try {
        f();
    } catch (const knowhere_rs::Error &e) {
        return e.status();
    }
    return KNOWHERE_OK;
}

// The wrapper over documents: signatures, an index with near-duplicates,
// range search, self-join, clusters, persistence, scheme and app data.
static void check_documents() {
    std::vector<std::string> texts;
    for (int i = 0; i < 40; ++i) {
        std::string text;
        for (int w = 0; w < 60; ++w) text += "word" + std::to_string(i * 1000 + w) + " ";
        texts.push_back(text);
    }
    texts[30] = texts[3];                    // an exact duplicate of 3
    texts[31] = texts[4] + "and one more";   // a near-duplicate of 4
    knowhere_rs::Signer signer;
    size_t bytes = signer.signature_bytes();
    EXPECT(bytes == 128 * 4);
    std::vector<uint8_t> all = signer.sign_all(texts, 3);
    EXPECT(all.size() == texts.size() * bytes);
    bool same = true;
    for (size_t i = 0; i < texts.size(); ++i)
        same = same && signer.sign(texts[i]) == std::vector<uint8_t>(all.begin() + i * bytes,
                                                                    all.begin() + (i + 1) * bytes);
    EXPECT(same);
    EXPECT(signer.jaccard(texts[3], texts[30]) == 1.0);
    double near = signer.jaccard(texts[4], texts[31]);
    EXPECT(near > 0.9 && near < 1.0);
    EXPECT(signer.jaccard(texts[1], texts[2]) == 0.0);

    knowhere_rs::BandChoice choice = knowhere_rs::choose_bands(128, 0.8);
    EXPECT(choice.bands * choice.rows <= 128 && choice.probability >= 0.95);
    EXPECT(std::fabs(choice.probability -
                     knowhere_lsh_candidate_probability(0.8, choice.bands, choice.rows)) < 1e-12);
    EXPECT(status_of([] { knowhere_rs::choose_bands(128, 1.5); }) == KNOWHERE_ERR_INVALID_ARG);

    knowhere_rs::MinHashLSH index;
    index.set_num_threads(3);
    EXPECT(index.num_threads() == 3);
    index.build(all.data(), all.size(), 128, 4, choice.bands, true);
    index.set_signature_scheme(signer.options());
    EXPECT(index.mh_vec_length() == 128 && index.element_size() == 4 && index.has_raw_data());
    EXPECT(index.rows_per_band() == 128 / choice.bands);
    knowhere_signature_options other = knowhere_rs::signature_options();
    other.seed = 7;
    EXPECT(status_of([&] { index.check_signature_scheme(other); }) == KNOWHERE_ERR_INVALID_ARG);
    index.check_signature_scheme(signer.options());

    knowhere_rs::RangeResult range = index.range_search(&all[3 * bytes], 2 * bytes, 2, 0.8f);
    EXPECT(range.lims.size() == 3 && range.lims[0] == 0);
    EXPECT(range.lims[1] == 2 && range.ids[0] == 3 && range.ids[1] == 30);
    EXPECT(range.lims[2] - range.lims[1] == 2 && range.ids[2] == 4 && range.ids[3] == 31);

    knowhere_rs::Pairs pairs = index.self_join(0.8f);
    EXPECT(pairs.left.size() == 2 && pairs.right.size() == 2 && pairs.similarity.size() == 2);
    EXPECT(pairs.left[0] == 3 && pairs.right[0] == 30 && pairs.similarity[0] == 1.0f);
    EXPECT(pairs.left[1] == 4 && pairs.right[1] == 31 && pairs.similarity[1] < 1.0f);

    knowhere_rs::Clusters clusters = index.cluster(0.8f);
    EXPECT(clusters.representatives.size() == texts.size());
    EXPECT(clusters.representatives[30] == 3 && clusters.representatives[31] == 4);
    EXPECT(clusters.representatives[5] == 5 && clusters.similarities[30] == 1.0);

    const int64_t ids[2] = {30, 1};
    std::vector<uint8_t> rows = index.vectors(ids, 2);
    EXPECT(std::equal(rows.begin(), rows.begin() + bytes, all.begin() + 30 * bytes));
    EXPECT(std::equal(rows.begin() + bytes, rows.end(), all.begin() + bytes));

    const char app[] = "keys";
    index.set_app_data(app, 4);
    EXPECT(index.app_data() == std::vector<uint8_t>(app, app + 4));
    std::vector<uint8_t> saved = index.serialize();
    knowhere_rs::MinHashLSH copy;
    copy.deserialize(saved.data(), saved.size());
    EXPECT(copy.serialize() == saved && copy.app_data() == index.app_data());
    copy.check_signature_scheme(signer.options());
    const char *tmp = std::getenv("TMPDIR");
    // One name per process: the C++11..20 builds of this test run at once.
    std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/knowhere_rs_hpp_" +
                       std::to_string(std::random_device{}()) + ".khrs";
    index.save(path);
    knowhere_rs::MinHashLSH loaded;
    loaded.load(path);
    std::remove(path.c_str());
    EXPECT(loaded.serialize() == saved);
    EXPECT(status_of([&] { loaded.load(path); }) == KNOWHERE_ERR_FILE);
    EXPECT(status_of([&] { copy.deserialize(saved.data(), 10); }) != KNOWHERE_OK);
    EXPECT(copy.serialize() == saved); // a failed deserialize left it as it was
    knowhere_rs::Interrupt cancelled(true);
    EXPECT(status_of([&] { index.self_join(0.8f, &cancelled); }) == KNOWHERE_ERR_INTERRUPTED);

    // b-bit codes instead of full values: the pair's similarity is the
    // corrected fraction of equal codes; the values cannot be copied out.
    knowhere_rs::MinHashLSH codes;
    EXPECT(status_of([&] { codes.set_raw_bits(5); }) == KNOWHERE_ERR_INVALID_ARG);
    codes.set_raw_bits(8);
    codes.build(all.data(), all.size(), 128, 4, choice.bands, true);
    EXPECT(codes.raw_bits() == 8 && !codes.has_raw_data() && index.raw_bits() == 0);
    knowhere_rs::Pairs coded = codes.self_join(0.8f);
    EXPECT(coded.left.size() == 2 && coded.similarity[0] == 1.0f && coded.similarity[1] < 1.0f);
    EXPECT(status_of([&] { codes.vectors(ids, 2); }) == KNOWHERE_ERR_INVALID_ARG);
    EXPECT(codes.memory_usage() < index.memory_usage());
}

int main() {
    EXPECT(std::strcmp(knowhere_version(), KNOWHERE_RS_VERSION_STRING) == 0);
    EXPECT(knowhere_abi_version() == KNOWHERE_RS_ABI_VERSION);

    CInterrupt raw = knowhere_interrupt_create();
    EXPECT(raw != nullptr);
    EXPECT(!knowhere_interrupt_is_interrupted(raw));
    knowhere_interrupt_free(raw);

    knowhere_rs::Interrupt stop;
    knowhere_rs::Interrupt clone = stop;
    EXPECT(cancellable(stop) == KNOWHERE_OK);
    clone.interrupt();
    EXPECT(stop.is_interrupted());
    EXPECT(cancellable(stop) == KNOWHERE_ERR_INTERRUPTED);
    bool threw = false;
    try {
        stop.check("stopped");
    } catch (const knowhere_rs::Error &e) {
        threw = e.is_interrupted() && std::strcmp(e.what(), "stopped") == 0 &&
                e.status() == KNOWHERE_ERR_INTERRUPTED;
    }
    EXPECT(threw);
    knowhere_rs::Interrupt moved = std::move(clone);
    moved.reset();
    EXPECT(!stop.is_interrupted());
    EXPECT(clone.get() == nullptr);
    EXPECT(!stop.test_and_set());
    EXPECT(stop.test_and_set());

    // The index wrapper: build, search, errors as exceptions.
    std::vector<uint32_t> signatures(64 * 16);
    for (size_t i = 0; i < signatures.size(); ++i)
        signatures[i] = static_cast<uint32_t>(i * 2654435761u);
    knowhere_rs::MinHashLSH index;
    index.build(signatures.data(), signatures.size() * 4, 16, 4, 4, true);
    EXPECT(index.count() == 64);
    knowhere_rs::SearchResult hits = index.search(&signatures[16 * 7], 16 * 4, 3);
    EXPECT(hits.ids.size() == 3 && hits.ids[0] == 7 && hits.distances[0] == 1.0f);
    EXPECT(hits.ids[1] == -1);
    knowhere_rs::Interrupt cancelled(true);
    int status = 0;
    try {
        index.build(signatures.data(), signatures.size() * 4, 16, 4, 4, true, &cancelled);
    } catch (const knowhere_rs::Error &e) {
        status = e.status();
    }
    EXPECT(status == KNOWHERE_ERR_INTERRUPTED);
    try {
        index.search(signatures.data(), 3, 1);
    } catch (const knowhere_rs::Error &e) {
        status = e.status();
    }
    EXPECT(status == KNOWHERE_ERR_INVALID_ARG);
    const int64_t seven = 7, out_of_range = 64;
    EXPECT(index.remove(&seven, 1) == 1 && index.removed_count() == 1);
    EXPECT(index.search(&signatures[16 * 7], 16 * 4, 1).ids[0] == -1);
    // Search options: hit flags, and a refusal as an exception.
    knowhere_search_options options = knowhere_rs::search_options();
    options.mode = KNOWHERE_SEARCH_HITS;
    knowhere_rs::SearchResult flags = index.search(&signatures[16 * 9], 16 * 4, 2, 1, options);
    EXPECT(flags.ids[0] == 9 && flags.distances[0] == 1.0f && flags.ids[1] == -1);
    options.mode = 9;
    status = 0;
    try {
        index.search(&signatures[16 * 9], 16 * 4, 2, 1, options);
    } catch (const knowhere_rs::Error &e) {
        status = e.status();
    }
    EXPECT(status == KNOWHERE_ERR_INVALID_ARG);
    status = 0;
    try {
        index.remove(&out_of_range, 1);
    } catch (const knowhere_rs::Error &e) {
        status = e.status();
    }
    EXPECT(status == KNOWHERE_ERR_INVALID_ARG);
    check_documents();
    return failures == 0 ? 0 : 1;
}
