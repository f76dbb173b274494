/* TEMPORARY STUB: replaced by the real implementation. */
#include "internal.h"

knowhere_minhash_lsh * knowhere_minhash_lsh_create(void) {  return NULL; }
void knowhere_minhash_lsh_free(knowhere_minhash_lsh *index) { (void)index;  }
int knowhere_minhash_lsh_build_with_interrupt(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, size_t mh_vec_length, size_t mh_vec_element_size, size_t bands, bool with_raw_data, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)data; (void)data_len; (void)mh_vec_length; (void)mh_vec_element_size; (void)bands; (void)with_raw_data; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_build(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, size_t mh_vec_length, size_t mh_vec_element_size, size_t bands, bool with_raw_data, knowhere_error **err) { (void)index; (void)data; (void)data_len; (void)mh_vec_length; (void)mh_vec_element_size; (void)bands; (void)with_raw_data; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_add_with_interrupt(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)data; (void)data_len; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_add(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, knowhere_error **err) { (void)index; (void)data; (void)data_len; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_search_with_interrupt(const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)query; (void)query_len; (void)k; (void)bitset; (void)bitset_bits; (void)ids; (void)distances; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_search(const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances, knowhere_error **err) { (void)index; (void)query; (void)query_len; (void)k; (void)bitset; (void)bitset_bits; (void)ids; (void)distances; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_batch_search_with_interrupt(const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)queries; (void)queries_len; (void)nq; (void)k; (void)bitset; (void)bitset_bits; (void)ids; (void)distances; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_batch_search(const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances, knowhere_error **err) { (void)index; (void)queries; (void)queries_len; (void)nq; (void)k; (void)bitset; (void)bitset_bits; (void)ids; (void)distances; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_get_vector_by_ids(const knowhere_minhash_lsh *index, const int64_t *ids, size_t n, uint8_t *out, size_t out_len, knowhere_error **err) { (void)index; (void)ids; (void)n; (void)out; (void)out_len; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
size_t knowhere_minhash_lsh_count(const knowhere_minhash_lsh *index) { (void)index; return 0; }
size_t knowhere_minhash_lsh_mh_vec_length(const knowhere_minhash_lsh *index) { (void)index; return 0; }
size_t knowhere_minhash_lsh_element_size(const knowhere_minhash_lsh *index) { (void)index; return 0; }
size_t knowhere_minhash_lsh_bands(const knowhere_minhash_lsh *index) { (void)index; return 0; }
size_t knowhere_minhash_lsh_rows_per_band(const knowhere_minhash_lsh *index) { (void)index; return 0; }
bool knowhere_minhash_lsh_has_raw_data(const knowhere_minhash_lsh *index) { (void)index; return false; }
size_t knowhere_minhash_lsh_memory_usage(const knowhere_minhash_lsh *index) { (void)index; return 0; }
int knowhere_minhash_lsh_set_num_threads(knowhere_minhash_lsh *index, size_t threads) { (void)index; (void)threads; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
size_t knowhere_minhash_lsh_num_threads(const knowhere_minhash_lsh *index) { (void)index; return 0; }
