/* TEMPORARY STUB: replaced by the real implementation. */
#include "internal.h"

int knowhere_minhash_lsh_save_with_interrupt(const knowhere_minhash_lsh *index, const char *path, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)path; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_save(const knowhere_minhash_lsh *index, const char *path, knowhere_error **err) { (void)index; (void)path; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_load_with_interrupt(knowhere_minhash_lsh *index, const char *path, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)path; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_load(knowhere_minhash_lsh *index, const char *path, knowhere_error **err) { (void)index; (void)path; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_serialize_with_interrupt(const knowhere_minhash_lsh *index, uint8_t **out, size_t *out_len, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)out; (void)out_len; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_serialize(const knowhere_minhash_lsh *index, uint8_t **out, size_t *out_len, knowhere_error **err) { (void)index; (void)out; (void)out_len; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_deserialize_with_interrupt(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, CInterrupt interrupt, knowhere_error **err) { (void)index; (void)data; (void)data_len; (void)interrupt; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
int knowhere_minhash_lsh_deserialize(knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, knowhere_error **err) { (void)index; (void)data; (void)data_len; (void)err; return KNOWHERE_ERR_NOT_IMPLEMENTED; }
void knowhere_buffer_free(uint8_t *buffer) { (void)buffer;  }
