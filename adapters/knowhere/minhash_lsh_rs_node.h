// MINHASH_LSH_RS: knowhere-rs as a knowhere index node.
//
// A drop-in IndexNode for Milvus knowhere with the semantics of knowhere's
// MINHASH_LSH (binary vectors, metric MHJACCARD, configured by knowhere's own
// MinHashLSHConfig), built on the knowhere-rs C library (knowhere_rs.h). It
// adds what MINHASH_LSH lacks: cancellation through the OpContext, in-memory
// builds (Train/Add), BinarySet serialization, range search, and results
// that no band-key collision can produce when the index keeps raw data.
// docs/knowhere.md says how to add it to a knowhere tree, which parameters
// it reads and where it differs from MINHASH_LSH.
//
// Threads. Build and Add use `num_build_thread` threads when the config
// sets it, else as many as knowhere's build pool has; a search uses as many
// as knowhere's search pool has (fewer for few queries; the calling thread
// is one of them). A call never uses more threads than the pool knowhere
// gives the same work. The threads are the library's own, started per call,
// so concurrent calls can together exceed the pool where knowhere's own
// nodes would queue on it.
//
// Cancellation. Search and RangeSearch take knowhere's OpContext; Build and
// Add take one from the dataset under kOpContextKey
// (knowhere passes none to builds). A callback on the context's folly
// cancellation token sets the call's knowhere-rs interrupt, so a running
// call stops within a few hundred microseconds of work, not only between
// queries; it then ends as knowhere's nodes end a cancelled call, with
// folly::FutureCancellation thrown by knowhere::checkCancellation.
//
// Concurrency. Searches run concurrently; Build, Train, Add and the loads
// wait for running searches and exclude each other (a shared mutex), so the
// library's non-blocking KNOWHERE_ERR_BUSY never reaches knowhere.
#ifndef KNOWHERE_RS_MINHASH_LSH_RS_NODE_H
#define KNOWHERE_RS_MINHASH_LSH_RS_NODE_H

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "common/OpContext.h"
#include "filemanager/FileManager.h"
#include "folly/CancellationToken.h"
#include "index/minhash/minhash_lsh_config.h"
#include "knowhere/bitsetview.h"
#include "knowhere/context.h"
#include "knowhere/dataset.h"
#include "knowhere/expected.h"
#include "knowhere/index/index_node.h"
#include "knowhere/index/index_static.h"
#include "knowhere/log.h"
#include "knowhere/object.h"
#include "knowhere/operands.h"
#include "knowhere/thread_pool.h"
#include "knowhere_rs.h"

// In the node's functions returning expected<DataSetPtr>: returns the
// error of an Outcome that failed.
#define KNOWHERE_RS_RETURN_ERR_IF_FAILED(expr)                      \
    do {                                                            \
        Outcome outcome_ = (expr);                                  \
        if (!outcome_.ok()) {                                       \
            return Err(outcome_.status, std::move(outcome_.message)); \
        }                                                           \
    } while (0)

namespace knowhere {

template <typename DataType>
class MinHashLSHRsNode : public IndexNode {
    static_assert(std::is_same_v<DataType, bin1>, "MINHASH_LSH_RS indexes binary vectors (bin1)");

 public:
    static constexpr const char* kIndexType = "MINHASH_LSH_RS";
    // The DISK flow's index file: index_prefix + kIndexFileName.
    static constexpr const char* kIndexFileName = "minhash_lsh_rs_index";
    // Build and Add read an optional milvus::OpContext* from the dataset under
    // this key (dataset->Set(kOpContextKey, op_context)); its cancellation
    // token cancels them.
    static constexpr const char* kOpContextKey = "knowhere_rs.op_context";

    MinHashLSHRsNode(const int32_t& version, const Object& object)
        : IndexNode(version), index_(NewIndex()) {
        using FileManagerPack = Pack<std::shared_ptr<milvus::FileManager>>;
        if (const auto* pack = dynamic_cast<const FileManagerPack*>(&object)) {
            file_manager_ = pack->GetPack();
        }
    }

    // ---- build ---------------------------------------------------------------

