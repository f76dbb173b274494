// Compiled for C++11, 14, 17 and 20 with -Wall -Wextra -Werror -pedantic:
// the public headers must be clean in each, and the program must link and
// run against the shared library.
#include <cstdio>
#include <cstring>

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
    return failures == 0 ? 0 : 1;
}
