// Test-only stand-ins for what a real knowhere build links from
// src/index/index_node.cc and milvus-common's thread_pool.cc, which would
// pull in faiss and folly's executors. IndexNode's out-of-line members (the
// generic RangeSearch and the embedding-list helpers, which MINHASH_LSH_RS
// does not use) return not_implemented; the thread pool sizes are whatever
// the test sets.
#include <cstddef>

#include "knowhere/index/index_node.h"
#include "thread_pool_sizes.h"

namespace knowhere {

namespace {
template <typename T>
expected<T>
NotHere(const char* what) {
    return expected<T>::Err(Status::not_implemented, std::string(what) + ": not in the adapter test's stand-in");
}
}  // namespace

expected<DataSetPtr>
IndexNode::RangeSearch(const DataSetPtr, std::unique_ptr<Config>, const BitsetView&, milvus::OpContext*) const {
    return NotHere<DataSetPtr>("IndexNode::RangeSearch");
}

expected<DataSetPtr>
IndexNode::GetEmbListByStorageIds(const DataSetPtr, const std::string&, milvus::OpContext*) const {
    return NotHere<DataSetPtr>("IndexNode::GetEmbListByStorageIds");
}

Status
IndexNode::BuildEmbList(const DataSetPtr, std::shared_ptr<Config>, const size_t*, size_t, size_t, bool) {
    return Status::not_implemented;
}

Status
IndexNode::SerializeEmbList(BinarySet&) const {
    return Status::not_implemented;
}

Status
IndexNode::DeserializeEmbListFromBinarySet(const BinarySet&, std::shared_ptr<Config>) {
    return Status::not_implemented;
}

Status
IndexNode::DeserializeEmbListFromFile(const std::string&, std::shared_ptr<Config>) {
    return Status::not_implemented;
}

expected<DataSetPtr>
IndexNode::SearchEmbList(const DataSetPtr, std::unique_ptr<Config>, const BitsetView&, milvus::OpContext*) const {
    return NotHere<DataSetPtr>("IndexNode::SearchEmbList");
}

expected<DataSetPtr>
IndexNode::SearchEmbListIfNeed(const DataSetPtr, std::unique_ptr<Config>, const BitsetView&,
                               milvus::OpContext*) const {
    return NotHere<DataSetPtr>("IndexNode::SearchEmbListIfNeed");
}

expected<DataSetPtr>
IndexNode::RangeSearchEmbListIfNeed(const DataSetPtr, std::unique_ptr<Config>, const BitsetView&,
                                    milvus::OpContext*) const {
    return NotHere<DataSetPtr>("IndexNode::RangeSearchEmbListIfNeed");
}

expected<std::vector<IndexNode::IteratorPtr>>
IndexNode::AnnIteratorEmbListIfNeed(const DataSetPtr, std::unique_ptr<Config>, const BitsetView&, bool,
                                    milvus::OpContext*) const {
    return NotHere<std::vector<IteratorPtr>>("IndexNode::AnnIteratorEmbListIfNeed");
}

expected<DataSetPtr>
IndexNode::GetEmbListByIds(const DataSetPtr, const std::string&, milvus::OpContext*) const {
    return NotHere<DataSetPtr>("IndexNode::GetEmbListByIds");
}

size_t
ThreadPool::GetGlobalBuildThreadPoolSize() {
    return test::build_pool_size;
}

size_t
ThreadPool::GetGlobalSearchThreadPoolSize() {
    return test::search_pool_size;
}

}  // namespace knowhere
