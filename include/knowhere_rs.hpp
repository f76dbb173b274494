/*
 * knowhere_rs.hpp: a header-only C++11 convenience layer over knowhere_rs.h.
 *
 * RAII owners for the C handles and an exception carrying the status:
 *
 *     knowhere_rs::Interrupt stop;            // knowhere_interrupt_create
 *     knowhere_rs::Interrupt other = stop;    // knowhere_interrupt_clone
 *     other.interrupt();                      // stop.is_interrupted() == true
 *
 *     knowhere_rs::MinHashLSH index;
 *     index.build(bytes, n_bytes, 128, 4, 16, true, &stop);
 *     auto hits = index.search(query, query_bytes, 10);   // hits.ids, hits.distances
 *
 *     knowhere_rs::Signer signer;             // word 3-shingles, 128 hashes
 *     std::vector<uint8_t> sig = signer.sign("some text");
 *     index.save("index.khrs");
 *
 * Functions that fail throw knowhere_rs::Error; e.is_interrupted() tells a
 * cancellation apart. Every method maps to one C function named in its
 * comment, whose documentation in knowhere_rs.h is the reference; get()
 * gives the C handle for what is not wrapped. Thread safety is that of the
 * C API.
 */
#ifndef KNOWHERE_RS_HPP
#define KNOWHERE_RS_HPP

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "knowhere_rs.h"

namespace knowhere_rs {

class Error : public std::runtime_error {
  public:
    Error(int status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    int status() const noexcept { return status_; }
    bool is_interrupted() const noexcept {
        return status_ == KNOWHERE_ERR_INTERRUPTED || status_ == KNOWHERE_ERR_TIMEOUT;
    }

  private:
    int status_;
};

/* Throws Error for a non-OK status, taking ownership of `err` (may be NULL). */
inline void check(int status, knowhere_error *err = nullptr) {
    if (status == KNOWHERE_OK) {
        knowhere_error_free(err);
        return;
    }
    std::string message = err ? knowhere_error_message(err) : knowhere_status_string(status);
    knowhere_error_free(err);
    throw Error(status, message);
}

/* Owns one CInterrupt handle. Copies are clones: they share the flag. */
class Interrupt {
  public:
    explicit Interrupt(bool interrupted = false)
        : handle_(knowhere_interrupt_create_with_state(interrupted)) {
        if (!handle_) throw std::bad_alloc();
    }
    Interrupt(const Interrupt &other) : handle_(knowhere_interrupt_clone(other.handle_)) {
        if (!handle_) throw std::bad_alloc();
    }
    Interrupt(Interrupt &&other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
    Interrupt &operator=(Interrupt other) noexcept {
        std::swap(handle_, other.handle_);
        return *this;
    }
    ~Interrupt() { knowhere_interrupt_free(handle_); }

    bool is_interrupted() const noexcept { return knowhere_interrupt_is_interrupted(handle_); }
    void interrupt() noexcept { knowhere_interrupt_interrupt(handle_); }
    void reset() noexcept { knowhere_interrupt_reset(handle_); }
    bool test_and_set() noexcept { return knowhere_interrupt_test_and_set(handle_); }
    /* Throws Error(KNOWHERE_ERR_INTERRUPTED, message) when set. */
    void check(const char *message = nullptr) const {
        knowhere_error *err = nullptr;
        int status = knowhere_interrupt_check(handle_, &err, message);
        knowhere_rs::check(status, err);
    }
    /* The C handle, still owned by this object (NULL after a move). */
    CInterrupt get() const noexcept { return handle_; }

  private:
    CInterrupt handle_;
};

/* Search options with their defaults (knowhere_search_options_init); set
 * fields after it, e.g. options.mode = KNOWHERE_SEARCH_HITS. */
inline knowhere_search_options search_options() {
    knowhere_search_options options;
    knowhere_search_options_init(&options);
    return options;
}

/* k results per query, row-major, as the C API writes them. */
struct SearchResult {
    std::vector<int64_t> ids;
    std::vector<float> distances;
};

/* Range search results in knowhere's lims layout: query q's are
 * ids[lims[q] .. lims[q + 1] - 1], with their similarities in distances. */
struct RangeResult {
    std::vector<uint64_t> lims;
    std::vector<int64_t> ids;
    std::vector<float> distances;
};

/* A self-join's pairs: (left[i], right[i]) with similarity[i]. */
struct Pairs {
    std::vector<int64_t> left, right;
    std::vector<float> similarity;
};

/* Each row's representative and its similarity to it. */
struct Clusters {
    std::vector<int64_t> representatives;
    std::vector<double> similarities;
};

/* Owns a knowhere_minhash_lsh index. Movable, not copyable. */
class MinHashLSH {
  public:
    MinHashLSH() : index_(knowhere_minhash_lsh_create()) {
        if (!index_) throw std::bad_alloc();
    }
    MinHashLSH(const MinHashLSH &) = delete;
    MinHashLSH &operator=(const MinHashLSH &) = delete;
    MinHashLSH(MinHashLSH &&other) noexcept : index_(other.index_) { other.index_ = nullptr; }
    MinHashLSH &operator=(MinHashLSH &&other) noexcept {
        std::swap(index_, other.index_);
        return *this;
    }
    ~MinHashLSH() { knowhere_minhash_lsh_free(index_); }

