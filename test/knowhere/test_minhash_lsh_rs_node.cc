// The MINHASH_LSH_RS node against knowhere's real headers: every behaviour
// docs/knowhere.md promises, checked against a brute-force model of
// knowhere's MINHASH_LSH (hit order: band by band, ids ascending, each row
// once; jaccard: the fraction of equal values), plus the DISK flow with a
// test FileManager and cancellation through an OpContext.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "minhash_lsh_rs_node.h"
#include "thread_pool_sizes.h"

#if !defined(NOT_COMPILE_FOR_SWIG) || defined(KNOWHERE_WITH_LIGHT)
#error "the adapter test must compile in knowhere's production configuration"
#endif

namespace {

using knowhere::BitsetView;
using knowhere::DataSetPtr;
using knowhere::Json;
using knowhere::Status;
using Node = knowhere::MinHashLSHRsNode<knowhere::bin1>;

constexpr size_t kLength = 32;          // values per signature
constexpr size_t kWidth = 4;            // bytes per value (mh_element_bit_width 32)
constexpr size_t kSig = kLength * kWidth;
constexpr int64_t kDim = kSig * 8;      // knowhere's dim: bits
constexpr int32_t kBands = 8;
constexpr size_t kRowsPerBand = kLength / kBands;

// ---- data -----------------------------------------------------------------

struct Rng {
    uint64_t state;
    uint64_t
    next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double
    unit() {
        return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
    }
};

// Rows in clusters of ten: a random base and copies of it with each value
// kept with probability 0.95 .. 0.4 (one an exact copy), so queries have hits
// in several bands, ranked candidates and ties.
std::vector<uint8_t>
ClusteredRows(size_t n, uint64_t seed) {
    Rng rng{seed};
    std::vector<uint8_t> data(n * kSig);
    for (auto& byte : data) {
        byte = static_cast<uint8_t>(rng.next());
    }
    const double keep[] = {0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 1.0, 0.85};
    for (size_t i = 0; i < n; ++i) {
        if (i % 10 == 0) {
            continue;
        }
        const uint8_t* base = data.data() + (i - i % 10) * kSig;
        uint8_t* row = data.data() + i * kSig;
        std::memcpy(row, base, kSig);
        for (size_t v = 0; v < kLength; ++v) {
            if (rng.unit() >= keep[i % 10 - 1]) {
                row[v * kWidth] ^= static_cast<uint8_t>(1 + rng.next() % 255);
            }
        }
    }
    return data;
}

DataSetPtr
Rows(const std::vector<uint8_t>& data, size_t first = 0, size_t count = SIZE_MAX) {
    const size_t n = std::min(count, data.size() / kSig - first);
    return knowhere::GenDataSet(static_cast<int64_t>(n), kDim, data.data() + first * kSig);
}

// ---- configs ----------------------------------------------------------------

template <typename Config = knowhere::MinHashLSHConfig>
std::unique_ptr<Config>
Load(Json json, knowhere::PARAM_TYPE type) {
    auto cfg = std::make_unique<Config>();
    std::string msg;
    auto status = knowhere::Config::Load(*cfg, json, type, &msg);
    INFO(msg);
    REQUIRE(status == Status::success);
    return cfg;
}

std::shared_ptr<knowhere::Config>
TrainConfig(Json extra = Json::object()) {
    Json json = {{"metric_type", "MHJACCARD"}, {"dim", kDim}, {"mh_lsh_band", kBands},
                 {"mh_element_bit_width", static_cast<int>(kWidth * 8)}, {"with_raw_data", true}};
    json.update(extra);
    return Load(json, knowhere::TRAIN);
}

std::unique_ptr<knowhere::Config>
SearchConfig(int k, Json extra = Json::object()) {
    Json json = {{"metric_type", "MHJACCARD"}, {"k", k}};
    json.update(extra);
    return Load(json, knowhere::SEARCH);
}

std::unique_ptr<knowhere::Config>
RangeConfig(Json extra) {
    Json json = {{"metric_type", "MHJACCARD"}};
    json.update(extra);
    return Load(json, knowhere::RANGE_SEARCH);
}

std::unique_ptr<Node>
NewNode(const knowhere::Object& object = nullptr) {
    return std::make_unique<Node>(knowhere::Version::GetCurrentVersion().VersionNumber(), object);
}

std::unique_ptr<Node>
Built(const std::vector<uint8_t>& data, Json extra = Json::object()) {
    auto node = NewNode();
    REQUIRE(node->Build(Rows(data), TrainConfig(extra)) == Status::success);
    return node;
}

// ---- the model of knowhere's MINHASH_LSH ----------------------------------

struct Model {
    const std::vector<uint8_t>& data;
    size_t bands = kBands;
    std::function<bool(int64_t)> excluded = [](int64_t) { return false; };