    // Replaces the contents with the dataset's rows, or with knowhere's DISK
    // flow when the config has `data_path` (the rows come from that file
    // through the FileManager; the index is written to index_prefix +
    // kIndexFileName and handed to FileManager::AddFile). A failed or
    // cancelled Build leaves the node as it was.
    Status
    Build(const DataSetPtr dataset, std::shared_ptr<Config> cfg, bool use_knowhere_build_pool = true) override {
        (void)use_knowhere_build_pool;
        const auto& conf = static_cast<const MinHashLSHConfig&>(*cfg);
        std::unique_lock guard(lock_);
        if (conf.data_path.has_value()) {
            return BuildFromFile(conf, OpContextOf(dataset));
        }
        if (dataset == nullptr || dataset->GetRows() < 0 || (dataset->GetRows() > 0 && dataset->GetTensor() == nullptr)) {
            return Fail(Status::invalid_args, "Build needs a dataset of rows or data_path");
        }
        return BuildLocked(static_cast<const uint8_t*>(dataset->GetTensor()), static_cast<size_t>(dataset->GetRows()),
                           dataset->GetDim(), conf, OpContextOf(dataset));
    }

    // Fixes the layout (dimension, element width, bands, raw data) and empties
    // the index; rows come with Add.
    Status
    Train(const DataSetPtr dataset, std::shared_ptr<Config> cfg, bool use_knowhere_build_pool = true) override {
        (void)use_knowhere_build_pool;
        if (dataset == nullptr) {
            return Fail(Status::invalid_args, "Train needs a dataset (for its dimension)");
        }
        std::unique_lock guard(lock_);
        return BuildLocked(nullptr, 0, dataset->GetDim(), static_cast<const MinHashLSHConfig&>(*cfg), nullptr);
    }

    // Appends rows; their ids continue after the existing ones.
    Status
    Add(const DataSetPtr dataset, std::shared_ptr<Config> cfg, bool use_knowhere_build_pool = true) override {
        (void)use_knowhere_build_pool;
        if (dataset == nullptr) {
            return Fail(Status::invalid_args, "Add needs a dataset");
        }
        std::unique_lock guard(lock_);
        return AddLocked(dataset, static_cast<const MinHashLSHConfig&>(*cfg));
    }

    // ---- search --------------------------------------------------------------

    // mh_search_with_jaccard false: the first k rows sharing a band with the
    // query, distance 1 (MINHASH_LSH's hit flags). True: the first
    // max(refine_k, k) such rows ranked by the fraction of equal values
    // (needs raw data). Unused slots: id -1, distance 0.
    expected<DataSetPtr>
    Search(const DataSetPtr dataset, std::unique_ptr<Config> cfg, const BitsetView& bitset,
           milvus::OpContext* op_context = nullptr) const override {
        const auto& conf = static_cast<const MinHashLSHConfig&>(*cfg);
        std::shared_lock guard(lock_);
        const uint8_t* queries = nullptr;
        int64_t nq = 0;
        KNOWHERE_RS_RETURN_ERR_IF_FAILED(CheckQueries(dataset, queries, nq));
        const bool jaccard = conf.mh_search_with_jaccard.value_or(false);
        if (jaccard && !layout_->with_raw_data) {
            return Err(Status::invalid_args, "mh_search_with_jaccard needs an index built with with_raw_data");
        }
        const int64_t k = conf.k.value_or(10);
        if (k <= 0) {
            return Err(Status::invalid_args, "k must be at least 1");
        }
        knowhere_search_options options = SearchOptions(bitset);
        options.mode = jaccard ? KNOWHERE_SEARCH_RANKED : KNOWHERE_SEARCH_HITS;
        options.refine_k = jaccard ? static_cast<uint64_t>(std::max(1, conf.refine_k.value_or(1))) : 0;
        auto ids = std::make_unique<int64_t[]>(nq * k);
        auto distances = std::make_unique<float[]>(nq * k);
        Cancellation cancel(op_context);
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_batch_search_with_options(
            index_.get(), queries, static_cast<size_t>(nq) * SignatureBytes(), static_cast<size_t>(nq),
            static_cast<size_t>(k), BitsetData(bitset), BitsetBits(bitset), &options, ids.get(), distances.get(),
            cancel.Handle(), &err);
        KNOWHERE_RS_RETURN_ERR_IF_FAILED(cancel.Finish(code, err));
        auto result = GenResultDataSet(nq, k, std::move(ids), std::move(distances));
        MapSearchResultIdsToOutIds(result);
        return result;
    }

