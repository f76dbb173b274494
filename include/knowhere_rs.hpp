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
 * Functions that fail throw knowhere_rs::Error; e.is_interrupted() tells a
 * cancellation apart. Thread safety is that of the C API.
 */
#ifndef KNOWHERE_RS_HPP
#define KNOWHERE_RS_HPP

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
    size_t count() const noexcept { return knowhere_minhash_lsh_count(index_); }
    size_t removed_count() const noexcept { return knowhere_minhash_lsh_removed_count(index_); }
    size_t bands() const noexcept { return knowhere_minhash_lsh_bands(index_); }
    size_t memory_usage() const noexcept { return knowhere_minhash_lsh_memory_usage(index_); }
    /* The C handle, still owned by this object. */
    knowhere_minhash_lsh *get() const noexcept { return index_; }

  private:
    knowhere_minhash_lsh *index_;
};

} // namespace knowhere_rs

#endif