    const uint8_t*
    row(size_t id) const {
        return data.data() + id * kSig;
    }
    size_t
    count() const {
        return data.size() / kSig;
    }
    size_t
    equal_values(const uint8_t* q, size_t id) const {
        size_t eq = 0;
        for (size_t v = 0; v < kLength; ++v) {
            eq += std::memcmp(q + v * kWidth, row(id) + v * kWidth, kWidth) == 0;
        }
        return eq;
    }
    // The first `limit` rows in hit order.
    std::vector<int64_t>
    hits(const uint8_t* q, size_t limit) const {
        const size_t band_bytes = kLength / bands * kWidth;
        std::vector<int64_t> out;
        std::set<size_t> seen;
        for (size_t b = 0; b < bands && out.size() < limit; ++b) {
            for (size_t id = 0; id < count() && out.size() < limit; ++id) {
                if (seen.count(id) || excluded(static_cast<int64_t>(id)) ||
                    std::memcmp(q + b * band_bytes, row(id) + b * band_bytes, band_bytes) != 0) {
                    continue;
                }
                seen.insert(id);
                out.push_back(static_cast<int64_t>(id));
            }
        }
        return out;
    }
    // jaccard: the best k of the first max(refine_k, k) hits.
    void
    ranked(const uint8_t* q, size_t k, size_t refine_k, int64_t* ids, float* distances) const {
        auto candidates = hits(q, std::max(refine_k, k));
        std::stable_sort(candidates.begin(), candidates.end());
        std::stable_sort(candidates.begin(), candidates.end(),
                         [&](int64_t a, int64_t b) { return equal_values(q, a) > equal_values(q, b); });
        for (size_t slot = 0; slot < k; ++slot) {
            ids[slot] = slot < candidates.size() ? candidates[slot] : -1;
            distances[slot] =
                slot < candidates.size() ? static_cast<float>(equal_values(q, candidates[slot])) / kLength : 0.0f;
        }
    }
};

// Queries: rows and perturbed rows.
std::vector<uint8_t>
Queries(const std::vector<uint8_t>& data, size_t nq, uint64_t seed) {
    Rng rng{seed};
    std::vector<uint8_t> q(nq * kSig);
    for (size_t i = 0; i < nq; ++i) {
        std::memcpy(q.data() + i * kSig, data.data() + (i * 37 % (data.size() / kSig)) * kSig, kSig);
        if (i % 2 == 0) {
            q[i * kSig + (rng.next() % kLength) * kWidth] ^= 0x5a;  // one value differs
        }
    }
    return q;
}

DataSetPtr
QuerySet(const std::vector<uint8_t>& queries) {
    return knowhere::GenDataSet(static_cast<int64_t>(queries.size() / kSig), kDim, queries.data());
}

DataSetPtr
Search(const Node& node, const std::vector<uint8_t>& queries, int k, Json extra = Json::object(),
       const BitsetView& bitset = nullptr, milvus::OpContext* op_context = nullptr) {
    auto result = node.Search(QuerySet(queries), SearchConfig(k, extra), bitset, op_context);
    INFO(result.what());
    REQUIRE(result.has_value());
    return result.value();
}

void
CheckHitFlags(const DataSetPtr& result, const Model& model, const std::vector<uint8_t>& queries, size_t k) {
    const size_t nq = queries.size() / kSig;
    REQUIRE(result->GetRows() == static_cast<int64_t>(nq));
    REQUIRE(result->GetDim() == static_cast<int64_t>(k));
    for (size_t q = 0; q < nq; ++q) {
        auto want = model.hits(queries.data() + q * kSig, k);
        for (size_t slot = 0; slot < k; ++slot) {
            INFO("query " << q << " slot " << slot);
            CHECK(result->GetIds()[q * k + slot] == (slot < want.size() ? want[slot] : -1));
            CHECK(result->GetDistance()[q * k + slot] == (slot < want.size() ? 1.0f : 0.0f));
        }
    }
}

void
CheckRanked(const DataSetPtr& result, const Model& model, const std::vector<uint8_t>& queries, size_t k,
            size_t refine_k) {
    const size_t nq = queries.size() / kSig;
    std::vector<int64_t> ids(k);
    std::vector<float> distances(k);
    for (size_t q = 0; q < nq; ++q) {
        model.ranked(queries.data() + q * kSig, k, refine_k, ids.data(), distances.data());
        INFO("query " << q);
        CHECK(std::vector<int64_t>(result->GetIds() + q * k, result->GetIds() + q * k + k) == ids);
        CHECK(std::vector<float>(result->GetDistance() + q * k, result->GetDistance() + q * k + k) == distances);
    }
}

// Every row of every query: the same ids and distances.
void
CheckSame(const DataSetPtr& a, const DataSetPtr& b) {
    REQUIRE(a->GetRows() == b->GetRows());
    REQUIRE(a->GetDim() == b->GetDim());
    const size_t n = static_cast<size_t>(a->GetRows() * a->GetDim());
    CHECK(std::equal(a->GetIds(), a->GetIds() + n, b->GetIds()));
    CHECK(std::equal(a->GetDistance(), a->GetDistance() + n, b->GetDistance()));
}

// ---- a FileManager over the local disk ---------------------------------------

class TestFileManager : public milvus::FileManager {
 public:
    std::vector<std::string> loaded, added;
    std::set<std::string> refuse;  // LoadFile / AddFile fail for these