    // Every row sharing a band with the query whose similarity s satisfies
    // radius < s <= range_filter (MHJACCARD is a similarity), by similarity
    // descending then id ascending, at most range_search_k (< 0: no limit)
    // per query. The similarity is the fraction of equal values with raw
    // data, else the fraction of matching bands.
    expected<DataSetPtr>
    RangeSearch(const DataSetPtr dataset, std::unique_ptr<Config> cfg, const BitsetView& bitset,
                milvus::OpContext* op_context = nullptr) const override {
        const auto& conf = static_cast<const MinHashLSHConfig&>(*cfg);
        std::shared_lock guard(lock_);
        const uint8_t* queries = nullptr;
        int64_t nq = 0;
        KNOWHERE_RS_RETURN_ERR_IF_FAILED(CheckQueries(dataset, queries, nq));
        const float radius = conf.radius.value_or(0.0f);
        const float range_filter = conf.range_filter.value_or(defaultRangeFilter);
        const int32_t limit = conf.range_search_k.value_or(-1);
        if (std::isnan(radius) || std::isnan(range_filter)) {
            return Err(Status::invalid_args, "radius and range_filter must be numbers");
        }
        std::vector<std::vector<int64_t>> ids(nq);
        std::vector<std::vector<float>> distances(nq);
        // Nothing is above a radius of 1, and range_search_k 0 asks for nothing.
        if (radius < 1.0f && limit != 0) {
            knowhere_search_options options = SearchOptions(bitset);
            // similarity > radius is similarity >= the next float up.
            const float threshold = radius < 0.0f ? 0.0f : std::nextafter(radius, 2.0f);
            Cancellation cancel(op_context);
            knowhere_range_result* found = nullptr;
            knowhere_error* err = nullptr;
            int code = knowhere_minhash_lsh_range_search_with_options(
                index_.get(), queries, static_cast<size_t>(nq) * SignatureBytes(), static_cast<size_t>(nq),
                threshold, BitsetData(bitset), BitsetBits(bitset), &options, &found, cancel.Handle(), &err);
            KNOWHERE_RS_RETURN_ERR_IF_FAILED(cancel.Finish(code, err));
            std::unique_ptr<knowhere_range_result, RangeResultFree> owned(found);
            KeepInRange(owned.get(), range_filter, limit, ids, distances);
        }
        auto result = PackRangeResult(ids, distances);
        MapSearchResultIdsToOutIds(result);
        return result;
    }

    expected<DataSetPtr>
    GetVectorByIds(const DataSetPtr dataset, milvus::OpContext* op_context = nullptr) const override {
        (void)op_context;  // a copy: too short to be worth cancelling
        std::shared_lock guard(lock_);
        if (knowhere_minhash_lsh_count(index_.get()) == 0) {
            return Err(Status::empty_index, "the MINHASH_LSH_RS index is empty: build or load it first");
        }
        if (!knowhere_minhash_lsh_has_raw_data(index_.get())) {
            return Err(Status::not_implemented, "the index keeps no raw data (with_raw_data was false)");
        }
        if (dataset == nullptr || dataset->GetRows() < 0 || (dataset->GetRows() > 0 && dataset->GetIds() == nullptr)) {
            return Err(Status::invalid_args, "GetVectorByIds needs a dataset of ids");
        }
        const auto rows = static_cast<size_t>(dataset->GetRows());
        const size_t bytes = rows * SignatureBytes();
        auto data = std::make_unique<char[]>(std::max<size_t>(bytes, 1));
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_get_vector_by_ids(index_.get(), dataset->GetIds(), rows,
                                                          reinterpret_cast<uint8_t*>(data.get()), bytes, &err);
        KNOWHERE_RS_RETURN_ERR_IF_FAILED(Cancellation::Result(code, err));
        return GenResultDataSet(static_cast<int64_t>(rows), dim_bits_.load(), std::move(data));
    }

    bool
    HasRawData(const std::string& metric_type) const override {
        (void)metric_type;
        std::shared_lock guard(lock_);
        return layout_.has_value() && layout_->with_raw_data;
    }

    expected<DataSetPtr>
    GetIndexMeta(std::unique_ptr<Config> cfg) const override {
        (void)cfg;
        return Err(Status::not_implemented, "MINHASH_LSH_RS has no index meta");
    }

    // ---- save and load -------------------------------------------------------

    // The index's bytes under the key "MINHASH_LSH_RS". An index built or
    // loaded through the DISK flow lives in its file, which already went
    // through the FileManager: then nothing is added, as MINHASH_LSH does.
    Status
    Serialize(BinarySet& binset) const override {
        std::shared_lock guard(lock_);
        if (in_file_) {
            return Status::success;
        }
        uint8_t* bytes = nullptr;
        size_t len = 0;
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_serialize(index_.get(), &bytes, &len, &err);
        RETURN_IF_ERROR(Logged(Cancellation::Result(code, err)));
        binset.Append(kIndexType, std::shared_ptr<uint8_t[]>(bytes, knowhere_buffer_free), static_cast<int64_t>(len));
        return Status::success;
    }