    void build(const void *data, size_t data_len, size_t mh_vec_length, size_t element_size,
               size_t bands, bool with_raw_data, const Interrupt *interrupt = nullptr) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_build_with_interrupt(
            index_, static_cast<const uint8_t *>(data), data_len, mh_vec_length, element_size,
            bands, with_raw_data, interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
    }
    void add(const void *data, size_t data_len, const Interrupt *interrupt = nullptr) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_add_with_interrupt(
            index_, static_cast<const uint8_t *>(data), data_len,
            interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
    }
    /* Merges the added rows into the band tables
     * (knowhere_minhash_lsh_compact_with_interrupt). */
    void compact(const Interrupt *interrupt = nullptr) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_compact_with_interrupt(
            index_, interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
    }
    /* Removes rows (knowhere_minhash_lsh_remove); returns how many were
     * newly removed. */
    size_t remove(const int64_t *ids, size_t n) {
        knowhere_error *err = nullptr;
        size_t removed = 0;
        int status = knowhere_minhash_lsh_remove(index_, ids, n, &removed, &err);
        check(status, err); /* err after the call: argument order is unspecified */
        return removed;
    }
    /* nq queries laid end to end (nq = 1: a single search). */
    SearchResult search(const void *queries, size_t queries_len, size_t k, size_t nq = 1,
                        const uint8_t *bitset = nullptr, size_t bitset_bits = 0,
                        const Interrupt *interrupt = nullptr) const {
        return search(queries, queries_len, k, nq, search_options(), bitset, bitset_bits,
                      interrupt);
    }
    /* The same with search options (knowhere_minhash_lsh_batch_search_with_options). */
    SearchResult search(const void *queries, size_t queries_len, size_t k, size_t nq,
                        const knowhere_search_options &options, const uint8_t *bitset = nullptr,
                        size_t bitset_bits = 0, const Interrupt *interrupt = nullptr) const {
        if (nq != 0 && k > SIZE_MAX / sizeof(int64_t) / nq)
            throw Error(KNOWHERE_ERR_INVALID_ARG, "nq * k results overflow");
        SearchResult result;
        result.ids.resize(nq * k);
        result.distances.resize(nq * k);
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_batch_search_with_options(
            index_, static_cast<const uint8_t *>(queries), queries_len, nq, k, bitset,
            bitset_bits, &options, result.ids.data(), result.distances.data(),
            interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
        return result;
    }
    /* Every indexed row within `threshold` of each of nq queries
     * (knowhere_minhash_lsh_range_search_with_options). */
    RangeResult range_search(const void *queries, size_t queries_len, size_t nq,
                             float threshold,
                             const knowhere_search_options &options = search_options(),
                             const uint8_t *bitset = nullptr, size_t bitset_bits = 0,
                             const Interrupt *interrupt = nullptr) const {
        knowhere_range_result *result = nullptr;
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_range_search_with_options(
            index_, static_cast<const uint8_t *>(queries), queries_len, nq, threshold, bitset,
            bitset_bits, &options, &result, interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
        std::unique_ptr<knowhere_range_result, void (*)(knowhere_range_result *)> owner(
            result, knowhere_range_result_free);
        RangeResult out;
        const uint64_t *lims = knowhere_range_result_lims(result);
        out.lims.assign(lims, lims + knowhere_range_result_nq(result) + 1);
        size_t total = static_cast<size_t>(out.lims.back());
        const int64_t *ids = knowhere_range_result_ids(result);
        const float *distances = knowhere_range_result_distances(result);
        out.ids.assign(ids, ids + total);
        out.distances.assign(distances, distances + total);
        return out;
    }
    /* Every pair of indexed rows within `threshold`
     * (knowhere_minhash_lsh_self_join_with_interrupt). */
    Pairs self_join(float threshold, const Interrupt *interrupt = nullptr) const {
        knowhere_pairs *pairs = nullptr;
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_self_join_with_interrupt(
            index_, threshold, &pairs, interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
        std::unique_ptr<knowhere_pairs, void (*)(knowhere_pairs *)> owner(pairs,
                                                                           knowhere_pairs_free);
        Pairs out;
        size_t n = knowhere_pairs_count(pairs);
        out.left.assign(knowhere_pairs_left(pairs), knowhere_pairs_left(pairs) + n);
        out.right.assign(knowhere_pairs_right(pairs), knowhere_pairs_right(pairs) + n);
        out.similarity.assign(knowhere_pairs_similarity(pairs),
                              knowhere_pairs_similarity(pairs) + n);
        return out;
    }
    /* The clusters of the index's near-duplicates without listing pairs
     * (knowhere_minhash_lsh_cluster_with_interrupt): mode is
     * KNOWHERE_CLUSTER_COVER (the keep list of a deduplication) or
     * KNOWHERE_CLUSTER_COMPONENTS. */
    Clusters cluster(float threshold, uint32_t mode = KNOWHERE_CLUSTER_COVER,
                     const Interrupt *interrupt = nullptr) const {
        Clusters out;
        size_t n = count();
        out.representatives.resize(n);
        out.similarities.resize(n);
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_cluster_with_interrupt(
            index_, threshold, mode, out.representatives.data(), out.similarities.data(), n,
            interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
        return out;
    }
    /* The raw signatures of rows (knowhere_minhash_lsh_get_vector_by_ids),
     * end to end; needs an index built with raw data. */
    std::vector<uint8_t> vectors(const int64_t *ids, size_t n) const {
        size_t row = mh_vec_length() * element_size();
        if (row != 0 && n > SIZE_MAX / row)
            throw Error(KNOWHERE_ERR_INVALID_ARG, "n * signature bytes overflow");
        std::vector<uint8_t> out(n * row);
        knowhere_error *err = nullptr;
        int status =
            knowhere_minhash_lsh_get_vector_by_ids(index_, ids, n, out.data(), out.size(), &err);
        check(status, err);
        return out;
    }

    /* Save to / load from a file, and the same bytes in memory
     * (knowhere_minhash_lsh_save / _load / _serialize / _deserialize, the
     * _with_interrupt forms). */
    void save(const std::string &path, const Interrupt *interrupt = nullptr) const {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_save_with_interrupt(
            index_, path.c_str(), interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
    }
    void load(const std::string &path, const Interrupt *interrupt = nullptr) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_load_with_interrupt(
            index_, path.c_str(), interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
    }
    std::vector<uint8_t> serialize(const Interrupt *interrupt = nullptr) const {
        uint8_t *bytes = nullptr;
        size_t len = 0;
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_serialize_with_interrupt(
            index_, &bytes, &len, interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
        std::unique_ptr<uint8_t, void (*)(uint8_t *)> owner(bytes, knowhere_buffer_free);
        return std::vector<uint8_t>(bytes, bytes + len);
    }
    void deserialize(const void *data, size_t data_len, const Interrupt *interrupt = nullptr) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_deserialize_with_interrupt(
            index_, static_cast<const uint8_t *>(data), data_len,
            interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
    }

    /* The signature scheme the index records, and the check that queries
     * were made the same way (knowhere_minhash_lsh_set_signature_scheme,
     * _check_signature_scheme). */
    void set_signature_scheme(const knowhere_signature_options &options) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_set_signature_scheme(index_, &options, &err);
        check(status, err);
    }
    void check_signature_scheme(const knowhere_signature_options &options) const {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_check_signature_scheme(index_, &options, &err);
        check(status, err);
    }
    /* The application's bytes saved with the index
     * (knowhere_minhash_lsh_set_app_data / _get_app_data). */
    void set_app_data(const void *data, size_t len) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_set_app_data(index_, static_cast<const uint8_t *>(data),
                                                       len, &err);
        check(status, err);
    }
    std::vector<uint8_t> app_data() const {
        size_t len = 0;
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_get_app_data(index_, nullptr, 0, &len, &err);
        if (status == KNOWHERE_ERR_OVERFLOW) { /* the size was asked for */
            knowhere_error_free(err);
            err = nullptr;
        } else {
            check(status, err);
        }
        std::vector<uint8_t> out(len);
        status = knowhere_minhash_lsh_get_app_data(index_, out.data(), out.size(), &len, &err);
        check(status, err);
        out.resize(len);
        return out;
    }

    /* The raw form the next build keeps: 0 full values, 8 or 16 b-bit codes
     * (knowhere_minhash_lsh_set_raw_bits); raw_bits() is the current
     * contents' (8 or 16 with codes, else 0). */
    void set_raw_bits(uint32_t bits) {
        knowhere_error *err = nullptr;
        int status = knowhere_minhash_lsh_set_raw_bits(index_, bits, &err);
        check(status, err);
    }
    uint32_t raw_bits() const noexcept { return knowhere_minhash_lsh_raw_bits(index_); }

    /* Threads a call may use (knowhere_minhash_lsh_set_num_threads; 0: one
     * per online processor). */
    void set_num_threads(size_t threads) {
        int status = knowhere_minhash_lsh_set_num_threads(index_, threads);
        check(status, nullptr);
    }
    size_t num_threads() const noexcept { return knowhere_minhash_lsh_num_threads(index_); }

    size_t count() const noexcept { return knowhere_minhash_lsh_count(index_); }
    size_t removed_count() const noexcept { return knowhere_minhash_lsh_removed_count(index_); }
    size_t mh_vec_length() const noexcept { return knowhere_minhash_lsh_mh_vec_length(index_); }
    size_t element_size() const noexcept { return knowhere_minhash_lsh_element_size(index_); }
    size_t bands() const noexcept { return knowhere_minhash_lsh_bands(index_); }
    size_t rows_per_band() const noexcept { return knowhere_minhash_lsh_rows_per_band(index_); }
    bool has_raw_data() const noexcept { return knowhere_minhash_lsh_has_raw_data(index_); }
    size_t memory_usage() const noexcept { return knowhere_minhash_lsh_memory_usage(index_); }
    /* The C handle, still owned by this object. */
    knowhere_minhash_lsh *get() const noexcept { return index_; }

  private:
    knowhere_minhash_lsh *index_;
};

/* Signature options with their defaults (knowhere_signature_options_init);
 * set fields after it, e.g. options.shingle_size = 5. */
inline knowhere_signature_options signature_options() {
    knowhere_signature_options options;
    knowhere_signature_options_init(&options);
    return options;
}

/* Makes signatures of documents with one set of options
 * (knowhere_signature_from_text, knowhere_signature_batch_from_text_with_interrupt). */
class Signer {
  public:
    explicit Signer(const knowhere_signature_options &options = signature_options())
        : options_(options) {}
    const knowhere_signature_options &options() const noexcept { return options_; }
    /* Bytes per signature: num_hashes * value_bytes. */
    size_t signature_bytes() const noexcept {
        return static_cast<size_t>(options_.num_hashes) * options_.value_bytes;
    }
    /* One document's signature (UTF-8 text). */
    std::vector<uint8_t> sign(const char *text, size_t text_len) const {
        std::vector<uint8_t> out(signature_bytes());
        knowhere_error *err = nullptr;
        int status = knowhere_signature_from_text(&options_, text, text_len, out.data(),
                                                  out.size(), nullptr, &err);
        check(status, err);
        return out;
    }
    std::vector<uint8_t> sign(const std::string &text) const {
        return sign(text.data(), text.size());
    }
    /* Many documents' signatures, end to end, on `threads` threads (0: one
     * per online processor). */
    std::vector<uint8_t> sign_all(const std::vector<std::string> &texts, size_t threads = 0,
                                  const Interrupt *interrupt = nullptr) const {
        std::string joined;
        std::vector<uint64_t> offsets(1, 0);
        offsets.reserve(texts.size() + 1);
        for (const std::string &text : texts) {
            joined += text;
            offsets.push_back(joined.size());
        }
        if (!texts.empty() && signature_bytes() > SIZE_MAX / texts.size())
            throw Error(KNOWHERE_ERR_INVALID_ARG, "documents * signature bytes overflow");
        std::vector<uint8_t> out(texts.size() * signature_bytes());
        knowhere_error *err = nullptr;
        int status = knowhere_signature_batch_from_text_with_interrupt(
            &options_, joined.data(), joined.size(), offsets.data(), texts.size(), out.data(),
            out.size(), nullptr, threads, interrupt ? interrupt->get() : nullptr, &err);
        check(status, err);
        return out;
    }
    /* The exact Jaccard similarity of two documents' shingle sets
     * (knowhere_shingle_jaccard). */
    double jaccard(const std::string &a, const std::string &b) const {
        double similarity = 0;
        knowhere_error *err = nullptr;
        int status = knowhere_shingle_jaccard(&options_, a.data(), a.size(), b.data(), b.size(),
                                              &similarity, &err);
        check(status, err);
        return similarity;
    }

  private:
    knowhere_signature_options options_;
};

/* Bands and rows for a similarity threshold (knowhere_lsh_choose_bands):
 * a pair at the threshold is a candidate with probability >= target. */
struct BandChoice {
    size_t bands, rows;
    double probability;
};
inline BandChoice choose_bands(size_t num_hashes, double threshold, double target = 0.95) {
    BandChoice choice = {0, 0, 0};
    knowhere_error *err = nullptr;
    int status = knowhere_lsh_choose_bands(num_hashes, threshold, target, &choice.bands,
                                           &choice.rows, &choice.probability, &err);
    check(status, err);
    return choice;
}

} // namespace knowhere_rs

#endif
