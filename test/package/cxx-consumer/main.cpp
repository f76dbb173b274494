// A C++17 program over the installed C++ header (knowhere_rs.hpp): builds an
// index of 1000 random signatures, finds each of a few among them, and
// checks that an interrupted build throws an Error that says so.
#include <knowhere_rs.hpp>

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

int main() {
    constexpr size_t k_length = 128, k_rows = 1000;
    std::vector<uint32_t> data(k_length * k_rows);
    std::mt19937 random(7);
    for (auto &value : data) value = static_cast<uint32_t>(random());

    knowhere_rs::MinHashLSH index;
    index.build(data.data(), data.size() * sizeof(uint32_t), k_length, 4, 16, true);
    for (size_t row = 0; row < k_rows; row += 111) {
        auto hits = index.search(&data[row * k_length], k_length * sizeof(uint32_t), 1);
        if (hits.ids.at(0) != static_cast<int64_t>(row) || hits.distances.at(0) != 1.0f) {
            std::fprintf(stderr, "row %zu: got %lld\n", row, static_cast<long long>(hits.ids[0]));
            return 1;
        }
    }

    knowhere_rs::Interrupt stop;
    stop.interrupt();
    try {
        index.build(data.data(), data.size() * sizeof(uint32_t), k_length, 4, 16, true, &stop);
        std::fprintf(stderr, "an interrupted build did not throw\n");
        return 1;
    } catch (const knowhere_rs::Error &error) {
        if (!error.is_interrupted()) return 1;
    }
    if (index.count() != k_rows) return 1;  // the interrupted build changed nothing
    std::printf("c++ consumer ok: %zu rows, %s\n", index.count(), knowhere_version());
    return 0;
}