    // From the BinarySet's "MINHASH_LSH_RS" entry; without one, and with a
    // FileManager and index_prefix, the DISK flow's file (LoadFile first).
    Status
    Deserialize(const BinarySet& binset, std::shared_ptr<Config> cfg) override {
        const auto& conf = static_cast<const MinHashLSHConfig&>(*cfg);
        std::unique_lock guard(lock_);
        if (auto binary = binset.GetByName(kIndexType)) {
            if (binary->size < 0 || (binary->size > 0 && binary->data == nullptr)) {
                return Fail(Status::invalid_binary_set, "the MINHASH_LSH_RS entry has no data");
            }
            knowhere_error* err = nullptr;
            int code = knowhere_minhash_lsh_deserialize(index_.get(), binary->data.get(),
                                                        static_cast<size_t>(binary->size), &err);
            RETURN_IF_ERROR(Logged(Cancellation::Result(code, err)));
            return Loaded(false);
        }
        if (file_manager_ == nullptr || !conf.index_prefix.has_value()) {
            return Fail(Status::invalid_binary_set,
                        "the BinarySet has no MINHASH_LSH_RS entry (and there is no DISK index_prefix to load)");
        }
        const std::string path = conf.index_prefix.value() + kIndexFileName;
        if (!file_manager_->LoadFile(path)) {
            return Fail(Status::disk_file_error, "FileManager::LoadFile failed for " + path);
        }
        RETURN_IF_ERROR(LoadPath(path));
        return Loaded(true);
    }

    // A file holding what Serialize wrote (as Milvus writes a BinarySet entry
    // for mmap loading).
    Status
    DeserializeFromFile(const std::string& filename, std::shared_ptr<Config> cfg) override {
        (void)cfg;
        std::unique_lock guard(lock_);
        RETURN_IF_ERROR(LoadPath(filename));
        return Loaded(false);
    }

    // ---- configuration and accessors -----------------------------------------

    static std::unique_ptr<BaseConfig>
    StaticCreateConfig() {
        return std::make_unique<MinHashLSHConfig>();
    }

    std::unique_ptr<BaseConfig>
    CreateConfig() const override {
        return StaticCreateConfig();
    }

    static bool
    StaticHasRawData(const BaseConfig& config, const IndexVersion& version) {
        (void)version;
        return static_cast<const MinHashLSHConfig&>(config).with_raw_data.value_or(false);
    }

    // The whole index is held in memory once loaded; the DISK flow also
    // keeps its file on disk.
    static expected<Resource>
    StaticEstimateLoadResource(const uint64_t file_size_in_bytes, const int64_t num_rows, const int64_t dim,
                               const BaseConfig& config, const IndexVersion& version) {
        (void)num_rows, (void)dim, (void)config, (void)version;
        return Resource{file_size_in_bytes, file_size_in_bytes};
    }

    // Bits per vector; -1 before Train, Build or a load (as MINHASH_LSH).
    int64_t
    Dim() const override {
        return dim_bits_.load();
    }

    int64_t
    Size() const override {
        std::shared_lock guard(lock_);
        return static_cast<int64_t>(knowhere_minhash_lsh_memory_usage(index_.get()));
    }

    int64_t
    Count() const override {
        std::shared_lock guard(lock_);
        return static_cast<int64_t>(knowhere_minhash_lsh_count(index_.get()));
    }

    std::string
    Type() const override {
        return kIndexType;
    }

    // The knowhere-rs index, for what knowhere has no call for (self-join,
    // clustering, removal: see knowhere_rs.h). Owned by the node, valid
    // until its next Build, Train or Deserialize; call no writer on it while
    // the node is in use.
    knowhere_minhash_lsh*
    Handle() const {
        return index_.get();
    }

    // Threads for Build and Add: num_build_thread if set, else knowhere's
    // build pool size.
    static size_t
    BuildThreads(const MinHashLSHConfig& conf) {
        if (conf.num_build_thread.has_value() && conf.num_build_thread.value() > 0) {
            return static_cast<size_t>(conf.num_build_thread.value());
        }
        return std::max<size_t>(1, ThreadPool::GetGlobalBuildThreadPoolSize());
    }