    bool
    LoadFile(const std::string& filename) override {
        loaded.push_back(filename);
        return !refuse.count(filename) && std::filesystem::exists(filename);
    }
    bool
    AddFile(const std::string& filename) override {
        added.push_back(filename);
        return !refuse.count(filename) && std::filesystem::exists(filename);
    }
    bool
    AddFileMeta(const milvus::FileMeta&) override {
        return true;
    }
    std::optional<bool>
    IsExisted(const std::string& filename) override {
        return std::filesystem::exists(filename);
    }
    bool
    RemoveFile(const std::string& filename) override {
        return std::filesystem::remove(filename);
    }
    std::shared_ptr<milvus::InputStream>
    OpenInputStream(const std::string&) override {
        return nullptr;
    }
    std::shared_ptr<milvus::OutputStream>
    OpenOutputStream(const std::string&) override {
        return nullptr;
    }
};

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char name[] = "/tmp/knowhere-adapter-XXXXXX";
        REQUIRE(mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string
    operator/(const std::string& name) const {
        return (path / name).string();
    }
};

// knowhere's raw data file: [rows u32][dim u32][bytes].
void
WriteDataFile(const std::string& path, const std::vector<uint8_t>& data, uint32_t dim_bits = kDim) {
    std::ofstream out(path, std::ios::binary);
    const uint32_t header[2] = {static_cast<uint32_t>(data.size() / (dim_bits / 8)), dim_bits};
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    REQUIRE(out.good());
}

double
MillisecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---- the tests ----------------------------------------------------------------

TEST_CASE("MINHASH_LSH_RS is an IndexNode of knowhere's production build", "[node]") {
    // The layout the vendor README measured for knowhere d7cfd88 with
    // NOT_COMPILE_FOR_SWIG (528 without): a node compiled otherwise could not
    // be linked into knowhere.
    STATIC_REQUIRE(sizeof(knowhere::IndexNode) == 592);
    // What KNOWHERE_REGISTER_STATIC requires of a node (index_static.h).
    STATIC_REQUIRE(knowhere::has_static_StaticCreateConfig<Node, std::unique_ptr<knowhere::BaseConfig>()>::value);
    STATIC_REQUIRE(knowhere::has_static_StaticHasRawData<
                   Node, bool(const knowhere::BaseConfig&, const knowhere::IndexVersion&)>::value);
    STATIC_REQUIRE(knowhere::has_static_StaticEstimateLoadResource<
                   Node, knowhere::expected<knowhere::Resource>(const uint64_t, const int64_t, const int64_t,
                                                                const knowhere::BaseConfig&,
                                                                const knowhere::IndexVersion&)>::value);
    // The constructor every node has, with and without a FileManager.
    auto plain = NewNode();
    knowhere::Pack<std::shared_ptr<milvus::FileManager>> pack(std::make_shared<TestFileManager>());
    auto disk = NewNode(pack);
    CHECK(plain->Type() == "MINHASH_LSH_RS");
    CHECK(disk->Type() == "MINHASH_LSH_RS");
    CHECK(dynamic_cast<knowhere::MinHashLSHConfig*>(plain->CreateConfig().get()) != nullptr);
    CHECK(plain->Dim() == -1);
    CHECK(plain->Count() == 0);
    CHECK_FALSE(plain->HasRawData("MHJACCARD"));
    const auto version = knowhere::Version::GetCurrentVersion().VersionNumber();
    CHECK(Node::StaticHasRawData(*Load(Json{{"with_raw_data", true}}, knowhere::TRAIN), version));
    CHECK_FALSE(Node::StaticHasRawData(*Load(Json::object(), knowhere::TRAIN), version));
}

TEST_CASE("Build, Train and Add; Count, Dim, Size, HasRawData", "[build]") {
    const auto data = ClusteredRows(600, 1);
    const auto queries = Queries(data, 40, 2);
    auto built = Built(data);
    CHECK(built->Count() == 600);
    CHECK(built->Dim() == kDim);  // bits, as MINHASH_LSH reports it
    CHECK(built->Size() > static_cast<int64_t>(600 * kSig));  // raw data and tables
    CHECK(built->HasRawData("MHJACCARD"));
    CHECK(knowhere_minhash_lsh_bands(built->Handle()) == kBands);
    CHECK(knowhere_minhash_lsh_element_size(built->Handle()) == kWidth);

    // Train + Add in two batches gives the same index as Build.
    auto grown = NewNode();
    REQUIRE(grown->Train(Rows(data, 0, 0), TrainConfig()) == Status::success);
    CHECK(grown->Count() == 0);
    CHECK(grown->Dim() == kDim);
    REQUIRE(grown->Add(Rows(data, 0, 250), TrainConfig()) == Status::success);
    REQUIRE(grown->Add(Rows(data, 250), TrainConfig()) == Status::success);
    CHECK(grown->Count() == 600);
    CheckSame(Search(*built, queries, 9, {{"mh_search_with_jaccard", true}, {"refine_k", 600}}),
              Search(*grown, queries, 9, {{"mh_search_with_jaccard", true}, {"refine_k", 600}}));
    CheckSame(Search(*built, queries, 5), Search(*grown, queries, 5));

    // Without raw data.
    auto lean = Built(data, {{"with_raw_data", false}});
    CHECK_FALSE(lean->HasRawData("MHJACCARD"));
    CHECK(lean->Size() < built->Size());

    // Add needs Train or Build first, and rows of the index's dim.
    auto fresh = NewNode();
    CHECK(fresh->Add(Rows(data), TrainConfig()) == Status::index_not_trained);
    auto narrow = knowhere::GenDataSet(2, kDim - 64, data.data());
    CHECK(grown->Add(narrow, TrainConfig()) == Status::invalid_args);
    CHECK(grown->Count() == 600);
}

TEST_CASE("Search without mh_search_with_jaccard: the first k hits, distance 1", "[search]") {
    const auto data = ClusteredRows(600, 3);
    const auto queries = Queries(data, 40, 4);
    Model model{data};
    for (bool raw : {true, false}) {
        auto node = Built(data, {{"with_raw_data", raw}});
        for (int k : {1, 4, 15}) {
            INFO("raw " << raw << " k " << k);
            CheckHitFlags(Search(*node, queries, k), model, queries, k);
        }
    }
    // A query sharing no band: every slot empty.
    auto node = Built(data);
    std::vector<uint8_t> stranger(kSig, 0xee);
    auto result = Search(*node, stranger, 3);
    for (int slot = 0; slot < 3; ++slot) {
        CHECK(result->GetIds()[slot] == -1);
        CHECK(result->GetDistance()[slot] == 0.0f);
    }
}

TEST_CASE("Search with mh_search_with_jaccard: refine_k hits ranked by equal values", "[search]") {
    const auto data = ClusteredRows(600, 5);
    const auto queries = Queries(data, 40, 6);
    Model model{data};
    auto node = Built(data);
    for (int refine_k : {1, 6, 20, 1000}) {
        for (int k : {1, 6}) {
            INFO("refine_k " << refine_k << " k " << k);
            auto result = Search(*node, queries, k, {{"mh_search_with_jaccard", true}, {"refine_k", refine_k}});
            CheckRanked(result, model, queries, k, refine_k);
        }
    }
    // refine_k defaults to 1, so the first k hits are ranked (as MINHASH_LSH).
    CheckRanked(Search(*node, queries, 6, {{"mh_search_with_jaccard", true}}), model, queries, 6, 1);
    // Refused without raw data, as knowhere refuses it.
    auto lean = Built(data, {{"with_raw_data", false}});
    auto refused = lean->Search(QuerySet(queries), SearchConfig(5, {{"mh_search_with_jaccard", true}}), nullptr);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == Status::invalid_args);
}

