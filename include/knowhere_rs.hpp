/*
 * knowhere_rs.hpp: a header-only C++11 convenience layer over knowhere_rs.h.
 *
 * RAII owners for the C handles and an exception carrying the status:
 *
 *     knowhere_rs::Interrupt stop;            // knowhere_interrupt_create
 *     knowhere_rs::Interrupt other = stop;    // knowhere_interrupt_clone
 *     other.interrupt();                      // stop.is_interrupted() == true
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

} // namespace knowhere_rs

#endif