    // Threads for a search: knowhere's search pool size (the library uses
    // fewer for few queries).
    static size_t
    SearchThreads() {
        return std::max<size_t>(1, ThreadPool::GetGlobalSearchThreadPoolSize());
    }

    // knowhere-rs statuses as knowhere's. INTERRUPTED has no knowhere twin
    // (a cancelled call throws folly::FutureCancellation instead); TIMEOUT is
    // knowhere's timeout (the node sets no deadline, so it does not occur);
    // CORRUPT is invalid_binary_set; BUSY cannot reach knowhere (the node's
    // lock orders writers after readers) and would be internal_error.
    static Status
    ToStatus(int code) {
        switch (code) {
            case KNOWHERE_OK:
                return Status::success;
            case KNOWHERE_ERR_INVALID_ARG:
                return Status::invalid_args;
            case KNOWHERE_ERR_EMPTY_INDEX:
                return Status::empty_index;
            case KNOWHERE_ERR_NOT_IMPLEMENTED:
                return Status::not_implemented;
            case KNOWHERE_ERR_NO_MEMORY:
                return Status::malloc_error;
            case KNOWHERE_ERR_FILE:
                return Status::disk_file_error;
            case KNOWHERE_ERR_OVERFLOW:
                return Status::arithmetic_overflow;
            case KNOWHERE_ERR_TIMEOUT:
                return Status::timeout;
            case KNOWHERE_ERR_CORRUPT:
                return Status::invalid_binary_set;
            default:  // KNOWHERE_ERR_INTERNAL, _BUSY, _INTERRUPTED
                return Status::internal_error;
        }
    }

 private:
    // A status with its message, for expected<> and the log.
    struct Outcome {
        Status status = Status::success;
        std::string message;
        bool
        ok() const {
            return status == Status::success;
        }
    };

    struct IndexFree {
        void
        operator()(knowhere_minhash_lsh* index) const {
            knowhere_minhash_lsh_free(index);
        }
    };
    struct RangeResultFree {
        void
        operator()(knowhere_range_result* result) const {
            knowhere_range_result_free(result);
        }
    };

    // One knowhere-rs interrupt per call, set by the OpContext's cancellation
    // token through a folly callback (which runs at once if the token is
    // already cancelled, and whose destructor waits for a running callback,
    // so the handle outlives every use).
    class Cancellation {
     public:
        explicit Cancellation(const milvus::OpContext* op_context)
            : op_context_(op_context), interrupt_(knowhere_interrupt_create()) {
            if (interrupt_ == nullptr) {
                throw std::bad_alloc();
            }
            if (op_context_ != nullptr) {
                callback_ = std::make_unique<folly::CancellationCallback>(
                    op_context_->cancellation_token, [handle = interrupt_] { knowhere_interrupt_interrupt(handle); });
            }
        }
        ~Cancellation() {
            callback_.reset();
            knowhere_interrupt_free(interrupt_);
        }
        Cancellation(const Cancellation&) = delete;
        Cancellation&
        operator=(const Cancellation&) = delete;

        CInterrupt
        Handle() const {
            return interrupt_;
        }

        // The outcome of a call made with Handle(); a call the context
        // cancelled throws folly::FutureCancellation.
        Outcome
        Finish(int code, knowhere_error* err) const {
            if (code == KNOWHERE_ERR_INTERRUPTED || code == KNOWHERE_ERR_TIMEOUT) {
                knowhere_error_free(err);
                checkCancellation(op_context_);  // throws when cancelled
                return {Status::internal_error, "interrupted without a cancelled OpContext"};
            }
            return Result(code, err);
        }

        // The outcome of any call; frees err.
        static Outcome
        Result(int code, knowhere_error* err) {
            Outcome outcome{ToStatus(code), err ? knowhere_error_message(err) : knowhere_status_string(code)};
            knowhere_error_free(err);
            return outcome;
        }

     private:
        const milvus::OpContext* op_context_;
        CInterrupt interrupt_;
        std::unique_ptr<folly::CancellationCallback> callback_;
    };

    static knowhere_minhash_lsh*
    NewIndex() {
        knowhere_minhash_lsh* index = knowhere_minhash_lsh_create();
        if (index == nullptr) {
            throw std::bad_alloc();
        }
        return index;
    }

    static expected<DataSetPtr>
    Err(Status status, std::string message) {
        LOG_KNOWHERE_ERROR_ << "MINHASH_LSH_RS: " << message;
        return expected<DataSetPtr>::Err(status, std::move(message));
    }