TEST_CASE("mh_lsh_band <= 0 is one band", "[build]") {
    const auto data = ClusteredRows(300, 7);
    const auto queries = Queries(data, 20, 8);
    Model model{data};
    model.bands = 1;
    for (int band : {0, -3, 1}) {
        INFO("mh_lsh_band " << band);
        auto node = Built(data, {{"mh_lsh_band", band}});
        CHECK(knowhere_minhash_lsh_bands(node->Handle()) == 1);
        CheckHitFlags(Search(*node, queries, 5), model, queries, 5);
    }
    // More bands than values: one value per band.
    auto node = Built(data, {{"mh_lsh_band", 1000}});
    CHECK(knowhere_minhash_lsh_bands(node->Handle()) == kLength);
}

TEST_CASE("Bad parameters are invalid_args", "[errors]") {
    const auto data = ClusteredRows(100, 9);
    auto node = NewNode();
    // mh_element_bit_width must be a multiple of 8 (12 is within the config's range).
    CHECK(node->Build(Rows(data), TrainConfig({{"mh_element_bit_width", 12}})) == Status::invalid_args);
    // the dim must be a multiple of the element width
    CHECK(node->Build(knowhere::GenDataSet(10, kDim - 8, data.data()), TrainConfig()) == Status::invalid_args);
    CHECK(node->Count() == 0);
    CHECK(node->Dim() == -1);
    // A search before any build or load.
    auto empty = node->Search(QuerySet(data), SearchConfig(3), nullptr);
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error() == Status::empty_index);
    // The wrong query dimension.
    auto built = Built(data);
    auto wrong = built->Search(knowhere::GenDataSet(1, kDim + 8, data.data()), SearchConfig(3), nullptr);
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error() == Status::invalid_args);
    auto wrong_range =
        built->RangeSearch(knowhere::GenDataSet(1, kDim - 32, data.data()), RangeConfig({{"radius", 0.5}}), nullptr);
    REQUIRE_FALSE(wrong_range.has_value());
    CHECK(wrong_range.error() == Status::invalid_args);
}

