// The sizes the test's stand-in for knowhere's ThreadPool reports.
#ifndef KNOWHERE_RS_TEST_THREAD_POOL_SIZES_H
#define KNOWHERE_RS_TEST_THREAD_POOL_SIZES_H

#include <atomic>
#include <cstddef>

namespace knowhere::test {
inline std::atomic<size_t> build_pool_size{2};
inline std::atomic<size_t> search_pool_size{2};
}  // namespace knowhere::test

#endif