    static Status
    Fail(Status status, const std::string& message) {
        LOG_KNOWHERE_ERROR_ << "MINHASH_LSH_RS: " << message;
        return status;
    }

    static Status
    Logged(const Outcome& outcome) {
        return outcome.ok() ? Status::success : Fail(outcome.status, outcome.message);
    }

    static const milvus::OpContext*
    OpContextOf(const DataSetPtr& dataset) {
        return dataset == nullptr ? nullptr : dataset->Get<milvus::OpContext*>(kOpContextKey);
    }

    size_t
    SignatureBytes() const {
        return static_cast<size_t>(dim_bits_.load() / 8);
    }

    // ---- filters -------------------------------------------------------------

    // knowhere's BitsetView tests backend ids through id_offset and out ids;
    // an empty view filters nothing. Without out ids the library reads the
    // bits itself (with the offset); with them it asks the view per row.
    static knowhere_search_options
    SearchOptions(const BitsetView& bitset) {
        knowhere_search_options options;
        knowhere_search_options_init(&options);
        options.threads = SearchThreads();
        if (!bitset.empty()) {
            if (bitset.has_out_ids()) {
                options.filter = &ExcludedByView;
                options.filter_user = const_cast<BitsetView*>(&bitset);
            } else {
                options.bitset_id_offset = bitset.id_offset();
            }
        }
        return options;
    }

    static int
    ExcludedByView(void* user, int64_t id) {
        return static_cast<const BitsetView*>(user)->test(id) ? 1 : 0;
    }

    static const uint8_t*
    BitsetData(const BitsetView& bitset) {
        return bitset.empty() || bitset.has_out_ids() ? nullptr : bitset.data();
    }

    static size_t
    BitsetBits(const BitsetView& bitset) {
        return BitsetData(bitset) == nullptr ? 0 : bitset.num_bits();
    }

    // ---- build helpers (under the exclusive lock) -----------------------------

    struct Layout {
        size_t length = 0, element_size = 0, bands = 1;
        bool with_raw_data = false;
    };

    static Outcome
    LayoutOf(int64_t dim_bits, const MinHashLSHConfig& conf, Layout& layout) {
        const int32_t width = conf.mh_element_bit_width.value_or(8);
        if (width <= 0 || width % 8 != 0) {
            return {Status::invalid_args, "mh_element_bit_width " + std::to_string(width) +
                                              " is not a positive multiple of 8"};
        }
        if (dim_bits <= 0 || dim_bits % width != 0) {
            return {Status::invalid_args, "dim " + std::to_string(dim_bits) +
                                              " is not a positive multiple of mh_element_bit_width " +
                                              std::to_string(width)};
        }
        layout.element_size = static_cast<size_t>(width / 8);
        layout.length = static_cast<size_t>(dim_bits / width);
        // MINHASH_LSH: mh_lsh_band <= 0 is one band (more than the length is
        // clamped by the library).
        const int32_t band = conf.mh_lsh_band.value_or(1);
        layout.bands = band <= 0 ? 1 : static_cast<size_t>(band);
        layout.with_raw_data = conf.with_raw_data.value_or(false);
        return {};
    }

    // Builds a new index of `rows` rows (none: Train) and swaps it in only
    // when that succeeded.
    Status
    BuildLocked(const uint8_t* data, size_t rows, int64_t dim_bits, const MinHashLSHConfig& conf,
                const milvus::OpContext* op_context) {
        Layout layout;
        RETURN_IF_ERROR(Logged(LayoutOf(dim_bits, conf, layout)));
        std::unique_ptr<knowhere_minhash_lsh, IndexFree> fresh(NewIndex());
        if (rows > 0) {
            RETURN_IF_ERROR(BuildInto(fresh.get(), layout, data, rows, conf, op_context));
        }
        index_ = std::move(fresh);
        layout_ = layout;
        in_file_ = false;
        dim_bits_.store(dim_bits);
        return Status::success;
    }

    Status
    BuildInto(knowhere_minhash_lsh* index, const Layout& l, const uint8_t* data, size_t rows,
              const MinHashLSHConfig& conf, const milvus::OpContext* op_context) {
        knowhere_minhash_lsh_set_num_threads(index, BuildThreads(conf));
        Cancellation cancel(op_context);
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_build_with_interrupt(index, data, rows * l.length * l.element_size, l.length,
                                                             l.element_size, l.bands, l.with_raw_data,
                                                             cancel.Handle(), &err);
        return Logged(cancel.Finish(code, err));
    }