TEST_CASE("BitsetView filters: none, bits, id_offset and out ids", "[filter]") {
    const auto data = ClusteredRows(600, 11);
    const auto queries = Queries(data, 40, 12);
    auto node = Built(data);
    Model model{data};

    SECTION("a view without bits filters nothing") {
        std::vector<uint8_t> bits(75, 0xff);
        BitsetView none(bits.data(), 0);
        CheckSame(Search(*node, queries, 7, Json::object(), none), Search(*node, queries, 7));
        CheckSame(Search(*node, queries, 7, Json::object(), BitsetView()), Search(*node, queries, 7));
    }
    SECTION("set bits exclude, and so do ids past the bitset") {
        std::vector<uint8_t> bits(75, 0);
        for (size_t id = 0; id < 600; id += 3) {
            bits[id >> 3] |= static_cast<uint8_t>(1u << (id & 7));
        }
        BitsetView view(bits.data(), 580);
        model.excluded = [&](int64_t id) { return view.test(id); };
        CheckHitFlags(Search(*node, queries, 8, Json::object(), view), model, queries, 8);
        CheckRanked(Search(*node, queries, 8, {{"mh_search_with_jaccard", true}, {"refine_k", 30}}, view), model,
                    queries, 8, 30);
    }
    SECTION("id_offset: the node holds a window of a larger id space") {
        std::vector<uint8_t> bits(100, 0);
        for (size_t id = 0; id < 800; id += 4) {
            bits[id >> 3] |= static_cast<uint8_t>(1u << (id & 7));
        }
        BitsetView view(bits.data(), 750);
        view.set_id_offset(150);  // row r is public id r + 150
        model.excluded = [&](int64_t id) { return view.test(id); };
        auto result = Search(*node, queries, 8, Json::object(), view);
        CheckHitFlags(result, model, queries, 8);
        size_t found = 0;
        for (int64_t i = 0; i < result->GetRows() * 8; ++i) {
            found += result->GetIds()[i] >= 0;
            CHECK((result->GetIds()[i] < 0 || !view.test(result->GetIds()[i])));
        }
        CHECK(found > 0);
    }
    SECTION("out ids: nullable rows, results mapped to public ids") {
        // Row i is public id 2 i + 1 (the even public ids are null rows).
        auto mapped = NewNode();
        std::vector<int32_t> out_ids(600);
        for (int32_t i = 0; i < 600; ++i) {
            out_ids[i] = 2 * i + 1;
        }
        mapped->SetIdMapType(knowhere::IdMap::Type::SEALED);
        mapped->GetIdMap().AddFromData(knowhere::IdMapData::FromIds(out_ids.data(), 600, 1201));
        REQUIRE(mapped->Build(Rows(data), TrainConfig()) == Status::success);
        REQUIRE(mapped->FinalizeIdMap() == Status::success);
        std::vector<uint8_t> bits(151, 0);
        for (size_t id = 0; id < 1201; id += 5) {  // public ids 5, 15, 25, ... : rows 2, 7, 12, ...
            bits[id >> 3] |= static_cast<uint8_t>(1u << (id & 7));
        }
        auto prepared = mapped->PrepareBitset(BitsetView(bits.data(), 1201));
        REQUIRE(prepared.has_value());
        REQUIRE(prepared.value().bitset.has_out_ids());
        model.excluded = [&](int64_t row) { return ((2 * row + 1) % 5) == 0; };
        auto result = mapped->Search(QuerySet(queries), SearchConfig(6), prepared.value().bitset);
        REQUIRE(result.has_value());
        const auto& r = result.value();
        for (size_t q = 0; q < queries.size() / kSig; ++q) {
            auto want = model.hits(queries.data() + q * kSig, 6);
            for (size_t slot = 0; slot < 6; ++slot) {
                CHECK(r->GetIds()[q * 6 + slot] == (slot < want.size() ? 2 * want[slot] + 1 : -1));
            }
        }
        auto range = mapped->RangeSearch(QuerySet(queries), RangeConfig({{"radius", 0.5}}), prepared.value().bitset);
        REQUIRE(range.has_value());
        const size_t total = range.value()->GetLims()[queries.size() / kSig];
        CHECK(total > 0);
        for (size_t i = 0; i < total; ++i) {
            const int64_t id = range.value()->GetIds()[i];
            CHECK(id % 2 == 1);   // a public id
            CHECK(id % 5 != 0);   // not filtered
        }
    }
}

TEST_CASE("RangeSearch: radius < similarity <= range_filter, range_search_k", "[range]") {
    const auto data = ClusteredRows(600, 13);
    const auto queries = Queries(data, 30, 14);
    const size_t nq = queries.size() / kSig;
    auto node = Built(data);
    Model model{data};
    auto check = [&](float radius, float range_filter, int limit) {
        Json json = {{"radius", radius}, {"range_search_k", limit}};
        if (!std::isinf(range_filter)) {
            json["range_filter"] = range_filter;
        }
        auto result = node->RangeSearch(QuerySet(queries), RangeConfig(json), nullptr);
        REQUIRE(result.has_value());
        const size_t* lims = result.value()->GetLims();
        size_t total = 0;
        for (size_t q = 0; q < nq; ++q) {
            const uint8_t* query = queries.data() + q * kSig;
            auto candidates = model.hits(query, SIZE_MAX);
            std::vector<std::pair<float, int64_t>> want;
            for (int64_t id : candidates) {
                float s = static_cast<float>(model.equal_values(query, id)) / kLength;
                if (radius < s && s <= range_filter) {
                    want.emplace_back(-s, id);
                }
            }
            std::sort(want.begin(), want.end());
            if (limit >= 0 && want.size() > static_cast<size_t>(limit)) {
                want.resize(limit);
            }
            INFO("radius " << radius << " range_filter " << range_filter << " query " << q);
            REQUIRE(lims[q + 1] - lims[q] == want.size());
            for (size_t i = 0; i < want.size(); ++i) {
                CHECK(result.value()->GetIds()[lims[q] + i] == want[i].second);
                CHECK(result.value()->GetDistance()[lims[q] + i] == -want[i].first);
            }
            total += want.size();
        }
        return total;
    };
    CHECK(check(0.0f, std::numeric_limits<float>::infinity(), -1) > nq);
    CHECK(check(0.5f, std::numeric_limits<float>::infinity(), -1) > 0);
    CHECK(check(0.5f, 0.9f, -1) > 0);     // exact copies (similarity 1) are left out
    CHECK(check(0.25f, 1.0f, 2) > 0);     // at most two per query
    CHECK(check(0.0f, 1.0f, 0) == 0);     // range_search_k 0 asks for nothing
    CHECK(check(1.0f, 1.0f, -1) == 0);    // nothing is above 1
    CHECK(check(-1.0f, 0.3f, -1) == check(0.0f, 0.3f, -1));  // every candidate is above 0
}

