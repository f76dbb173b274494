/* Runtime version queries, to catch a header/library mismatch. */
#include "knowhere_rs.h"

const char *knowhere_version(void) { return KNOWHERE_RS_VERSION_STRING; }

uint32_t knowhere_version_number(void) { return KNOWHERE_RS_VERSION_NUMBER; }

uint32_t knowhere_abi_version(void) { return KNOWHERE_RS_ABI_VERSION; }