    Status
    AddLocked(const DataSetPtr& dataset, const MinHashLSHConfig& conf) {
        if (!layout_.has_value()) {
            return Fail(Status::index_not_trained, "Add before Train or Build");
        }
        if (dataset->GetDim() != dim_bits_.load()) {
            return Fail(Status::invalid_args, "the dataset's dim " + std::to_string(dataset->GetDim()) +
                                                  " is not the index's " + std::to_string(dim_bits_.load()));
        }
        if (dataset->GetRows() < 0 || (dataset->GetRows() > 0 && dataset->GetTensor() == nullptr)) {
            return Fail(Status::invalid_args, "the dataset has no rows tensor");
        }
        return AddRows(static_cast<const uint8_t*>(dataset->GetTensor()), static_cast<size_t>(dataset->GetRows()),
                       conf, OpContextOf(dataset));
    }

    // The first rows after Train build the library's index; later ones are
    // added. Either leaves the index as it was on failure.
    Status
    AddRows(const uint8_t* data, size_t rows, const MinHashLSHConfig& conf, const milvus::OpContext* op_context) {
        if (rows == 0) {
            return Status::success;
        }
        if (knowhere_minhash_lsh_count(index_.get()) == 0) {
            return BuildInto(index_.get(), *layout_, data, rows, conf, op_context);
        }
        knowhere_minhash_lsh_set_num_threads(index_.get(), BuildThreads(conf));
        Cancellation cancel(op_context);
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_add_with_interrupt(index_.get(), data, rows * SignatureBytes(),
                                                           cancel.Handle(), &err);
        return Logged(cancel.Finish(code, err));
    }

    // ---- the DISK flow -------------------------------------------------------

    Status
    BuildFromFile(const MinHashLSHConfig& conf, const milvus::OpContext* op_context) {
        if (file_manager_ == nullptr) {
            return Fail(Status::internal_error, "data_path needs a FileManager (construct the node with one)");
        }
        if (!conf.index_prefix.has_value()) {
            return Fail(Status::invalid_args, "the DISK flow needs index_prefix");
        }
        const std::string& data_path = conf.data_path.value();
        if (!file_manager_->LoadFile(data_path)) {
            return Fail(Status::disk_file_error, "FileManager::LoadFile failed for " + data_path);
        }
        std::vector<uint8_t> data;
        size_t rows = 0;
        int64_t dim_bits = 0;
        RETURN_IF_ERROR(ReadDataFile(data_path, data, rows, dim_bits));
        if (rows == 0) {
            return Fail(Status::empty_index, data_path + " holds no rows");
        }
        RETURN_IF_ERROR(BuildLocked(data.data(), rows, dim_bits, conf, op_context));
        const std::string index_path = conf.index_prefix.value() + kIndexFileName;
        Cancellation cancel(op_context);
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_save_with_interrupt(index_.get(), index_path.c_str(), cancel.Handle(), &err);
        RETURN_IF_ERROR(Logged(cancel.Finish(code, err)));
        if (!file_manager_->AddFile(index_path)) {
            return Fail(Status::disk_file_error, "FileManager::AddFile failed for " + index_path);
        }
        in_file_ = true;
        return Status::success;
    }

    // knowhere's raw data file: [rows u32][dim u32][rows * dim / 8 bytes].
    static Status
    ReadDataFile(const std::string& path, std::vector<uint8_t>& data, size_t& rows, int64_t& dim_bits) {
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        if (!in) {
            return Fail(Status::disk_file_error, "cannot open " + path);
        }
        const auto size = static_cast<uint64_t>(in.tellg());
        uint32_t header[2] = {0, 0};
        in.seekg(0);
        if (size < sizeof header || !in.read(reinterpret_cast<char*>(header), sizeof header)) {
            return Fail(Status::disk_file_error, path + " is shorter than its header");
        }
        if (header[1] % 8 != 0) {
            return Fail(Status::invalid_args, path + ": dim " + std::to_string(header[1]) + " is not a multiple of 8");
        }
        const uint64_t bytes = static_cast<uint64_t>(header[0]) * (header[1] / 8);
        if (size != sizeof header + bytes) {
            return Fail(Status::disk_file_error, path + ": " + std::to_string(size) + " bytes, but its header says " +
                                                     std::to_string(sizeof header + bytes));
        }
        data.resize(static_cast<size_t>(bytes));
        if (bytes > 0 && !in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(bytes))) {
            return Fail(Status::disk_file_error, "cannot read " + path);
        }
        rows = header[0];
        dim_bits = header[1];
        return Status::success;
    }