TEST_CASE("GetVectorByIds", "[vectors]") {
    const auto data = ClusteredRows(200, 15);
    auto node = Built(data);
    const int64_t ids[] = {0, 199, 57, 57};
    auto got = node->GetVectorByIds(knowhere::GenIdsDataSet(4, ids));
    REQUIRE(got.has_value());
    CHECK(got.value()->GetRows() == 4);
    CHECK(got.value()->GetDim() == kDim);
    const auto* bytes = static_cast<const uint8_t*>(got.value()->GetTensor());
    for (size_t i = 0; i < 4; ++i) {
        CHECK(std::memcmp(bytes + i * kSig, data.data() + ids[i] * kSig, kSig) == 0);
    }
    const int64_t bad[] = {3, 200};
    auto refused = node->GetVectorByIds(knowhere::GenIdsDataSet(2, bad));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == Status::invalid_args);
    auto lean = Built(data, {{"with_raw_data", false}});
    auto no_raw = lean->GetVectorByIds(knowhere::GenIdsDataSet(1, ids));
    REQUIRE_FALSE(no_raw.has_value());
    CHECK(no_raw.error() == Status::not_implemented);
    auto empty = NewNode()->GetVectorByIds(knowhere::GenIdsDataSet(1, ids));
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error() == Status::empty_index);
}

TEST_CASE("Serialize, Deserialize and DeserializeFromFile", "[serialize]") {
    const auto data = ClusteredRows(500, 17);
    const auto queries = Queries(data, 30, 18);
    auto node = Built(data, {{"mh_lsh_band", 4}});
    const Json ranked = {{"mh_search_with_jaccard", true}, {"refine_k", 40}};
    knowhere::BinarySet binset;
    REQUIRE(node->Serialize(binset) == Status::success);
    auto entry = binset.GetByName("MINHASH_LSH_RS");
    REQUIRE(entry != nullptr);
    REQUIRE(entry->size > 0);

    auto loaded = NewNode();
    REQUIRE(loaded->Deserialize(binset, Load(Json::object(), knowhere::DESERIALIZE)) == Status::success);
    CHECK(loaded->Count() == 500);
    CHECK(loaded->Dim() == kDim);
    CHECK(loaded->HasRawData("MHJACCARD"));
    CheckSame(Search(*node, queries, 7), Search(*loaded, queries, 7));
    CheckSame(Search(*node, queries, 7, ranked), Search(*loaded, queries, 7, ranked));

    SECTION("corrupt or truncated bytes are invalid_binary_set, and change nothing") {
        for (int64_t cut : {int64_t{0}, entry->size / 2, entry->size - 1}) {
            knowhere::BinarySet truncated;
            truncated.Append("MINHASH_LSH_RS", entry->data, cut);
            CHECK(loaded->Deserialize(truncated, Load(Json::object(), knowhere::DESERIALIZE)) ==
                  Status::invalid_binary_set);
        }
        std::shared_ptr<uint8_t[]> flipped(new uint8_t[entry->size]);
        std::memcpy(flipped.get(), entry->data.get(), entry->size);
        flipped[entry->size / 3] ^= 0x10;
        knowhere::BinarySet damaged;
        damaged.Append("MINHASH_LSH_RS", flipped, entry->size);
        CHECK(loaded->Deserialize(damaged, Load(Json::object(), knowhere::DESERIALIZE)) ==
              Status::invalid_binary_set);
        knowhere::BinarySet other;
        other.Append("HNSW", entry->data, entry->size);
        CHECK(loaded->Deserialize(other, Load(Json::object(), knowhere::DESERIALIZE)) == Status::invalid_binary_set);
        CHECK(loaded->Count() == 500);
        CheckSame(Search(*node, queries, 7), Search(*loaded, queries, 7));
    }
    SECTION("DeserializeFromFile reads what Serialize wrote") {
        TempDir dir;
        const std::string path = dir / "index.bin";
        {
            std::ofstream out(path, std::ios::binary);
            out.write(reinterpret_cast<const char*>(entry->data.get()), entry->size);
        }
        auto from_file = NewNode();
        REQUIRE(from_file->DeserializeFromFile(path, Load(Json::object(), knowhere::DESERIALIZE_FROM_FILE)) ==
                Status::success);
        CheckSame(Search(*node, queries, 7, ranked), Search(*from_file, queries, 7, ranked));
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(entry->data.get()), entry->size - 9);
        }
        CHECK(from_file->DeserializeFromFile(path, Load(Json::object(), knowhere::DESERIALIZE_FROM_FILE)) ==
              Status::invalid_binary_set);
        CHECK(from_file->DeserializeFromFile(dir / "missing", Load(Json::object(), knowhere::DESERIALIZE_FROM_FILE)) ==
              Status::disk_file_error);
        CHECK(from_file->Count() == 500);
    }
}

