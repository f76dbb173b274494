// Registers MINHASH_LSH_RS (minhash_lsh_rs_node.h) with knowhere's index
// factory for binary vectors, with the DISK feature as MINHASH_LSH has.
#include "knowhere/feature.h"
#include "knowhere/index/index_factory.h"
#include "minhash_lsh_rs_node.h"

namespace knowhere {
KNOWHERE_SIMPLE_REGISTER_DENSE_BIN_GLOBAL(MINHASH_LSH_RS, MinHashLSHRsNode, knowhere::feature::DISK)
}  // namespace knowhere