    Status
    LoadPath(const std::string& path) {
        knowhere_error* err = nullptr;
        int code = knowhere_minhash_lsh_load(index_.get(), path.c_str(), &err);
        return Logged(Cancellation::Result(code, err));
    }

    // After a load: the layout is the loaded index's.
    Status
    Loaded(bool in_file) {
        knowhere_minhash_lsh* index = index_.get();
        Layout layout;
        layout.length = knowhere_minhash_lsh_mh_vec_length(index);
        layout.element_size = knowhere_minhash_lsh_element_size(index);
        layout.bands = knowhere_minhash_lsh_bands(index);
        layout.with_raw_data = knowhere_minhash_lsh_has_raw_data(index);
        layout_ = layout;
        in_file_ = in_file;
        dim_bits_.store(static_cast<int64_t>(layout.length * layout.element_size * 8));
        return Status::success;
    }

    // ---- search helpers (under the shared lock) ------------------------------

    Outcome
    CheckQueries(const DataSetPtr& dataset, const uint8_t*& queries, int64_t& nq) const {
        if (!layout_.has_value()) {
            return {Status::empty_index, "the MINHASH_LSH_RS index is empty: build or load it first"};
        }
        if (dataset == nullptr || dataset->GetRows() <= 0 || dataset->GetTensor() == nullptr) {
            return {Status::invalid_args, "the query dataset has no rows"};
        }
        if (dataset->GetDim() != dim_bits_.load()) {
            return {Status::invalid_args, "query dim " + std::to_string(dataset->GetDim()) + " is not the index's " +
                                              std::to_string(dim_bits_.load())};
        }
        queries = static_cast<const uint8_t*>(dataset->GetTensor());
        nq = dataset->GetRows();
        return {};
    }

    // Keeps the results with similarity <= range_filter, at most `limit`
    // (< 0: all) per query; they come sorted by similarity descending.
    static void
    KeepInRange(const knowhere_range_result* found, float range_filter, int32_t limit,
                std::vector<std::vector<int64_t>>& ids, std::vector<std::vector<float>>& distances) {
        const uint64_t* lims = knowhere_range_result_lims(found);
        const int64_t* found_ids = knowhere_range_result_ids(found);
        const float* found_distances = knowhere_range_result_distances(found);
        for (size_t q = 0; q < ids.size(); ++q) {
            for (uint64_t i = lims[q]; i < lims[q + 1]; ++i) {
                if (limit >= 0 && ids[q].size() >= static_cast<size_t>(limit)) {
                    break;
                }
                if (found_distances[i] <= range_filter) {
                    ids[q].push_back(found_ids[i]);
                    distances[q].push_back(found_distances[i]);
                }
            }
        }
    }

    // knowhere's range result layout (ids, distances and lims owned by the
    // dataset, freed with delete[]).
    static DataSetPtr
    PackRangeResult(const std::vector<std::vector<int64_t>>& ids, const std::vector<std::vector<float>>& distances) {
        const size_t nq = ids.size();
        auto lims = std::make_unique<size_t[]>(nq + 1);
        lims[0] = 0;
        for (size_t q = 0; q < nq; ++q) {
            lims[q + 1] = lims[q] + ids[q].size();
        }
        auto out_ids = std::make_unique<int64_t[]>(std::max<size_t>(lims[nq], 1));
        auto out_distances = std::make_unique<float[]>(std::max<size_t>(lims[nq], 1));
        for (size_t q = 0; q < nq; ++q) {
            std::copy(ids[q].begin(), ids[q].end(), out_ids.get() + lims[q]);
            std::copy(distances[q].begin(), distances[q].end(), out_distances.get() + lims[q]);
        }
        return GenResultDataSet(static_cast<int64_t>(nq), out_ids.release(), out_distances.release(),
                                lims.release());
    }

    std::shared_ptr<milvus::FileManager> file_manager_;
    std::unique_ptr<knowhere_minhash_lsh, IndexFree> index_;
    // Searches share it; Build, Train, Add and the loads hold it alone.
    mutable std::shared_mutex lock_;
    std::optional<Layout> layout_;  // set by Train, Build and the loads
    std::atomic<int64_t> dim_bits_{-1};
    bool in_file_ = false;  // built or loaded by the DISK flow
};

}  // namespace knowhere

#undef KNOWHERE_RS_RETURN_ERR_IF_FAILED

#endif  // KNOWHERE_RS_MINHASH_LSH_RS_NODE_H