TEST_CASE("The DISK flow: data_path and index_prefix through a FileManager", "[disk]") {
    const auto data = ClusteredRows(400, 19);
    const auto queries = Queries(data, 30, 20);
    TempDir dir;
    const std::string data_path = dir / "raw_data";
    const std::string prefix = dir / "segment_7_";
    const std::string index_path = prefix + Node::kIndexFileName;
    WriteDataFile(data_path, data);
    auto files = std::make_shared<TestFileManager>();
    knowhere::Pack<std::shared_ptr<milvus::FileManager>> pack(files);
    const Json disk = {{"data_path", data_path}, {"index_prefix", prefix}};

    auto builder = NewNode(pack);
    REQUIRE(builder->Build(nullptr, TrainConfig(disk)) == Status::success);
    CHECK(files->loaded == std::vector<std::string>{data_path});
    CHECK(files->added == std::vector<std::string>{index_path});
    CHECK(std::filesystem::exists(index_path));
    CHECK(builder->Count() == 400);
    // The index lives in its file: Serialize adds nothing (as MINHASH_LSH).
    knowhere::BinarySet binset;
    REQUIRE(builder->Serialize(binset) == Status::success);
    CHECK(binset.binary_map_.empty());

    // Load: LoadFile(index_prefix + file), then the same answers as a build
    // from memory.
    auto reader = NewNode(pack);
    auto load_config = Load(Json{{"index_prefix", prefix}}, knowhere::DESERIALIZE);
    REQUIRE(reader->Deserialize(knowhere::BinarySet(), std::move(load_config)) == Status::success);
    CHECK(files->loaded.back() == index_path);
    auto in_memory = Built(data);
    CheckSame(Search(*in_memory, queries, 6), Search(*reader, queries, 6));
    CheckSame(Search(*in_memory, queries, 6, {{"mh_search_with_jaccard", true}, {"refine_k", 50}}),
              Search(*reader, queries, 6, {{"mh_search_with_jaccard", true}, {"refine_k", 50}}));

    SECTION("FileManager failures are disk_file_error") {
        files->refuse = {data_path};
        CHECK(NewNode(pack)->Build(nullptr, TrainConfig(disk)) == Status::disk_file_error);
        files->refuse = {index_path};
        CHECK(NewNode(pack)->Build(nullptr, TrainConfig(disk)) == Status::disk_file_error);  // AddFile
        CHECK(NewNode(pack)->Deserialize(knowhere::BinarySet(), Load(Json{{"index_prefix", prefix}},
                                                                     knowhere::DESERIALIZE)) ==
              Status::disk_file_error);  // LoadFile
    }
    SECTION("a data file of the wrong size, or no FileManager") {
        std::ofstream(data_path, std::ios::binary | std::ios::app) << "x";
        CHECK(NewNode(pack)->Build(nullptr, TrainConfig(disk)) == Status::disk_file_error);
        CHECK(NewNode()->Build(nullptr, TrainConfig(disk)) == Status::internal_error);  // as MINHASH_LSH
    }
    SECTION("a damaged index file is invalid_binary_set") {
        std::fstream file(index_path, std::ios::binary | std::ios::in | std::ios::out);
        file.seekp(100);
        file.put('\x7f');
        file.close();
        CHECK(NewNode(pack)->Deserialize(knowhere::BinarySet(), Load(Json{{"index_prefix", prefix}},
                                                                     knowhere::DESERIALIZE)) ==
              Status::invalid_binary_set);
    }
}

TEST_CASE("Threads: the counts knowhere's pools give", "[threads]") {
    const auto data = ClusteredRows(200, 21);
    knowhere::test::build_pool_size = 3;
    auto node = Built(data);
    CHECK(knowhere_minhash_lsh_num_threads(node->Handle()) == 3);
    auto limited = Built(data, {{"num_build_thread", 2}});
    CHECK(knowhere_minhash_lsh_num_threads(limited->Handle()) == 2);
    knowhere::test::build_pool_size = 2;
    knowhere::test::search_pool_size = 5;
    CHECK(Node::SearchThreads() == 5);
    knowhere::test::search_pool_size = 2;
}

namespace {

// Runs `call` on a thread, cancels `source` after `delay`, and returns the
// milliseconds from the cancellation request to the call's end; `threw`
// says whether the call ended with folly::FutureCancellation.
template <typename Call>
double
CancelAfter(folly::CancellationSource& source, std::chrono::milliseconds delay, Call call, bool& threw) {
    std::chrono::steady_clock::time_point ended;
    threw = false;
    std::thread worker([&] {
        try {
            call();
        } catch (const folly::FutureCancellation&) {
            threw = true;
        }
        ended = std::chrono::steady_clock::now();
    });
    std::this_thread::sleep_for(delay);
    const auto requested = std::chrono::steady_clock::now();
    source.requestCancellation();
    worker.join();
    return std::chrono::duration<double, std::milli>(ended - requested).count();
}

}  // namespace

TEST_CASE("Cancellation through the OpContext", "[cancel]") {
    // 100 000 rows whose first half (band 0 of 2) is the same: every query
    // has 100 000 hits, and with mh_search_with_jaccard and a huge refine_k
    // each one is ranked, so a batch of 2 000 queries runs for seconds. Their
    // second halves are random, so few rows are above a radius of 0.9 and
    // range search keeps little.
    auto half_same = [](size_t n, uint64_t seed) {
        Rng rng{seed};
        std::vector<uint8_t> rows(n * kSig, 0x3c);
        for (size_t i = 0; i < n; ++i) {
            for (size_t b = kSig / 2; b < kSig; ++b) {
                rows[i * kSig + b] = static_cast<uint8_t>(rng.next());
            }
        }
        return rows;
    };
    const auto rows = half_same(100000, 31);
    auto node = Built(rows, {{"mh_lsh_band", 2}});
    const auto queries = half_same(2000, 32);
    const Json slow = {{"mh_search_with_jaccard", true}, {"refine_k", 1 << 30}};

    SECTION("a context cancelled before the call") {
        folly::CancellationSource source;
        source.requestCancellation();
        milvus::OpContext context(source.getToken());
        CHECK_THROWS_AS(node->Search(QuerySet(queries), SearchConfig(5, slow), nullptr, &context),
                        folly::FutureCancellation);
        CHECK_THROWS_AS(node->RangeSearch(QuerySet(queries), RangeConfig({{"radius", 0.9}}), nullptr, &context),
                        folly::FutureCancellation);
    }
    SECTION("a context never cancelled changes nothing") {
        folly::CancellationSource source;
        milvus::OpContext context(source.getToken());
        const std::vector<uint8_t> one(rows.begin(), rows.begin() + kSig);
        auto result = Search(*node, one, 3, slow, nullptr, &context);
        CHECK(result->GetIds()[0] == 0);
        CHECK(result->GetDistance()[0] == 1.0f);
    }
    SECTION("a running search stops soon after the cancellation") {
        folly::CancellationSource source;
        milvus::OpContext context(source.getToken());
        bool threw = false;
        double ms = CancelAfter(
            source, std::chrono::milliseconds(100),
            [&] { (void)node->Search(QuerySet(queries), SearchConfig(5, slow), nullptr, &context); }, threw);
        CHECK(threw);
        std::printf("search: ended %.3f ms after the cancellation request\n", ms);
        // The library polls its interrupt every few hundred microseconds of
        // work; 2 s is only a bound for a loaded shared machine.
        CHECK(ms < 2000.0);
    }
    SECTION("a running range search stops soon after the cancellation") {
        folly::CancellationSource source;
        milvus::OpContext context(source.getToken());
        bool threw = false;
        double ms = CancelAfter(
            source, std::chrono::milliseconds(100),
            [&] { (void)node->RangeSearch(QuerySet(queries), RangeConfig({{"radius", 0.9}}), nullptr, &context); },
            threw);
        CHECK(threw);
        std::printf("range search: ended %.3f ms after the cancellation request\n", ms);
        CHECK(ms < 2000.0);
    }
}

TEST_CASE("Cancelling a build (OpContext in the dataset) leaves the node as it was", "[cancel]") {
    // A build long enough to cancel: 1 200 000 rows of 8 one-byte values in 8
    // bands, on one thread. An uncancelled build says how long that takes
    // here, and the cancellation comes a tenth of that into the next one.
    constexpr int64_t kRows = 1200000;
    Rng rng{23};
    std::vector<uint8_t> rows(kRows * 8);
    for (auto& byte : rows) {
        byte = static_cast<uint8_t>(rng.next());
    }
    const Json layout = {{"mh_lsh_band", 8}, {"mh_element_bit_width", 8}, {"num_build_thread", 1}};
    auto dataset = [&](milvus::OpContext* context) {
        auto ds = knowhere::GenDataSet(kRows, 64, rows.data());
        ds->Set(Node::kOpContextKey, context);
        return ds;
    };
    auto node = NewNode();
    const auto first = std::vector<uint8_t>(rows.begin(), rows.begin() + 8 * 1000);
    REQUIRE(node->Build(knowhere::GenDataSet(1000, 64, first.data()), TrainConfig(layout)) == Status::success);

    // Uncancelled, with a context that is never cancelled.
    double full_ms = 0;
    {
        folly::CancellationSource idle;
        milvus::OpContext calm(idle.getToken());
        auto other = NewNode();
        const auto start = std::chrono::steady_clock::now();
        REQUIRE(other->Build(dataset(&calm), TrainConfig(layout)) == Status::success);
        full_ms = MillisecondsSince(start);
        CHECK(other->Count() == kRows);
    }

    folly::CancellationSource source;
    milvus::OpContext context(source.getToken());
    bool threw = false;
    const auto delay = std::chrono::milliseconds(static_cast<int>(full_ms / 10));
    double ms = CancelAfter(source, delay, [&] { (void)node->Build(dataset(&context), TrainConfig(layout)); }, threw);
    CHECK(threw);
    std::printf("build: %.1f ms uncancelled; cancelled at %lld ms, ended %.3f ms after the request\n", full_ms,
                static_cast<long long>(delay.count()), ms);
    CHECK(ms < 2000.0);
    CHECK(node->Count() == 1000);  // the previous contents
    CHECK(node->Dim() == 64);

    // Add takes the context the same way.
    source.requestCancellation();
    CHECK_THROWS_AS(node->Add(dataset(&context), TrainConfig(layout)), folly::FutureCancellation);
    CHECK(node->Count() == 1000);
}
